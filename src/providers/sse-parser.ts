/** An event (or a line still waiting for its end) longer than the parser was allowed to hold. */
export class SseEventTooLargeError extends Error {
  constructor(readonly maxEventLength: number) {
    super(`an event is longer than ${maxEventLength} bytes`);
    this.name = 'SseEventTooLargeError';
  }
}

export interface ServerSentEventsOptions {
  /**
   * The most bytes one event's lines may hold together (line ends not counted), checked as they
   * arrive: a line that never ends cannot grow without bound. Default: no limit.
   */
  maxEventLength?: number;
}

/**
 * One event as it arrived: its `data` (multi-line data joined with "\n") as the bytes of the
 * stream, and as text only when asked for, so that megabytes of base64 can be passed on without
 * ever becoming a JavaScript string.
 */
export class ParsedServerSentEvent {
  private text?: string;

  constructor(
    /** The `event:` field, when there was one. */
    readonly event: string | undefined,
    /** `data` in UTF-8, as the upstream sent it: a slice of its chunk when the event lay in one. */
    readonly bytes: Buffer,
  ) {}

  /** `data` decoded (invalid UTF-8 becomes U+FFFD), once. */
  get data(): string {
    this.text ??= this.bytes.toString('utf8');
    return this.text;
  }
}

const LF = 0x0a;
const CR = 0x0d;
const NEWLINE = Buffer.from('\n');
const DATA = Buffer.from('data:');
const EVENT = Buffer.from('event:');
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const SPACE = 0x20;

/**
 * Parses a `text/event-stream` body into its events, following the WHATWG rules that matter
 * here: events end at a blank line, lines end at LF, CR or CRLF, `data:` may have one optional
 * space, comments (`:`) and other fields are ignored, a leading BOM is dropped. The bytes are
 * split where the line ends are (native scans) and never decoded: a line megabytes long (an image
 * in base64) arrives in many chunks and is joined once, when it ends.
 */
export async function* parseServerSentEvents(
  body: AsyncIterable<Buffer | string>,
  options: ServerSentEventsOptions = {},
): AsyncGenerator<ParsedServerSentEvent> {
  const maxEventLength = options.maxEventLength ?? Infinity;
  /** The current line's bytes so far, in the pieces they came in, and their length. */
  let partial: Buffer[] = [];
  let partialLength = 0;
  /** The bytes of the current event's complete lines. */
  let eventLength = 0;
  /** The last chunk ended with CR: a LF at the start of the next one belongs to it. */
  let afterCr = false;
  let firstLine = true;
  let data: Buffer[] = [];
  let event: string | undefined;

  function dispatch(): ParsedServerSentEvent | undefined {
    const complete = data.length === 0 ? undefined : new ParsedServerSentEvent(event, joinLines(data));
    data = [];
    event = undefined;
    return complete;
  }

  function line(bytes: Buffer): ParsedServerSentEvent | undefined {
    if (firstLine) {
      firstLine = false;
      if (startsWith(bytes, BOM)) bytes = bytes.subarray(BOM.length);
    }
    if (bytes.length === 0) return dispatch();
    if (startsWith(bytes, DATA)) data.push(fieldValue(bytes, DATA.length));
    else if (startsWith(bytes, EVENT)) event = fieldValue(bytes, EVENT.length).toString('utf8');
    return undefined;
  }

  for await (const piece of body) {
    const chunk = typeof piece === 'string' ? Buffer.from(piece, 'utf8') : piece;
    if (chunk.length === 0) continue;
    let start = afterCr && chunk[0] === LF ? 1 : 0;
    afterCr = false;
    // The next LF and CR at or after `start` (-1: none left in this chunk), each found once.
    let lf = chunk.indexOf(LF, start);
    let cr = chunk.indexOf(CR, start);
    while (lf !== -1 || cr !== -1) {
      const end = cr === -1 || (lf !== -1 && lf < cr) ? lf : cr;
      const length = partialLength + end - start;
      eventLength = length === 0 ? 0 : eventLength + length;
      if (eventLength > maxEventLength) throw new SseEventTooLargeError(maxEventLength);
      const text = chunk.subarray(start, end);
      const complete = partial.length === 0 ? text : Buffer.concat([...partial, text], length);
      partial = [];
      partialLength = 0;
      start = end + (chunk[end] === CR && chunk[end + 1] === LF ? 2 : 1);
      if (chunk[end] === CR && end + 1 === chunk.length) afterCr = true;
      if (lf !== -1 && lf < start) lf = chunk.indexOf(LF, start);
      if (cr !== -1 && cr < start) cr = chunk.indexOf(CR, start);
      const parsed = line(complete);
      if (parsed) yield parsed;
    }
    if (start < chunk.length) {
      partial.push(chunk.subarray(start));
      partialLength += chunk.length - start;
      if (eventLength + partialLength > maxEventLength) throw new SseEventTooLargeError(maxEventLength);
    }
  }
  // The body ended without a blank line: a last line without its end still counts, and so does its event.
  if (partialLength > 0) {
    const parsed = line(Buffer.concat(partial, partialLength));
    if (parsed) yield parsed;
  }
  const last = dispatch();
  if (last) yield last;
}

function startsWith(bytes: Buffer, prefix: Buffer): boolean {
  return bytes.length >= prefix.length && bytes.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;
}

/** The value after `name:`, without the one optional space. */
function fieldValue(bytes: Buffer, nameLength: number): Buffer {
  return bytes.subarray(bytes[nameLength] === SPACE ? nameLength + 1 : nameLength);
}

/** Data lines joined with "\n" (no copy for the usual single line). */
function joinLines(lines: Buffer[]): Buffer {
  if (lines.length === 1) return lines[0]!;
  const pieces: Buffer[] = [];
  for (const [index, line] of lines.entries()) {
    if (index > 0) pieces.push(NEWLINE);
    pieces.push(line);
  }
  return Buffer.concat(pieces);
}
