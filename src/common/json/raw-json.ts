import { isAscii } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ByteSpool, HeldPart, SpoolWriter } from '../spool/byte-spool.js';
import { SpooledFile } from '../spool/spooled-file.js';

/** Strings shorter than this are parsed as usual: only image data is worth keeping as bytes. */
const MIN_RAW_BYTES = 4096;
/** Base64 decoded per step (a multiple of 4). */
const DECODE_SLICE = 64 * 1024;
/** The bytes `decodedChunks` hands out at a time (at least one slice's). */
const DECODED_PIECE = 192 * 1024;
/** What JSON allows between tokens, and MIME-style base64 between its lines. */
const WHITESPACE = [0x20, 0x0a, 0x0d, 0x09];
const QUOTE = 0x22;
const EQUALS = 0x3d;
const BACKSLASH = 0x5c;
/** Marks where a raw string goes, in text no upstream or client can forge (a NUL and a per-process nonce). */
const MARKER = `\u0000raw:${randomBytes(8).toString('hex')}:`;
const MARKER_IN_JSON = JSON.stringify(MARKER).slice(1, -1);

/**
 * The content of a JSON string kept as the bytes it arrived in. Base64 image data needs no JSON
 * escaping, so the megabytes an upstream sends can go out to the client as they came: never
 * decoded into a JavaScript string, scanned by `JSON.parse`, escaped by `JSON.stringify` or
 * re-encoded to UTF-8. The bytes are `Buffer`s (off the V8 heap) or, for the large values of a
 * burst, a spooled temporary file (`ByteSpool`), read back as the reply streams.
 */
export class RawJsonString {
  private text?: string;

  /**
   * `parts`: ASCII without quotes or backslashes, as the caller has checked. (Control characters,
   * which JSON forbids in strings, are not looked for: no JSON serializer writes them.) `lease`:
   * kept so that what is spooled stays held while this value lives (see `HeldBytes.lease`).
   */
  constructor(
    readonly parts: readonly HeldPart[],
    readonly lease?: object,
  ) {}

  get length(): number {
    return this.parts.reduce((sum, part) => sum + part.length, 0);
  }

  /**
   * The bytes this base64 decodes to, from its length and padding (`Buffer.byteLength`'s rule;
   * whitespace, which no upstream sends, would make the decoded bytes fewer).
   */
  get decodedLength(): number {
    const end = this.lastBytes(2);
    const padding = end.at(-1) === EQUALS ? (end.at(-2) === EQUALS ? 2 : 1) : 0;
    return Math.floor(((this.length - padding) * 3) / 4);
  }

  /**
   * `decodedLength`, exact even when the text holds whitespace (which no upstream sends, and which
   * decoding skips): a scan of the text, and only then a count of what it decodes to.
   */
  async exactDecodedLength(): Promise<number> {
    for await (const chunk of this.chunks()) {
      if (WHITESPACE.some((byte) => chunk.indexOf(byte) >= 0)) {
        let length = 0;
        for await (const piece of this.decodedChunks()) length += piece.length;
        return length;
      }
    }
    return this.decodedLength;
  }

  /** The last `count` bytes, across parts (a chunk boundary may fall anywhere, even before the last `=`). */
  private lastBytes(count: number): Buffer {
    const tail: Buffer[] = [];
    let held = 0;
    for (let index = this.parts.length - 1; index >= 0 && held < count; index--) {
      const part = this.parts[index]!;
      const bytes = part instanceof SpooledFile ? part.lastBytes(count - held) : part.subarray(-(count - held));
      tail.unshift(bytes);
      held += bytes.length;
    }
    return Buffer.concat(tail);
  }

  /** True when some of the bytes are in a file rather than in memory. */
  get spooled(): boolean {
    return this.parts.some((part) => part instanceof SpooledFile);
  }

  toString(): string {
    this.text ??= this.memoryParts()
      .map((part) => part.toString('latin1'))
      .join('');
    return this.text;
  }

  /** The bytes, a chunk at a time, read from their file where spooled. */
  async *chunks(): AsyncGenerator<Buffer> {
    for (const part of this.parts) {
      if (part instanceof SpooledFile) yield* part.chunks();
      else yield part;
    }
  }

