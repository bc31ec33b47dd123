import { isAscii } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

/** Strings shorter than this are parsed as usual: only image data is worth keeping as bytes. */
const MIN_RAW_BYTES = 4096;
/** Base64 decoded per step (a multiple of 4). */
const DECODE_SLICE = 64 * 1024;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
/** Marks where a raw string goes, in text no upstream or client can forge (a NUL and a per-process nonce). */
const MARKER = `\u0000raw:${randomBytes(8).toString('hex')}:`;
const MARKER_IN_JSON = JSON.stringify(MARKER).slice(1, -1);

/**
 * The content of a JSON string kept as the bytes it arrived in. Base64 image data needs no JSON
 * escaping, so the megabytes an upstream sends can go out to the client as they came: never
 * decoded into a JavaScript string, scanned by `JSON.parse`, escaped by `JSON.stringify` or
 * re-encoded to UTF-8.
 */
export class RawJsonString {
  private text?: string;

  /**
   * `parts`: ASCII without quotes or backslashes, as the caller has checked. (Control characters,
   * which JSON forbids in strings, are not looked for: no JSON serializer writes them.)
   */
  constructor(readonly parts: readonly Buffer[]) {}

  get length(): number {
    return this.parts.reduce((sum, part) => sum + part.length, 0);
  }

  toString(): string {
    this.text ??= this.parts.map((part) => part.toString('latin1')).join('');
    return this.text;
  }

  /**
   * The bytes this base64 encodes, decoded 64 KB at a time straight into one buffer: no string of
   * the whole text (megabytes in V8's large-object space, which costs full garbage collections).
   */
  decodeBase64(): Buffer {
    return this.decodeInSlices() ?? Buffer.from(this.toString(), 'base64');
  }

  /** `undefined` when the slices do not line up (spaces, or padding before the end, in the text). */
  private decodeInSlices(): Buffer | undefined {
    const out = Buffer.allocUnsafe(Math.ceil(this.length / 4) * 3);
    let written = 0;
    let carry = '';
    for (let index = 0; index < this.parts.length; index++) {
      const part = this.parts[index]!;
      for (let at = 0; at < part.length; at += DECODE_SLICE) {
        const end = Math.min(part.length, at + DECODE_SLICE);
        const last = index === this.parts.length - 1 && end === part.length;
        const text = carry + part.toString('latin1', at, end);
        const whole = last ? text.length : text.length - (text.length % 4);
        const bytes = out.write(text.slice(0, whole), written, 'base64');
        if (!last && bytes !== (whole / 4) * 3) return undefined;
        written += bytes;
        carry = text.slice(whole);
      }
    }
    return out.subarray(0, written);
  }

  /** Inside `stringifyJson` a marker where the bytes go; elsewhere (plain `JSON.stringify`) the string. */
  toJSON(): string {
    if (!splicing) return this.toString();
    splicing.push(this);
    return `${MARKER}${splicing.length - 1}`;
  }
}

/** A JSON string value as the response will hold it: a plain string, or bytes passed through. */
export type JsonText = string | RawJsonString;

export function isJsonText(value: unknown): value is JsonText {
  return typeof value === 'string' || value instanceof RawJsonString;
}

function jsonTextToString(value: JsonText): string {
  return typeof value === 'string' ? value : value.toString();
}

/** JSON.stringify would write it as is: printable ASCII without quotes or backslashes. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** The texts joined; still raw bytes when a raw one is among them and the others are plain. */
export function concatJsonText(...texts: JsonText[]): JsonText {
  const raw = texts.some((text) => text instanceof RawJsonString);
  if (!raw || texts.some((text) => typeof text === 'string' && !PLAIN.test(text)))
    return texts.map(jsonTextToString).join('');
  return new RawJsonString(
    texts.flatMap((text) => (typeof text === 'string' ? [Buffer.from(text, 'latin1')] : text.parts)),
  );
}

let splicing: RawJsonString[] | undefined;

/** JSON text in pieces: the serialized parts, and between them the raw strings' own buffers. */
export class SplicedJson {
  readonly byteLength: number;

  constructor(readonly pieces: readonly Buffer[]) {
    this.byteLength = pieces.reduce((sum, piece) => sum + piece.length, 0);
  }

  /** The pieces one after another, for a reply: the image data is written, never copied. */
  toStream(): SplicedJsonStream {
    return new SplicedJsonStream(this.pieces, this.byteLength);
  }
}

export class SplicedJsonStream extends Readable {
  constructor(
    private pieces: readonly Buffer[],
    readonly byteLength: number,
  ) {
    super();
  }

  override _read(): void {
    for (const piece of this.pieces) this.push(piece);
    this.pieces = [];
    this.push(null);
  }
}

