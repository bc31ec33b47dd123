/**
 * Parses a `text/event-stream` body into the `data` of each event (multi-line data joined with
 * "\n"), following the WHATWG rules that matter here: events end at a blank line, lines end at
 * LF, CR or CRLF, `data:` may have one optional space, comments (`:`) and other fields are ignored.
 * Each chunk is scanned once: a line megabytes long (an image in base64) arrives in many chunks,
 * and is joined once, when it ends.
 */
export async function* parseServerSentEvents(body: AsyncIterable<Buffer | string>): AsyncGenerator<{ event?: string; data: string }> {
  const decoder = new TextDecoder();
  /** The current line's text so far, in the pieces it came in. */
  let partial: string[] = [];
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
      partial.push(text.slice(start, end));
      const complete = partial.join('');
      partial = [];
      start = end + (text.startsWith('\r\n', end) ? 2 : 1);
      if (text[end] === '\r' && end + 1 === text.length) afterCr = true;
      yield* line(complete);
    }
    if (start < text.length) partial.push(text.slice(start));
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
