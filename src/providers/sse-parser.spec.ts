import { randomBytes } from 'node:crypto';
import { type ParsedServerSentEvent, parseServerSentEvents, SseEventTooLargeError } from './sse-parser.js';

async function parsed(
  chunks: Array<string | Buffer> | AsyncIterable<Buffer>,
  options?: { maxEventLength: number },
): Promise<ParsedServerSentEvent[]> {
  const events = [];
  async function* source() {
    for (const chunk of chunks as Array<string | Buffer>) yield typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
  }
  for await (const event of parseServerSentEvents(Array.isArray(chunks) ? source() : chunks, options))
    events.push(event);
  return events;
}

async function collect(
  chunks: Array<string | Buffer> | AsyncIterable<Buffer>,
  options?: { maxEventLength: number },
): Promise<Array<{ event?: string; data: string }>> {
  return (await parsed(chunks, options)).map(({ event, data }) => ({ event, data }));
}

/** `wire` cut at each of `at` (ascending offsets). */
function cut(wire: Buffer, at: number[]): Buffer[] {
  return [0, ...at].map((from, index) => wire.subarray(from, at[index] ?? wire.length));
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

  describe('keeps data as the bytes it came in', () => {
    const image = randomBytes(150_000).toString('base64');
    const events = [
      { event: undefined, data: `{"candidates":[{"content":{"parts":[{"inlineData":{"data":"${image}"}}]}}]}` },
      { event: 'image_generation.completed', data: `{"b64_json":"${image.slice(0, 9000)}\\/${image.slice(9000)}"}` },
      { event: undefined, data: '{"text":"é ü 😀"}' },
      { event: undefined, data: `${image.slice(0, 5000)}\n${image.slice(5000, 9000)}` },
    ];
    const wire = Buffer.from(
      `data: ${events[0]!.data}\r\n\r\n` +
        `event: ${events[1]!.event}\ndata:${events[1]!.data}\n\n` +
        `: a comment\rdata: ${events[2]!.data}\r\r` +
        `data: ${image.slice(0, 5000)}\r\ndata: ${image.slice(5000, 9000)}\n\n`,
    );
    // Each byte as one character (latin1): compared exactly, and quicker than Buffers.
    const expected = events.map(({ event, data }) => ({ event, bytes: Buffer.from(data).toString('latin1') }));
    const asBytes = (found: ParsedServerSentEvent[]) =>
      found.map(({ event, bytes }) => ({ event, bytes: bytes.toString('latin1') }));

    it.each([
      ['one chunk', []],
      ['64 KB chunks', Array.from({ length: Math.floor(wire.length / 65_536) }, (_, index) => (index + 1) * 65_536)],
      ['cut inside "data:", inside CRLF, after a lone CR and inside the emoji', awkwardCuts(wire)],
      ['one byte at a time around the line ends', lineEndCuts(wire)],
    ])('%s', async (_how, at) => {
      expect(asBytes(await parsed(cut(wire, at)))).toEqual(expected);
    });

    it('pairs a CR at the end of a chunk with a LF after an empty chunk', async () => {
      expect(await collect(['data: a\r', '', '\ndata: b\n\n'])).toEqual([{ event: undefined, data: 'a\nb' }]);
    });

    it('hands out a slice of the chunk, no copy, for an event that lies in one', async () => {
      const chunk = Buffer.from(`data: ${image}\n\n`);

      const [event] = await parsed([chunk]);

      expect(event!.bytes.buffer).toBe(chunk.buffer);
      expect(event!.bytes.equals(Buffer.from(image))).toBe(true);
    });

    it('drops a byte order mark at the start of the stream only, even when it is cut', async () => {
      const wire = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('data: a\n\ndata: \ufeffb\n\n')]);

      expect(await collect(cut(wire, [1, 2]))).toEqual([
        { event: undefined, data: 'a' },
        { event: undefined, data: '\ufeffb' },
      ]);
    });

    it('replaces invalid UTF-8 in data only when it is read as text', async () => {
      const [event] = await parsed([Buffer.from([...Buffer.from('data: a'), 0xff, 0x62, 0x0a, 0x0a])]);

      expect([...event!.bytes]).toEqual([0x61, 0xff, 0x62]);
      expect(event!.data).toBe('a\ufffdb');
    });
  });

  describe('with maxEventLength', () => {
    it("counts the bytes of an event's lines, line ends not included", async () => {
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

    it('counts bytes, not characters', async () => {
      await expect(collect([`data: ${'é'.repeat(10)}\n\n`], { maxEventLength: 25 })).rejects.toThrow(
        new SseEventTooLargeError(25),
      );
      expect(await collect([`data: ${'é'.repeat(10)}\n\n`], { maxEventLength: 26 })).toHaveLength(1);
    });

    it('counts each event afresh', async () => {
      const event = `data: ${'D'.repeat(900)}\n\n`;
      expect(await collect([event.repeat(5)], { maxEventLength: 1000 })).toHaveLength(5);
    });
  });
});

/** Offsets inside every `data:` prefix, between every CR and LF, right after every CR, and inside every 4-byte character. */
function awkwardCuts(wire: Buffer): number[] {
  const at = new Set<number>();
  for (let index = wire.indexOf('data:'); index >= 0; index = wire.indexOf('data:', index + 1)) at.add(index + 2);
  for (let index = 0; index < wire.length; index++) {
    if (wire[index] === 0x0d) at.add(index + 1);
    if (wire[index] === 0xf0) at.add(index + 2);
  }
  return [...at].filter((offset) => offset > 0 && offset < wire.length).sort((a, b) => a - b);
}

/** Every offset within two bytes of a line end. */
function lineEndCuts(wire: Buffer): number[] {
  const at = new Set<number>();
  for (let index = 0; index < wire.length; index++) {
    if (wire[index] !== 0x0a && wire[index] !== 0x0d) continue;
    for (let offset = index - 2; offset <= index + 2; offset++) at.add(offset);
  }
  return [...at].filter((offset) => offset > 0 && offset < wire.length).sort((a, b) => a - b);
}