/**
 * `JSON.stringify`, except that `RawJsonString` values are written as their bytes: a string when
 * there are none, else the text in pieces with the bytes spliced in.
 */
export function stringifyJson(value: unknown): string | SplicedJson {
  const raws: RawJsonString[] = [];
  splicing = raws;
  let text: string;
  try {
    text = JSON.stringify(value);
  } finally {
    splicing = undefined;
  }
  if (raws.length === 0) return text;
  const pieces: Buffer[] = [];
  let from = 0;
  for (let index = 0; index < raws.length; index++) {
    const marker = `${MARKER_IN_JSON}${index}"`;
    const at = text.indexOf(marker, from);
    pieces.push(Buffer.from(text.slice(from, at), 'utf8'), ...raws[index]!.parts);
    from = at + marker.length - 1;
  }
  pieces.push(Buffer.from(text.slice(from), 'utf8'));
  return new SplicedJson(pieces);
}

export interface KeepingRawOptions {
  /**
   * Also leave values with control characters (U+0000 to U+001F, which JSON forbids in strings) to
   * `JSON.parse`, which refuses them, instead of passing them on: where the bytes must not break
   * the framing around them (the lines of an event stream) or a malformed upstream document must
   * fail as it would when parsed whole. Costs a native scan per control character (32 per value).
   */
  strict?: boolean;
}

/**
 * `JSON.parse` of a response body, except that long string values of the named keys come back as
 * `RawJsonString` slices of `body` (no copy) instead of being decoded. A value with escapes in it
 * is parsed as usual; everything else about the document is validated by `JSON.parse`.
 */
export function parseJsonKeepingRaw(body: Buffer, keys: readonly string[], options: KeepingRawOptions = {}): unknown {
  // Too short to hold a value worth keeping raw (the usual small answer): no scans.
  if (body.length < MIN_RAW_BYTES) return JSON.parse(body.toString('utf8'));
  const spans = rawSpans(body, keys, options.strict === true);
  if (spans.length === 0) return JSON.parse(body.toString('utf8'));
  const pieces: Buffer[] = [];
  const raws: RawJsonString[] = [];
  let from = 0;
  for (const [start, end] of spans) {
    pieces.push(body.subarray(from, start), Buffer.from(`${MARKER_IN_JSON}${raws.length}`, 'latin1'));
    raws.push(new RawJsonString([body.subarray(start, end)]));
    from = end;
  }
  pieces.push(body.subarray(from));
  return JSON.parse(Buffer.concat(pieces).toString('utf8'), (_key, value: unknown) =>
    typeof value === 'string' && value.startsWith(MARKER) ? raws[Number(value.slice(MARKER.length))] : value,
  );
}

/** Where the long, escape-free string values of `keys` start and end (between their quotes), in order. */
function rawSpans(body: Buffer, keys: readonly string[], strict: boolean): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  for (const key of keys) {
    const pattern = Buffer.from(JSON.stringify(key), 'utf8');
    let next: number;
    for (let at = body.indexOf(pattern); at >= 0; at = body.indexOf(pattern, next)) {
      next = at + pattern.length;
      // A quote inside a JSON string is escaped, so an unescaped `"key"` followed by `:` and `"`
      // is a property name whose value is a string.
      let cursor = skipWhitespace(body, next);
      if (body[cursor] !== 0x3a) continue;
      cursor = skipWhitespace(body, cursor + 1);
      if (body[cursor] !== QUOTE) continue;
      const start = cursor + 1;
      const end = body.indexOf(QUOTE, start);
      if (end < 0) break;
      // The search goes on after this string; a backslash-escaped quote only shortens the value,
      // which then fails the checks below and is left to JSON.parse.
      next = end + 1;
      if (end - start < MIN_RAW_BYTES || !isPlainAscii(body, start, end)) continue;
      if (strict && hasControlCharacter(body, start, end)) continue;
      spans.push([start, end]);
    }
  }
  return spans.sort((a, b) => a[0] - b[0]);
}

function skipWhitespace(body: Buffer, at: number): number {
  while (body[at] === 0x20 || body[at] === 0x0a || body[at] === 0x0d || body[at] === 0x09) at++;
  return at;
}

/** ASCII without escapes: the bytes mean the same in the JSON text and in the string. (Native scans.) */
function isPlainAscii(body: Buffer, start: number, end: number): boolean {
  const value = body.subarray(start, end);
  return value.indexOf(BACKSLASH) < 0 && isAscii(value);
}

function hasControlCharacter(body: Buffer, start: number, end: number): boolean {
  const value = body.subarray(start, end);
  for (let byte = 0; byte < 0x20; byte++) if (value.indexOf(byte) >= 0) return true;
  return false;
}
