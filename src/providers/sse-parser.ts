/**
 * Parses a `text/event-stream` body into the `data` of each event (multi-line data joined with
 * "\n"), following the WHATWG rules that matter here: events end at a blank line, lines end at
 * LF, CR or CRLF, `data:` may have one optional space, comments (`:`) and other fields are ignored.
 */
export async function* parseServerSentEvents(body: AsyncIterable<Buffer | string>): AsyncGenerator<{ event?: string; data: string }> {
  const decoder = new TextDecoder();
  let buffer = '';
  let data: string[] = [];
  let event: string | undefined;
  for await (const chunk of body) {
    buffer += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    let lineEnd: number;
    while ((lineEnd = buffer.search(/\r\n|\r|\n/)) !== -1) {
      const line = buffer.slice(0, lineEnd);
      const separatorLength = buffer.startsWith('\r\n', lineEnd) ? 2 : 1;
      // A lone CR at the end of the buffer may be the first half of a CRLF: wait for more.
      if (buffer[lineEnd] === '\r' && lineEnd + 1 === buffer.length) break;
      buffer = buffer.slice(lineEnd + separatorLength);
      if (line === '') {
        if (data.length > 0) yield { event, data: data.join('\n') };
        data = [];
        event = undefined;
      } else if (line.startsWith('data:')) {
        data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
      } else if (line.startsWith('event:')) {
        event = line.slice(line.startsWith('event: ') ? 7 : 6);
      }
    }
  }
  buffer += decoder.decode();
  if (buffer.startsWith('data:')) data.push(buffer.slice(buffer.startsWith('data: ') ? 6 : 5));
  if (data.length > 0) yield { event, data: data.join('\n') };
}
