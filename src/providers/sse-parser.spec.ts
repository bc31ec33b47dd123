import { parseServerSentEvents } from './sse-parser.js';

async function collect(chunks: string[]): Promise<Array<{ event?: string; data: string }>> {
  const events = [];
  async function* source() {
    for (const chunk of chunks) yield Buffer.from(chunk);
  }
  for await (const event of parseServerSentEvents(source())) events.push(event);
  return events;
}

describe('parseServerSentEvents', () => {
  it('yields the data of each event, with CRLF, LF and split chunks', async () => {
    const events = await collect(['data: {"a":1}\r\n\r', '\ndata: {"b"', ':2}\n\n: comment\n\nevent: done\ndata:x\n\n']);
    expect(events).toEqual([{ data: '{"a":1}', event: undefined }, { data: '{"b":2}', event: undefined }, { data: 'x', event: 'done' }]);
  });

  it('joins multi-line data and flushes a last event without a blank line', async () => {
    expect(await collect(['data: line 1\ndata: line 2\n\ndata: tail'])).toEqual([
      { data: 'line 1\nline 2', event: undefined },
      { data: 'tail', event: undefined },
    ]);
  });

  it('decodes multi-byte characters split across chunks', async () => {
    const bytes = Buffer.from('data: é\n\n');
    async function* source() {
      yield bytes.subarray(0, 7);
      yield bytes.subarray(7);
    }
    const events = [];
    for await (const event of parseServerSentEvents(source())) events.push(event.data);
    expect(events).toEqual(['é']);
  });

  it('joins a line that arrives in many chunks, and lone CRs as line ends', async () => {
    const image = 'A'.repeat(300_000);
    const wire = `data: {"image":"${image}"}\r\n\r\ndata: one\rdata: two\r\r`;
    const chunks = wire.match(/[\s\S]{1,65536}/g)!;

    expect(await collect(chunks)).toEqual([
      { data: `{"image":"${image}"}`, event: undefined },
      { data: 'one\ntwo', event: undefined },
    ]);
  });
});
