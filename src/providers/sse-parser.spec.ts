import { parseServerSentEvents, SseEventTooLargeError } from './sse-parser.js';

async function collect(
  chunks: string[] | AsyncIterable<Buffer>,
  options?: { maxEventLength: number },
): Promise<Array<{ event?: string; data: string }>> {
  const events = [];
  async function* source() {
    for (const chunk of chunks as string[]) yield Buffer.from(chunk);
  }
  for await (const event of parseServerSentEvents(Array.isArray(chunks) ? source() : chunks, options))
    events.push(event);
  return events;
}

describe('parseServerSentEvents', () => {
  it('yields the data of each event, with CRLF, LF and split chunks', async () => {
    const events = await collect([
      'data: {"a":1}\r\n\r',
      '\ndata: {"b"',
      ':2}\n\n: comment\n\nevent: done\ndata:x\n\n',
    ]);
    expect(events).toEqual([
      { data: '{"a":1}', event: undefined },
      { data: '{"b":2}', event: undefined },
      { data: 'x', event: 'done' },
    ]);
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

  describe('with maxEventLength', () => {
    it("counts the characters of an event's lines, line ends not included", async () => {
      // 'event: e' + 'data: ' and 50 characters, twice: 120; the comment after it starts a new count.
      const wire = [`event: e\ndata: ${'x'.repeat(50)}\r\ndata: ${'y'.repeat(50)}\n\n: ${'c'.repeat(100)}\n`];

      expect(await collect(wire, { maxEventLength: 120 })).toEqual([
        { event: 'e', data: `${'x'.repeat(50)}\n${'y'.repeat(50)}` },
      ]);
      await expect(collect(wire, { maxEventLength: 119 })).rejects.toThrow(new SseEventTooLargeError(119));
    });

    it('throws on a line that never ends once it passes the limit, without waiting for the rest of the body', async () => {
      let chunksRead = 0;
      async function* endless() {
        for (;;) {
          chunksRead++;
          yield Buffer.from(chunksRead === 1 ? 'data: {"image":"' : 'A'.repeat(1000));
        }
      }

      await expect(collect(endless(), { maxEventLength: 10_000 })).rejects.toThrow(SseEventTooLargeError);
      expect(chunksRead).toBeLessThanOrEqual(12);
    });

    it('throws on an event whose data lines together pass the limit', async () => {
      const lines = Array.from({ length: 20 }, () => `data: ${'B'.repeat(99)}\n`);
      await expect(collect(lines, { maxEventLength: 1000 })).rejects.toThrow(new SseEventTooLargeError(1000));
    });

    it('throws on a line of a comment or an unknown field too', async () => {
      await expect(collect([': ', 'c'.repeat(600), 'c'.repeat(600)], { maxEventLength: 1000 })).rejects.toThrow(
        SseEventTooLargeError,
      );
    });

    it('counts each event afresh', async () => {
      const event = `data: ${'D'.repeat(900)}\n\n`;
      expect(await collect([event.repeat(5)], { maxEventLength: 1000 })).toHaveLength(5);
    });
  });
});
