/** An event (or a line still waiting for its end) longer than the parser was allowed to hold. */
export class SseEventTooLargeError extends Error {
  constructor(readonly maxEventLength: number) {
    super(`an event is longer than ${maxEventLength} characters`);
    this.name = 'SseEventTooLargeError';
  }
}

export interface ServerSentEventsOptions {
  /**
   * The most characters one event's lines may hold together (line ends not counted), checked as
   * they arrive: a line that never ends cannot grow without bound. A character is never more
   * than its UTF-8 bytes, so a byte limit can be used as is. Default: no limit.
   */
  maxEventLength?: number;
}

/**
 * Parses a `text/event-stream` body into the `data` of each event (multi-line data joined with
 * "\n"), following the WHATWG rules that matter here: events end at a blank line, lines end at
 * LF, CR or CRLF, `data:` may have one optional space, comments (`:`) and other fields are ignored.
 * Each chunk is scanned once: a line megabytes long (an image in base64) arrives in many chunks,
 * and is joined once, when it ends.
 */
export async function* parseServerSentEvents(
  body: AsyncIterable<Buffer | string>,
  options: ServerSentEventsOptions = {},
): AsyncGenerator<{ event?: string; data: string }> {
  const maxEventLength = options.maxEventLength ?? Infinity;
  const decoder = new TextDecoder();
  /** The current line's text so far, in the pieces it came in, and their length. */
  let partial: string[] = [];
  let partialLength = 0;
  /** The characters of the current event's complete lines. */
  let eventLength = 0;
  /** The last chunk ended with CR: a LF at the start of the next one belongs to it. */
  let afterCr = false;
  let data: string[] = [];
  let event: string | undefined;

  function* line(text: string): Generator<{ event?: string; data: string }> {
    if (text === '') {
      if (data.length > 0) yield { event, data: data.join('\n') };
      data = [];
      event = undefined;
    } else if (text.startsWith('data:')) {
      data.push(text.slice(text.startsWith('data: ') ? 6 : 5));
    } else if (text.startsWith('event:')) {
      event = text.slice(text.startsWith('event: ') ? 7 : 6);
    }
  }

  for await (const chunk of body) {
    const text = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    let start = afterCr && text.startsWith('\n') ? 1 : 0;
    afterCr = false;
    for (let end = lineEnd(text, start); end !== -1; end = lineEnd(text, start)) {
      const length = partialLength + end - start;
      eventLength = length === 0 ? 0 : eventLength + length;
      if (eventLength > maxEventLength) throw new SseEventTooLargeError(maxEventLength);
      partial.push(text.slice(start, end));
      const complete = partial.join('');
      partial = [];
      partialLength = 0;
      start = end + (text.startsWith('\r\n', end) ? 2 : 1);
      if (text[end] === '\r' && end + 1 === text.length) afterCr = true;
      yield* line(complete);
    }
    if (start < text.length) {
      partial.push(text.slice(start));
      partialLength += text.length - start;
      if (eventLength + partialLength > maxEventLength) throw new SseEventTooLargeError(maxEventLength);
    }
  }
  partial.push(decoder.decode());
  const rest = partial.join('');
  if (rest.startsWith('data:')) data.push(rest.slice(rest.startsWith('data: ') ? 6 : 5));
  if (data.length > 0) yield { event, data: data.join('\n') };
}

/** Where the next line ends (at a CR or LF) from `from`, or -1. */
function lineEnd(text: string, from: number): number {
  const lf = text.indexOf('\n', from);
  const cr = text.indexOf('\r', from);
  if (cr === -1) return lf;
  return lf === -1 ? cr : Math.min(lf, cr);
}
