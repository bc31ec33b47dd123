import {
  type ArgumentMetadata,
  Injectable,
  type ValidationError,
  ValidationPipe,
  type ValidationPipeOptions,
} from '@nestjs/common';
import { endSpan, SPAN, startSpan } from '../../tracing/tracing.js';
import { ErrorCode } from '../errors/error-code.enum.js';
import { InvalidRequestError } from '../errors/gateway.error.js';
import { scanInput } from './input-scan.js';
import { acceptPlainBody } from './plain-body.acceptor.js';

export const VALIDATION_OPTIONS: ValidationPipeOptions = {
  whitelist: true,
  forbidNonWhitelisted: true,
  transform: true,
  stopAtFirstError: true,
  validationError: { target: false, value: false },
  exceptionFactory: (errors) => toInvalidRequestError(errors),
};

/**
 * The global pipe: whitelist, reject unknown fields, transform. Failures become OpenAI-style 400s
 * whose `param` is the first failing path, as the client spelled it (`messages[2].content`).
 * Every body, query string and path parameter of every route is scanned first (`scanInput`).
 * Each is traced as `easel.validate` (which part, and the error code when it fails).
 */
@Injectable()
export class RequestValidationPipe extends ValidationPipe {
  constructor() {
    super(VALIDATION_OPTIONS);
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'custom') return super.transform(value, metadata);
    const span = startSpan(SPAN.validate, { 'easel.validate.part': metadata.type });
    try {
      const valid = await this.check(value, metadata);
      span.end();
      return valid;
    } catch (error) {
      endSpan(span, error);
      throw error;
    }
  }

  private async check(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' && metadata.metatype && metadata.metatype !== Object && !isPlainObject(value)) {
      throw new InvalidRequestError('The request body must be a JSON object.');
    }
    // Before any DTO sees it: what would overflow the recursive walks below, what Nest and
    // class-transformer would hide from the whitelist, and text PostgreSQL cannot store.
    const problem = scanInput(value, metadata.data ?? '');
    if (problem) throw new InvalidRequestError(problem.message, problem.path, problem.code);
    if (metadata.type === 'query') assertNoRepeatedParameter(value);
    if (metadata.type === 'body' && metadata.metatype) {
      // A valid body of plain values is answered without class-validator's bookkeeping.
      const accepted = acceptPlainBody(metadata.metatype as new () => object, value as Record<string, unknown>);
      if (accepted) return accepted;
    }
    return super.transform(value, metadata);
  }
}

/** No query parameter of Easel's takes several values: `?team=a&team=b` is a mistake worth naming. */
function assertNoRepeatedParameter(query: unknown): void {
  if (typeof query !== 'object' || query === null) return;
  for (const [name, value] of Object.entries(query)) {
    if (Array.isArray(value)) throw new InvalidRequestError(`'${name}' is given more than once; give it once.`, name);
  }
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
