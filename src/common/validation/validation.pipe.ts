import { type ArgumentMetadata, Injectable, ValidationPipe, type ValidationError } from '@nestjs/common';
import { ErrorCode } from '../errors/error-code.enum.js';
import { InvalidRequestError } from '../errors/gateway.error.js';

/**
 * The global pipe: whitelist, reject unknown fields, transform. Failures become OpenAI-style 400s
 * whose `param` is the first failing path, as the client spelled it (`messages[2].content`).
 */
@Injectable()
export class RequestValidationPipe extends ValidationPipe {
  constructor() {
    super({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      stopAtFirstError: true,
      validationError: { target: false, value: false },
      exceptionFactory: (errors) => toInvalidRequestError(errors),
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' && metadata.metatype && metadata.metatype !== Object && !isPlainObject(value)) {
      throw new InvalidRequestError('The request body must be a JSON object.');
    }
    // Nest and class-transformer drop keys named like Object.prototype members before the
    // whitelist sees them; no DTO has such a field, so they are unknown fields like any other.
    const hidden = findPrototypeNamedKey(value, '');
    if (hidden !== undefined) throw new InvalidRequestError(`Unknown parameter: '${hidden}'.`, hidden, ErrorCode.UnknownField);
    return super.transform(value, metadata);
  }
}

const PROTOTYPE_NAMES = new Set([...Object.getOwnPropertyNames(Object.prototype), 'prototype']);

function findPrototypeNamedKey(value: unknown, path: string): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  for (const [key, child] of Object.entries(value)) {
    const childPath = Array.isArray(value) ? `${path}[${key}]` : path ? `${path}.${key}` : key;
    if (!Array.isArray(value) && PROTOTYPE_NAMES.has(key)) return childPath;
    const found = findPrototypeNamedKey(child, childPath);
    if (found !== undefined) return found;
  }
  return undefined;
}

function isPlainObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function toInvalidRequestError(errors: ValidationError[]): InvalidRequestError {
  const found = firstFailure(errors, '');
  if (!found) return new InvalidRequestError('The request is invalid.');
  const { path, constraint, message } = found;
  if (constraint === 'whitelistValidation') {
    return new InvalidRequestError(`Unknown parameter: '${path}'.`, path, ErrorCode.UnknownField);
  }
  return new InvalidRequestError(message.replace(/^\S+/, `'${path}'`), path);
}

function firstFailure(
  errors: ValidationError[],
  parent: string,
): { path: string; constraint: string; message: string } | undefined {
  for (const error of errors) {
    const path = joinPath(parent, error.property);
    const constraints = Object.entries(error.constraints ?? {});
    if (constraints.length > 0) {
      const [constraint, message] = constraints[0]!;
      return { path, constraint, message };
    }
    const nested = firstFailure(error.children ?? [], path);
    if (nested) return nested;
  }
  return undefined;
}

function joinPath(parent: string, property: string): string {
  if (/^\d+$/.test(property)) return `${parent}[${property}]`;
  return parent ? `${parent}.${property}` : property;
}
