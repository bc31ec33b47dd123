import { ErrorCode } from '../common/errors/error-code.enum.js';
import { GatewayError } from '../common/errors/gateway.error.js';

/** One byte range as a client asked for it (RFC 9110 §14.1.2): `first-last`, `first-`, or the last `suffix` bytes. */
export type ByteRangeSpec = { first: number; last?: number } | { suffix: number };

/** Inclusive positions of the bytes served. */
export interface ByteRange {
  start: number;
  end: number;
}

const SINGLE_RANGE = /^bytes=(?:(\d{1,15})-(\d{1,15})?|-(\d{1,15}))$/;

/**
 * The one range of a `Range` header that Easel honours, or undefined to serve the whole image:
 * RFC 9110 lets a server ignore a header it does not support (other units, several ranges) or
 * that is invalid (`5-2`, garbage).
 */
export function parseRangeHeader(header: string | undefined): ByteRangeSpec | undefined {
  const match = header === undefined ? null : SINGLE_RANGE.exec(header.trim());
  if (!match) return undefined;
  if (match[3] !== undefined) return { suffix: Number(match[3]) };
  const first = Number(match[1]);
  const last = match[2] === undefined ? undefined : Number(match[2]);
  return last !== undefined && last < first ? undefined : { first, last };
}

/** The bytes a range selects from an object of `size` bytes; 416 when it selects none. */
export function resolveByteRange(spec: ByteRangeSpec, size: number): ByteRange {
  const range =
    'suffix' in spec
      ? { start: Math.max(0, size - spec.suffix), end: size - 1 }
      : { start: spec.first, end: Math.min(spec.last ?? size - 1, size - 1) };
  const empty = 'suffix' in spec ? spec.suffix === 0 || size === 0 : spec.first >= size;
  if (empty) {
    throw new GatewayError(ErrorCode.RangeNotSatisfiable, `The requested range is outside the image's ${size} bytes.`, {
      param: 'range',
      headers: { 'content-range': `bytes */${size}` },
    });
  }
  return range;
}