  /**
   * The bytes this base64 encodes, a chunk (192 KB or less) at a time: never the whole image in memory.
   * Whitespace in the text is skipped, as `Buffer.from(text, 'base64')` does. (Large pieces: each
   * is its own mapping that goes back to the system when freed, where small ones would fragment
   * malloc's heap in a burst.)
   */
  async *decodedChunks(): AsyncGenerator<Buffer> {
    let out = Buffer.allocUnsafe(DECODED_PIECE);
    let written = 0;
    let carry = '';
    for await (const chunk of this.chunks()) {
      // A chunk as one string: a spooled file's 256 KB chunks make strings that V8 keeps apart from
      // its young generation (large objects, unmapped when collected), where 64 KB slices grew
      // that generation in a burst and left it grown afterwards.
      const text = carry + chunk.toString('latin1');
      const needed = Math.ceil(text.length / 4) * 3;
      if (written + needed > out.length) {
        if (written > 0) yield out.subarray(0, written);
        out = Buffer.allocUnsafe(Math.max(DECODED_PIECE, needed));
        written = 0;
      }
      const decoded = decodeInto(out, written, text);
      written += decoded.bytes;
      carry = decoded.carry;
    }
    if (carry.length > 0) {
      if (written + 3 > out.length) {
        yield out.subarray(0, written);
        out = Buffer.allocUnsafe(3);
        written = 0;
      }
      written += out.write(carry, written, 'base64');
    }
    if (written > 0) yield out.subarray(0, written);
  }

  /**
   * The bytes this base64 encodes, decoded 64 KB at a time straight into one buffer: no string of
   * the whole text (megabytes in V8's large-object space, which costs full garbage collections).
   */
  decodeBase64(): Buffer {
    return this.decodeInSlices() ?? Buffer.from(this.toString(), 'base64');
  }

  /** Keeps the spooled bytes readable until the returned function is called (a reader after the request). */
  hold(): () => void {
    const releases = this.parts.flatMap((part) => (part instanceof SpooledFile ? [part.hold()] : []));
    return () => releases.forEach((release) => release());
  }

  /** The parts in memory: a spooled file read whole (for the rare consumer that needs one buffer). */
  private memoryParts(): Buffer[] {
    return this.parts.map((part) => (part instanceof SpooledFile ? part.readAll() : part));
  }

