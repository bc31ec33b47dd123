import { ErrorCode } from '../errors/error-code.enum.js';

/**
 * The deepest nesting a request may have. The deepest real input, an image part of a chat message
 * (`messages[0].content[1].image_url.url`), is five levels down; anything near this limit is an
 * attack on the recursive walks of class-transformer and class-validator, not a request.
 */
export const MAX_INPUT_DEPTH = 32;

declare global {
  // ES2024, in Node since 20; the compiler's lib stops at ES2023.
  interface String {
    isWellFormed(): boolean;
    toWellFormed(): string;
  }
}

/**
 * Text PostgreSQL can store: no U+0000 (refused by `text`, `varchar` and `jsonb` alike) and no
 * unpaired UTF-16 surrogate (no UTF-8 encoding; `jsonb` refuses its `\ud800` escape, and the
 * driver would silently turn it into U+FFFD elsewhere).
 */
export function isStorableText(value: string): boolean {
  return !value.includes('\u0000') && value.isWellFormed();
}

/** `value` with what `isStorableText` refuses replaced by U+FFFD: safe to echo in a message or a log. */
export function printable(value: string): string {
  return isStorableText(value) ? value : value.replaceAll('\u0000', '\ufffd').toWellFormed();
}

export interface InputProblem {
  /** The field at fault, as the client spelled it (`messages[0].content`), made printable. */
  path: string;
  message: string;
  code: ErrorCode;
}

/** Names of Object.prototype members: Nest and class-transformer drop such keys before the whitelist sees them. */
const PROTOTYPE_NAMES = new Set([...Object.getOwnPropertyNames(Object.prototype), 'prototype']);

/** A node still to visit; its path is built from the parents only when a problem is found. */
interface Frame {
  value: unknown;
  parent: Frame | undefined;
  key: string | number;
  depth: number;
  /** The field name itself is the problem: reported when the walk gets there, in document order. */
  badName?: 'unstorable' | 'prototype';
}

/**
 * The first problem no DTO can be trusted to catch in a parsed request (body, query or path
 * parameters), in document order: nesting deeper than `MAX_INPUT_DEPTH`, a field named like an
 * Object.prototype member, or text PostgreSQL cannot store in a value or a field name. Iterative,
 * so no input can exhaust the stack; every node is visited once and no path is built unless needed.
 */
export function scanInput(value: unknown, rootPath = ''): InputProblem | undefined {
  const stack: Frame[] = [{ value, parent: undefined, key: rootPath, depth: 0 }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    const node = frame.value;
    if (frame.badName === 'unstorable') return unstorable(pathOf(frame));
    if (frame.badName === 'prototype') {
      const path = pathOf(frame);
      return { path, message: `Unknown parameter: '${path}'.`, code: ErrorCode.UnknownField };
    }
    if (typeof node === 'string') {
      if (!isStorableText(node)) return unstorable(pathOf(frame));
      continue;
    }
    if (typeof node !== 'object' || node === null) continue;
    if (frame.depth >= MAX_INPUT_DEPTH) {
      const path = printable(pathOf(frame));
      return {
        path,
        message: `'${path}' is nested too deeply (at most ${MAX_INPUT_DEPTH} levels).`,
        code: ErrorCode.InvalidRequest,
      };
    }
    const depth = frame.depth + 1;
    if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--) {
        if (needsVisit(node[i])) stack.push({ value: node[i], parent: frame, key: i, depth });
      }
      continue;
    }
    const keys = Object.keys(node);
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i]!;
      const child = (node as Record<string, unknown>)[key];
      const badName = !isStorableText(key) ? 'unstorable' : PROTOTYPE_NAMES.has(key) ? 'prototype' : undefined;
      if (badName || needsVisit(child)) stack.push({ value: child, parent: frame, key, depth, badName });
    }
  }
  return undefined;
}

/** Numbers, booleans and null need no visit. */
function needsVisit(value: unknown): boolean {
  return typeof value === 'string' || (typeof value === 'object' && value !== null);
}

/** `messages[1].content`, as the client spelled it. */
function pathOf(frame: Frame): string {
  const keys: Array<string | number> = [];
  for (let at: Frame | undefined = frame; at; at = at.parent) keys.push(at.key);
  let path = '';
  for (let i = keys.length - 1; i >= 0; i--) {
    const key = keys[i]!;
    path = typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key;
  }
  return path;
}

function unstorable(path: string): InputProblem {
  const name = printable(path);
  return {
    path: name,
    message: `'${name}' contains a character that is not allowed in text: U+0000 (NUL) or an unpaired UTF-16 surrogate.`,
    code: ErrorCode.InvalidRequest,
  };
}
