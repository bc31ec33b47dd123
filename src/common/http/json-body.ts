import { ErrorCode } from '../errors/error-code.enum.js';
import { GatewayError } from '../errors/gateway.error.js';

/** Deeper than any request Easel takes (a chat part is 5 levels down); the validation walks stay shallow. */
export const MAX_JSON_DEPTH = 64;
/**
 * Objects, arrays and separators (`{ [ , :`) outside strings. A chat request of 100 messages of
 * parts has a few thousand; the limit keeps `JSON.parse` of a body within the limits to
 * milliseconds however it is shaped (45 MB of `{},` would be 15 million objects).
 */
export const MAX_JSON_TOKENS = 100_000;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

/**
 * One linear pass over the bytes, before `JSON.parse` builds anything: refuses nesting deeper than
 * MAX_JSON_DEPTH and more than MAX_JSON_TOKENS structural tokens. String contents are skipped with
 * `indexOf` (native), so megabytes of base64 cost next to nothing. Malformed JSON is left for
 * `JSON.parse` to describe.
 */
export function assertJsonShape(body: Buffer): void {
  let depth = 0;
  let tokens = 0;
  const length = body.length;
  for (let i = 0; i < length; i++) {
    const byte = body[i];
    if (byte === QUOTE) {
      i = closingQuote(body, i + 1);
      continue;
    }
    if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
      if (++depth > MAX_JSON_DEPTH) throw invalidJson(`The JSON body is nested deeper than ${MAX_JSON_DEPTH} levels.`);
    } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
      if (depth > 0) depth--;
      continue;
    } else if (byte !== COMMA && byte !== COLON) {
      continue;
    }
    if (++tokens > MAX_JSON_TOKENS)
      throw invalidJson(`The JSON body has more than ${MAX_JSON_TOKENS} values; no request needs that many.`);
  }
}

/** The index of the quote that closes a string whose content starts at `from` (or the end). */
function closingQuote(body: Buffer, from: number): number {
  let at = from;
  for (;;) {
    const quote = body.indexOf(QUOTE, at);
    if (quote === -1) return body.length;
    let backslashes = 0;
    while (quote - backslashes - 1 >= from && body[quote - backslashes - 1] === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote;
    at = quote + 1;
  }
}

function invalidJson(message: string): GatewayError {
  return new GatewayError(ErrorCode.InvalidJson, message);
}

/** Only whitespace (RFC 8259's four characters). */
export function isBlank(body: Buffer): boolean {
  for (const byte of body) if (byte !== 0x20 && byte !== 0x0a && byte !== 0x0d && byte !== 0x09) return false;
  return true;
}