  /** `undefined` when the slices do not line up (spaces, or padding before the end, in the text). */
  private decodeInSlices(): Buffer | undefined {
    const parts = this.memoryParts();
    const out = Buffer.allocUnsafe(Math.ceil(this.length / 4) * 3);
    let written = 0;
    let carry = '';
    for (let index = 0; index < parts.length; index++) {
      const part = parts[index]!;
      for (let at = 0; at < part.length; at += DECODE_SLICE) {
        const end = Math.min(part.length, at + DECODE_SLICE);
        const last = index === parts.length - 1 && end === part.length;
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

/** Not base64: dropped from a slice whose decoding did not line up (whitespace in the text). */
const NOT_BASE64 = /[^A-Za-z0-9+/=_-]/g;

/** A slice's whole groups of 4 characters decoded into `out` at `at`, and the characters left for the next slice. */
function decodeInto(out: Buffer, at: number, text: string): { bytes: number; carry: string } {
  const whole = text.length - (text.length % 4);
  const bytes = out.write(text.slice(0, whole), at, 'base64');
  // Padding ends the data; anything else that did not decode to 3 bytes a group was whitespace
  // (or stray characters, which Buffer skips too): dropped, and the groups decoded again.
  if (bytes === (whole / 4) * 3 || text[whole - 1] === '=') return { bytes, carry: text.slice(whole) };
  const clean = text.replace(NOT_BASE64, '');
  const cleanWhole = clean.length - (clean.length % 4);
  return { bytes: out.write(clean.slice(0, cleanWhole), at, 'base64'), carry: clean.slice(cleanWhole) };
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

/** JSON text in pieces: the serialized parts, and between them the raw strings' own bytes. */
export class SplicedJson {
  readonly byteLength: number;

  constructor(readonly pieces: readonly HeldPart[]) {
    this.byteLength = pieces.reduce((sum, piece) => sum + piece.length, 0);
  }

  /** The pieces one after another, for a reply: the image data is written (or read from its file), never copied. */
  toStream(): SplicedJsonStream {
    return new SplicedJsonStream(this.pieces, this.byteLength);
  }

  /** The pieces as buffers (a spooled one read whole): for a frame that must be written at once. */
  inMemory(): Buffer[] {
    return this.pieces.map((piece) => (piece instanceof SpooledFile ? piece.readAll() : piece));
  }
}

export class SplicedJsonStream extends Readable {
  private readonly source: AsyncGenerator<Buffer>;
  private reading = false;

  constructor(
    pieces: readonly HeldPart[],
    readonly byteLength: number,
  ) {
    super();
    this.source = chunksOf(pieces);
  }

  override _read(): void {
    if (this.reading) return;
    this.reading = true;
    void this.pump();
  }

  /** Pushes until the socket wants no more: a slow client leaves the rest of a spooled image on disk. */
  private async pump(): Promise<void> {
    try {
      for (;;) {
        const next = await this.source.next();
        if (next.done) {
          this.push(null);
          return;
        }
        if (!this.push(next.value)) return;
      }
    } catch (error) {
      this.destroy(error as Error);
    } finally {
      this.reading = false;
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    void this.source.return(undefined).finally(() => callback(error));
  }
}

async function* chunksOf(pieces: readonly HeldPart[]): AsyncGenerator<Buffer> {
  for (const piece of pieces) {
    if (piece instanceof SpooledFile) yield* piece.chunks();
    else yield piece;
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
  const pieces: HeldPart[] = [];
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
  return parseWithRaws(Buffer.concat(pieces), raws);
}

/** `JSON.parse` of text in which markers stand for `raws`, each replaced by its value (no reviver without any). */
function parseWithRaws(text: Buffer, raws: readonly RawJsonString[]): unknown {
  if (raws.length === 0) return JSON.parse(text.toString('utf8'));
  return JSON.parse(text.toString('utf8'), (_key, value: unknown) =>
    typeof value === 'string' && value.startsWith(MARKER) ? raws[Number(value.slice(MARKER.length))] : value,
  );
}

/** The most values one document keeps raw (an answer holds at most 10 images); the rest are parsed as usual. */
const MAX_KEPT_VALUES = 32;
/** The most values of the named keys looked at in one document, kept or (short, escaped) not. */
const MAX_TRIED_VALUES = 256;
/** The longest run of whitespace looked through between a key, its colon and its value's quote. */
const MAX_GAP = 64;
const NOTHING = Buffer.alloc(0);

/**
 * `parseJsonKeepingRaw` for a body that arrives in chunks (`write` each, then `end`): the long
 * string values of the named keys go to `spool` as they arrive (memory, or a temporary file past
 * its budget) and never exist whole in the process; the rest of the document, small, is parsed by
 * `JSON.parse` at the end, which validates it. A value that turns out short or to hold escapes or
 * non-ASCII is put back in the document and parsed as usual. `discard` lets go of what was
 * spooled when the body is not used.
 */
export class RawJsonScanner {
  private readonly patterns: Buffer[];
  private readonly longest: number;
  /** The document outside the kept values, with markers in their place. */
  private readonly rest: Buffer[] = [];
  /** Bytes at the end of what arrived that could still begin `"key": "`. */
  private tail = NOTHING;
  private value?: SpoolWriter;
  private readonly writers: SpoolWriter[] = [];
  private readonly raws: RawJsonString[] = [];
  /** The chunks while they add up to less than a value worth keeping (then they are scanned). */
  private small?: Buffer[] = [];
  private smallBytes = 0;

  constructor(
    keys: readonly string[],
    private readonly spool: ByteSpool,
  ) {
    this.patterns = keys.map((key) => Buffer.from(JSON.stringify(key), 'utf8'));
    this.longest = Math.max(0, ...this.patterns.map((pattern) => pattern.length));
  }

  async write(chunk: Buffer): Promise<void> {
    // The usual small answer: nothing in it can be long enough to keep, so no scan until there is.
    if (this.small) {
      this.small.push(chunk);
      this.smallBytes += chunk.length;
      if (this.smallBytes < MIN_RAW_BYTES) return;
      chunk = this.small.length === 1 ? chunk : Buffer.concat(this.small, this.smallBytes);
      this.small = undefined;
    }
    let rest = chunk;
    while (rest.length > 0) {
      if (!this.value) {
        rest = this.scan(rest);
        continue;
      }
      const quote = rest.indexOf(QUOTE);
      const content = quote < 0 ? rest : rest.subarray(0, quote);
      if (content.indexOf(BACKSLASH) >= 0 || !isAscii(content)) {
        // Escapes (or text): not image data. From here the document is scanned as usual.
        this.rest.push(await this.value.takeBack());
        this.value = undefined;
        continue;
      }
      await this.value.write(content);
      if (quote < 0) return;
      await this.endValue();
      // The closing quote stays in the document, after the marker.
      rest = rest.subarray(quote);
    }
  }

  /** The document, parsed; throws what `JSON.parse` throws for a malformed one. */
  async end(): Promise<unknown> {
    if (this.small) return JSON.parse(Buffer.concat(this.small, this.smallBytes).toString('utf8'));
    if (this.value) {
      // Unterminated: the document is malformed, as JSON.parse will say.
      this.rest.push(await this.value.takeBack());
      this.value = undefined;
    }
    this.rest.push(this.tail);
    this.tail = NOTHING;
    return parseWithRaws(Buffer.concat(this.rest), this.raws);
  }

  /** Lets go of every value spooled so far (the body failed, or is not wanted). */
  discard(): void {
    for (const writer of this.writers) writer.release();
  }

  /**
   * Looks for the start of a kept value in what is not decided yet; returns what follows its
   * opening quote (and starts the value), or nothing once all of it is decided or held as the tail.
   */
  private scan(chunk: Buffer): Buffer {
    const text = this.tail.length > 0 ? Buffer.concat([this.tail, chunk]) : chunk;
    this.tail = NOTHING;
    for (let from = 0; ;) {
      // Past MAX_KEPT_VALUES (or MAX_TRIED_VALUES), the rest of the document is parsed as usual: a
      // hostile body of many values must not hold a file (a descriptor), or a writer, each.
      const tried = this.writers.length;
      const at = this.raws.length < MAX_KEPT_VALUES && tried < MAX_TRIED_VALUES ? this.nextKey(text, from) : -1;
      if (at < 0) {
        const keep = Math.max(from, text.length - this.longest + 1);
        this.decide(text, keep);
        return NOTHING;
      }
      const start = valueStart(text, at + this.patternAt(text, at).length);
      if (start === undefined) {
        // `"key"`, its colon or its quote is still to come.
        this.decide(text, at);
        return NOTHING;
      }
      if (start < 0) {
        from = at + 1;
        continue;
      }
      this.rest.push(text.subarray(0, start));
      this.value = this.spool.writer();
      this.writers.push(this.value);
      return text.subarray(start);
    }
  }

  /** `text` up to `at` is part of the document; from there it is the tail. */
  private decide(text: Buffer, at: number): void {
    if (at > 0) this.rest.push(text.subarray(0, at));
    this.tail = at < text.length ? Buffer.from(text.subarray(at)) : NOTHING;
  }

  private nextKey(text: Buffer, from: number): number {
    let first = -1;
    for (const pattern of this.patterns) {
      const at = text.indexOf(pattern, from);
      if (at >= 0 && (first < 0 || at < first)) first = at;
    }
    return first;
  }

  private patternAt(text: Buffer, at: number): Buffer {
    return this.patterns.find((pattern) => text.subarray(at, at + pattern.length).equals(pattern))!;
  }

  private async endValue(): Promise<void> {
    const writer = this.value!;
    this.value = undefined;
    if (writer.size < MIN_RAW_BYTES) {
      this.rest.push(await writer.takeBack());
      return;
    }
    const held = await writer.finish();
    this.rest.push(Buffer.from(`${MARKER_IN_JSON}${this.raws.length}`, 'latin1'));
    this.raws.push(new RawJsonString(held.parts, held.lease));
  }
}

/**
 * Where the string value after a key ending at `from` starts (after its quote): -1 when what follows
 * is not `: "` (whitespace allowed, up to MAX_GAP of it), undefined when `text` ends before that is known.
 */
function valueStart(text: Buffer, from: number): number | undefined {
  let cursor = from;
  const limit = Math.min(text.length, from + 2 * MAX_GAP + 2);
  while (cursor < limit && isWhitespace(text[cursor]!)) cursor++;
  if (cursor === text.length) return undefined;
  if (text[cursor] !== 0x3a) return -1;
  cursor++;
  while (cursor < limit && isWhitespace(text[cursor]!)) cursor++;
  if (cursor === text.length) return undefined;
  return text[cursor] === QUOTE ? cursor + 1 : -1;
}

function isWhitespace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
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
