import { randomBytes } from 'node:crypto';
import { mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ByteSpool } from '../spool/byte-spool.js';
import { RawJsonScanner, RawJsonString, SplicedJson, stringifyJson } from './raw-json.js';

/** Base64 of `bytes` random bytes: 4 * ceil(bytes / 3) characters, padded with 0, 2 or 1 `=`. */
const base64 = (bytes: number) => randomBytes(bytes).toString('base64');

const IMAGE = base64(6000); // 8000 characters, no padding
const IMAGE2 = base64(6001); // `==`
const IMAGE3 = base64(6002); // `=`
const LARGE = base64(225_001); // 300,004 characters: past a 64 KB decode slice and a 256 KB file read

let dir: string;

beforeAll(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), 'easel-raw-json-spec-')));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const roomy = () => new ByteSpool({ memoryBytes: 1 << 30, dir });
const spoolingAll = () => new ByteSpool({ memoryBytes: 0, dir });

/** A small seeded generator (mulberry32), so that a failing chunking can be run again. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Chunking {
  name: string;
  chunks: Buffer[];
}

/** `doc` cut at `cuts` (fresh buffers, as a socket gives them). */
function cutAt(doc: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.filter((cut) => cut > 0 && cut < doc.length))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const point of [...points, doc.length]) {
    chunks.push(Buffer.from(doc.subarray(from, point)));
    from = point;
  }
  return chunks;
}

function bySize(doc: Buffer, size: number): Chunking {
  const cuts: number[] = [];
  for (let at = size; at < doc.length; at += size) cuts.push(at);
  return { name: `chunks of ${size}`, chunks: cutAt(doc, cuts) };
}

function randomly(doc: Buffer, seed: number, largest: number): Chunking {
  const next = seeded(seed);
  const cuts: number[] = [];
  for (let at = 1 + Math.floor(next() * largest); at < doc.length; at += 1 + Math.floor(next() * largest))
    cuts.push(at);
  return { name: `random chunks up to ${largest} (seed ${seed})`, chunks: cutAt(doc, cuts) };
}

/**
 * Where a key of `keys` begins (its opening quote, or the backslash of an escaped one), where its
 * value's opening quote ends, and that value's closing quote: for each property of those keys.
 */
function keySpans(doc: Buffer, keys: readonly string[]): Array<{ key: number; open: number; close: number }> {
  const text = doc.toString('latin1');
  const names = keys.map((key) => key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
  const pattern = new RegExp(`\\\\?"(?:${names})\\\\?"[ \\t\\r\\n]*:[ \\t\\r\\n]*\\\\?"`, 'g');
  return [...text.matchAll(pattern)].map((match) => {
    const open = match.index + match[0].length;
    let close = open;
    while (close < text.length && !(text[close] === '"' && text[close - 1] !== '\\')) close++;
    return { key: match.index, open, close };
  });
}

/** Two chunks, cut at every byte from just before a key to just after its value's opening quote. */
function cutsAroundKeys(doc: Buffer, keys: readonly string[]): Chunking[] {
  return keySpans(doc, keys).flatMap(({ key, open }) =>
    Array.from({ length: open - key + 3 }, (_, index) => key - 1 + index).map((cut) => ({
      name: `cut at ${cut} (key at ${key}, value from ${open})`,
      chunks: cutAt(doc, [cut]),
    })),
  );
}

/** Cut right before, at and after each value's opening and closing quotes, all of them at once. */
function cutsAtQuotes(doc: Buffer, keys: readonly string[]): Chunking[] {
  const spans = keySpans(doc, keys);
  return [-1, 0, 1].flatMap((shift) => [
    {
      name: `cut at opening quotes ${shift}`,
      chunks: cutAt(
        doc,
        spans.map(({ open }) => open - 1 + shift),
      ),
    },
    {
      name: `cut at closing quotes ${shift}`,
      chunks: cutAt(
        doc,
        spans.map(({ close }) => close + shift),
      ),
    },
    {
      name: `cut at opening and closing quotes ${shift}`,
      chunks: cutAt(
        doc,
        spans.flatMap(({ open, close }) => [open - 1 + shift, close + shift]),
      ),
    },
  ]);
}

function everyChunking(doc: Buffer, keys: readonly string[]): Chunking[] {
  return [
    { name: 'whole', chunks: [doc] },
    bySize(doc, 1),
    bySize(doc, 2),
    bySize(doc, 3),
    bySize(doc, 4096),
    ...[1, 2, 3].map((seed) => randomly(doc, seed, 8)),
    ...[4, 5, 6].map((seed) => randomly(doc, seed, 300)),
    ...[7, 8].map((seed) => randomly(doc, seed, 5000)),
    ...cutsAroundKeys(doc, keys),
    ...cutsAtQuotes(doc, keys),
  ];
}

async function scan(
  chunks: readonly Buffer[],
  keys: readonly string[],
  spool: ByteSpool,
): Promise<{ scanner: RawJsonScanner; result: unknown }> {
  const scanner = new RawJsonScanner(keys, spool);
  for (const chunk of chunks) await scanner.write(chunk);
  return { scanner, result: await scanner.end() };
}

/** The document with each raw string as the string it stands for. */
function plain(value: unknown): unknown {
  if (value instanceof RawJsonString) return value.toString();
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, plain(item)]));
  }
  return value;
}

/** Where the raw strings are in the document (`a.0.b`). */
function rawPaths(value: unknown, path: string[] = []): string[] {
  if (value instanceof RawJsonString) return [path.join('.')];
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, item]) => rawPaths(item, [...path, key]));
  }
  return [];
}

function raws(value: unknown): RawJsonString[] {
  if (value instanceof RawJsonString) return [value];
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(raws);
  return [];
}

async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer> {
  const all: Buffer[] = [];
  for await (const chunk of chunks) all.push(chunk);
  return Buffer.concat(all);
}

interface Case {
  name: string;
  doc: string;
  keys: readonly string[];
  /** Where JSON.parse's long, plain strings of the keys are: what must come back raw. */
  raw: string[];
}

const openAi = {
  created: 1_745_000_000,
  data: [{ b64_json: IMAGE, revised_prompt: 'A cat in a hat, café style — "b64_json": no' }],
  usage: {
    total_tokens: 1100,
    input_tokens: 50,
    output_tokens: 1050,
    input_tokens_details: { text_tokens: 50, image_tokens: 0 },
  },
};

const gemini = {
  candidates: [
    {
      content: {
        parts: [
          { text: 'Here is the image: data follows' },
          { inlineData: { mimeType: 'image/png', data: IMAGE2 } },
          { inlineData: { mimeType: 'image/png', data: IMAGE3 } },
        ],
        role: 'model',
      },
      finishReason: 'STOP',
      index: 0,
    },
  ],
  usageMetadata: { promptTokenCount: 12, candidatesTokenCount: 1290, totalTokenCount: 1302 },
  modelVersion: 'gemini-2.5-flash-image',
};

const exactly = (length: number) => LARGE.slice(0, length);

const cases: Case[] = [
  { name: 'an OpenAI images response', doc: JSON.stringify(openAi), keys: ['b64_json'], raw: ['data.0.b64_json'] },
  {
    name: 'an OpenAI images response with two images, indented',
    doc: JSON.stringify(
      { ...openAi, data: [{ b64_json: IMAGE2 }, { b64_json: IMAGE3, revised_prompt: 'x' }] },
      null,
      2,
    ),
    keys: ['b64_json'],
    raw: ['data.0.b64_json', 'data.1.b64_json'],
  },
  {
    name: 'a response with tabs, CRLF and 64 spaces around the colon',
    doc: `{\r\n\t"data" : [ { "b64_json"\t:\r\n  "${IMAGE}" }, {"b64_json"${' '.repeat(64)}:${' '.repeat(64)}"${IMAGE2}"} ]\r\n}`,
    keys: ['b64_json'],
    raw: ['data.0.b64_json', 'data.1.b64_json'],
  },
  {
    name: 'a Gemini-like response, kept by key data',
    doc: JSON.stringify(gemini),
    keys: ['data'],
    raw: ['candidates.0.content.parts.1.inlineData.data', 'candidates.0.content.parts.2.inlineData.data'],
  },
  {
    name: 'a response with several keys kept',
    doc: JSON.stringify({ data: [{ b64_json: IMAGE }], inline: { data: IMAGE3 }, short: { data: 'aGk=' } }),
    keys: ['b64_json', 'data'],
    raw: ['data.0.b64_json', 'inline.data'],
  },
  {
    name: 'values that are short, at the length limit, escaped, not ASCII or not strings',
    doc:
      '{' +
      [
        `"short":{"b64_json":"c2hvcnQ="}`,
        `"empty":{"b64_json":""}`,
        `"under":{"b64_json":"${exactly(4095)}"}`,
        `"at":{"b64_json":"${exactly(4096)}"}`,
        `"newline":{"b64_json":"\\n${IMAGE}"}`,
        `"quote":{"b64_json":"${IMAGE.slice(0, 5000)}\\"${IMAGE.slice(5000)}"}`,
        `"unicode":{"b64_json":"${IMAGE}\\u00e9"}`,
        `"slash":{"b64_json":"${IMAGE.slice(0, 4100)}\\/"}`,
        `"text":{"b64_json":"${IMAGE.slice(0, 5000)}é${IMAGE.slice(5000)}"}`,
        `"emoji":{"b64_json":"🖼${IMAGE}"}`,
        `"number":{"b64_json":12}`,
        `"null":{"b64_json":null}`,
        `"object":{"b64_json":{"b64_json":"${IMAGE3}"}}`,
        `"array":{"b64_json":["b64_json","${IMAGE2}"]}`,
        `"format":"b64_json"`,
        `"after":{"b64_json":"${IMAGE2}"}`,
      ].join(',') +
      '}',
    keys: ['b64_json'],
    raw: ['at.b64_json', 'object.b64_json.b64_json', 'after.b64_json'],
  },
  {
    name: 'a key quoted inside another string',
    doc: JSON.stringify({
      revised_prompt: `say "b64_json": "${IMAGE}" and "b64_json" : "${IMAGE2}"`,
      note: `{"b64_json":"${IMAGE3}"}`,
    }),
    keys: ['b64_json'],
    raw: [],
  },
  {
    name: 'a key followed by more whitespace than is looked through',
    doc: `{"b64_json"${' '.repeat(300)}:"${IMAGE}","next":{"b64_json":"${IMAGE2}"}}`,
    keys: ['b64_json'],
    raw: ['next.b64_json'],
  },
];

describe(RawJsonScanner.name, () => {
  describe.each(cases)('given $name', ({ doc, keys, raw }) => {
    const source = Buffer.from(doc, 'utf8');
    const expected = JSON.parse(doc) as unknown;

    it('gives what JSON.parse gives, with the long plain values raw, however the body is cut', async () => {
      for (const { name, chunks } of everyChunking(source, keys)) {
        const spool = roomy();
        const { scanner, result } = await scan(chunks, keys, spool);

        expect({ chunking: name, value: plain(result), raw: rawPaths(result) }).toEqual({
          chunking: name,
          value: expected,
          raw,
        });
        // Only the raw values are still held; discarding gives their memory back.
        const held = raws(result).reduce((sum, value) => sum + value.length, 0);
        expect({ chunking: name, held: spool.memoryBytes }).toEqual({ chunking: name, held });
        scanner.discard();
        expect({ chunking: name, held: spool.memoryBytes }).toEqual({ chunking: name, held: 0 });
      }
    });

    it('gives the same when every value goes to a file', async () => {
      const chunkings = [{ name: 'whole', chunks: [source] }, bySize(source, 1), randomly(source, 9, 300)];
      for (const { name, chunks } of chunkings) {
        const spool = spoolingAll();
        const { scanner, result } = await scan(chunks, keys, spool);

        expect({ chunking: name, value: plain(result), raw: rawPaths(result) }).toEqual({
          chunking: name,
          value: expected,
          raw,
        });
        for (const value of raws(result)) {
          expect(value.spooled).toBe(true);
          expect((await collect(value.chunks())).toString('latin1')).toBe(value.toString());
        }
        expect(spool.memoryBytes).toBe(0);
        scanner.discard();
      }
    });
  });

  it('keeps a raw value as the bytes of the body, readable as chunks and as the string', async () => {
    const { result } = await scan([Buffer.from(JSON.stringify(openAi))], ['b64_json'], roomy());
    const value = (result as typeof openAi).data[0]!.b64_json as unknown as RawJsonString;

    expect(value).toBeInstanceOf(RawJsonString);
    expect(value.spooled).toBe(false);
    expect(value.length).toBe(IMAGE.length);
    expect(value.toString()).toBe(IMAGE);
    expect((await collect(value.chunks())).toString('latin1')).toBe(IMAGE);
    // Plain JSON.stringify writes it as the string.
    expect(JSON.stringify(result)).toBe(JSON.stringify(openAi));
  });

  it('spools the values that do not fit in the memory budget, and reads them back exactly', async () => {
    const doc = JSON.stringify({ data: [{ b64_json: IMAGE }, { b64_json: IMAGE2 }, { b64_json: LARGE }] });
    const spool = new ByteSpool({ memoryBytes: 10_000, dir });

    const { scanner, result } = await scan(randomly(Buffer.from(doc), 10, 3000).chunks, ['b64_json'], spool);

    const [first, second, third] = raws(result);
    expect([first!.spooled, second!.spooled, third!.spooled]).toEqual([false, true, true]);
    expect(spool.memoryBytes).toBe(IMAGE.length);
    expect((await collect(second!.chunks())).toString('latin1')).toBe(IMAGE2);
    expect((await collect(third!.chunks())).toString('latin1')).toBe(LARGE);
    expect(third!.toString()).toBe(LARGE);
    expect(plain(result)).toEqual(JSON.parse(doc));
    scanner.discard();
    expect(spool.memoryBytes).toBe(0);
  });

  describe.each([
    ['unterminated raw string', `{"data":[{"b64_json":"${IMAGE}`],
    ['unterminated short string', `{"data":[{"b64_json":"c2hv`],
    ['unterminated string with an escape', `{"b64_json":"${IMAGE}\\n`],
    ['truncated after a raw value', `{"data":[{"b64_json":"${IMAGE}"`],
    ['truncated after a raw value and a comma', `{"data":[{"b64_json":"${IMAGE}"},`],
    ['truncated in a key', `{"created":1,"b64_js`],
    ['truncated after the colon', `{"b64_json" :  `],
    ['truncated after the opening quote', `{"b64_json":"`],
    ['a brace too many', `{"b64_json":"${IMAGE}"}}`],
    ['a missing comma', `{"b64_json":"${IMAGE}" "created":1}`],
    ['a trailing comma', `{"b64_json":"${IMAGE}",}`],
    ['a property in an array', `["b64_json":"${IMAGE}"]`],
    ['a key that is not quoted', `{b64_json:"${IMAGE}"}`],
    ['nothing', ''],
  ])('given a malformed document: %s', (_what, doc) => {
    const source = Buffer.from(doc);

    it('throws a SyntaxError at the end, as JSON.parse does, and can be discarded', async () => {
      expect(() => JSON.parse(doc)).toThrow(SyntaxError);
      const chunkings = [{ name: 'whole', chunks: [source] }, bySize(source, 1), randomly(source, 11, 500)];
      for (const spool of [roomy(), spoolingAll()]) {
        for (const { name, chunks } of chunkings) {
          const scanner = new RawJsonScanner(['b64_json'], spool);
          for (const chunk of chunks) await scanner.write(chunk);

          const error = await scanner.end().catch((thrown: unknown) => thrown);

          expect({ chunking: name, error }).toEqual({ chunking: name, error: expect.any(SyntaxError) });
          scanner.discard();
          expect(spool.memoryBytes).toBe(0);
        }
      }
    });
  });

  describe('decoding', () => {
    it.each([
      ['in memory', roomy],
      ['spooled', spoolingAll],
    ])('knows the decoded length %s when a chunk ends right before the last = of the padding', async (_how, spool) => {
      for (const value of [IMAGE2, IMAGE3]) {
        const doc = Buffer.from(JSON.stringify({ b64_json: value }));
        const lastEquals = doc.lastIndexOf('=');
        const scanner = new RawJsonScanner(['b64_json'], spool());
        await scanner.write(doc.subarray(0, lastEquals));
        await scanner.write(doc.subarray(lastEquals));
        const { b64_json } = (await scanner.end()) as { b64_json: RawJsonString };

        expect(b64_json.decodedLength).toBe(Buffer.from(value, 'base64').length);
      }
    });

    it.each([
      ['no padding', IMAGE, 6000],
      ['padding ==', IMAGE2, 6001],
      ['padding =', IMAGE3, 6002],
      ['padding == past a decode slice and a file read', LARGE, 225_001],
      ['padding = past a decode slice and a file read', base64(225_002), 225_002],
      ['no padding past a decode slice and a file read', base64(225_000), 225_000],
      ['the padding == left out', IMAGE2.replace(/=+$/, ''), 6001],
      ['the padding = left out', IMAGE3.replace(/=+$/, ''), 6002],
      ['the padding left out, past a decode slice and a file read', LARGE.replace(/=+$/, ''), 225_001],
    ])('decodes a value with %s, in memory or spooled, to the bytes it encodes', async (_what, value, bytes) => {
      const doc = Buffer.from(JSON.stringify({ b64_json: value }));
      const decoded = Buffer.from(value, 'base64');
      expect(decoded).toHaveLength(bytes);
      const ways = [
        { name: 'in memory, whole', spool: roomy(), chunks: [doc] },
        { name: 'in memory, in chunks of 1000', spool: roomy(), chunks: bySize(doc, 1000).chunks },
        { name: 'spooled, whole', spool: spoolingAll(), chunks: [doc] },
        { name: 'spooled, byte by byte', spool: spoolingAll(), chunks: bySize(doc, 1).chunks },
      ];
      for (const { name, spool, chunks } of ways) {
        const { scanner, result } = await scan(chunks, ['b64_json'], spool);
        const raw = (result as { b64_json: RawJsonString }).b64_json;

        expect({ way: name, raw: raw instanceof RawJsonString }).toEqual({ way: name, raw: true });
        expect({ way: name, decodedLength: raw.decodedLength }).toEqual({ way: name, decodedLength: bytes });
        expect({ way: name, same: (await collect(raw.decodedChunks())).equals(decoded) }).toEqual({
          way: name,
          same: true,
        });
        expect({ way: name, same: raw.decodeBase64().equals(decoded) }).toEqual({ way: name, same: true });
        scanner.discard();
      }
    });

    it('skips spaces in the text, as Buffer.from does', async () => {
      const spaced = LARGE.replace(/.{76}/g, '$& ');
      const doc = Buffer.from(JSON.stringify({ b64_json: spaced }));
      for (const spool of [roomy(), spoolingAll()]) {
        const { scanner, result } = await scan(bySize(doc, 5000).chunks, ['b64_json'], spool);
        const raw = (result as { b64_json: RawJsonString }).b64_json;

        expect(raw).toBeInstanceOf(RawJsonString);
        expect((await collect(raw.decodedChunks())).equals(Buffer.from(LARGE, 'base64'))).toBe(true);
        expect(raw.decodeBase64().equals(Buffer.from(LARGE, 'base64'))).toBe(true);
        scanner.discard();
      }
    });

    /** `text` as a raw string in parts cut at `cuts`: in memory, or written to a spooled file. */
    async function rawOf(
      text: string,
      cuts: number[],
      how: 'in memory' | 'spooled',
    ): Promise<{ raw: RawJsonString; release: () => void }> {
      const parts = cutAt(Buffer.from(text, 'latin1'), cuts);
      if (how === 'in memory') return { raw: new RawJsonString(parts), release: () => undefined };
      const writer = spoolingAll().writer();
      for (const part of parts) await writer.write(part);
      const held = await writer.finish();
      return { raw: new RawJsonString(held.parts, held.lease), release: () => writer.release() };
    }

    const lines = (value: string, separator: string) => value.replace(/.{76}/g, `$&${separator}`);

    describe.each(['in memory', 'spooled'] as const)('%s', (how) => {
      it.each([
        ['spaces every 76 characters', lines(LARGE, ' '), []],
        ['a newline every 76 characters', lines(LARGE, '\n'), []],
        ['CRLF every 76 characters', lines(LARGE, '\r\n'), []],
        ['a tab every 76 characters', lines(IMAGE2, '\t'), []],
        ['whitespace only in a later part', `${IMAGE}\n ${IMAGE2}`, [IMAGE.length - 100]],
        ['whitespace between the parts', `${IMAGE}\r\n${IMAGE3}`, [IMAGE.length + 1]],
        ['whitespace before the padding', `${IMAGE2.slice(0, -2)}\n==`, [4000]],
        ['whitespace after the padding', `${IMAGE3}\r\n\t `, []],
        ['whitespace first', ` \n${IMAGE}`, [1]],
        ['whitespace only past the first 256 KB file read', `${base64(225_000)}\n${IMAGE}`, [300_000]],
      ])('counts the bytes a value with %s decodes to exactly, and decodes it to them', async (_what, text, cuts) => {
        const decoded = Buffer.from(text, 'base64');
        const { raw, release } = await rawOf(text, cuts, how);

        expect(raw.spooled).toBe(how === 'spooled');
        expect(await raw.exactDecodedLength()).toBe(decoded.length);
        expect((await collect(raw.decodedChunks())).equals(decoded)).toBe(true);
        release();
      });

      it.each([
        ['no padding', IMAGE],
        ['padding ==', IMAGE2],
        ['padding =', IMAGE3],
        ['padding == past a file read', LARGE],
        ['the padding left out', IMAGE2.replace(/=+$/, '')],
      ])('counts the bytes of a value with %s and no whitespace as decodedLength does', async (_what, text) => {
        const { raw, release } = await rawOf(text, [text.length - 1], how);

        expect(await raw.exactDecodedLength()).toBe(raw.decodedLength);
        expect(raw.decodedLength).toBe(Buffer.from(text, 'base64').length);
        release();
      });
    });

    it('counts a value the scanner kept, with spaces, as the bytes it decodes to', async () => {
      const spaced = lines(LARGE, ' ');
      const doc = Buffer.from(JSON.stringify({ b64_json: spaced }));
      for (const spool of [roomy(), spoolingAll()]) {
        const { scanner, result } = await scan(bySize(doc, 5000).chunks, ['b64_json'], spool);
        const raw = (result as { b64_json: RawJsonString }).b64_json;

        expect(raw).toBeInstanceOf(RawJsonString);
        expect(await raw.exactDecodedLength()).toBe(Buffer.from(LARGE, 'base64').length);
        scanner.discard();
      }
    });
  });

  describe('a document of many long values', () => {
    // 40 values of 4136 characters: more than the 32 one document keeps raw.
    const values = Array.from({ length: 40 }, () => base64(3102));
    const doc = Buffer.from(JSON.stringify({ created: 1, data: values.map((b64_json) => ({ b64_json })) }));
    const expected = JSON.parse(doc.toString()) as unknown;
    const first32 = [...Array<boolean>(32).fill(true), ...Array<boolean>(8).fill(false)];

    it('keeps the first 32 values raw and parses the others as strings, all as JSON.parse gives them', async () => {
      for (const { name, chunks } of [{ name: 'whole', chunks: [doc] }, bySize(doc, 1000), randomly(doc, 13, 5000)]) {
        const spool = roomy();
        const { scanner, result } = await scan(chunks, ['b64_json'], spool);
        const { data } = result as { data: Array<{ b64_json: unknown }> };

        expect({ chunking: name, raw: data.map(({ b64_json }) => b64_json instanceof RawJsonString) }).toEqual({
          chunking: name,
          raw: first32,
        });
        expect(data.slice(32).every(({ b64_json }) => typeof b64_json === 'string')).toBe(true);
        expect(plain(result)).toEqual(expected);
        expect(spool.memoryBytes).toBe(32 * values[0]!.length);
        scanner.discard();
        expect(spool.memoryBytes).toBe(0);
      }
    });

    it('makes a file for 32 values at most when every kept value is spooled', async () => {
      let files = 0;
      const spool = Object.assign(spoolingAll(), { onFileCreated: () => files++ });

      const { scanner, result } = await scan(bySize(doc, 4096).chunks, ['b64_json'], spool);

      expect(files).toBe(32);
      expect(raws(result)).toHaveLength(32);
      expect(raws(result).every((value) => value.spooled)).toBe(true);
      expect(plain(result)).toEqual(expected);
      scanner.discard();
    });

    it('stops looking after 256 values of its keys, kept or not, and parses the rest as JSON.parse does', async () => {
      // 300 short values (never kept), then a long one: looked at no more, so a plain string.
      const shorts = Array.from({ length: 300 }, (_, index) => ({ b64_json: `c2hvcnQ${index}` }));
      const many = Buffer.from(JSON.stringify({ data: [...shorts, { b64_json: IMAGE }] }));
      const spool = roomy();

      const { scanner, result } = await scan([many], ['b64_json'], spool);

      expect(raws(result)).toHaveLength(0);
      expect(plain(result)).toEqual(JSON.parse(many.toString()));
      expect(spool.memoryBytes).toBe(0);
      scanner.discard();
    });
  });

  describe('a deeply nested document', () => {
    // Deeper than a JSON.parse reviver recurses without overflowing the stack; JSON.parse alone parses it.
    const depth = 20_000;
    const doc = Buffer.from(`{"b64_json":"c2hvcnQ=","deep":${'['.repeat(depth)}${']'.repeat(depth)}}`);

    /** How deep the arrays go, counted without recursion. */
    function depthOf(value: unknown): number {
      let levels = 0;
      for (let at = value; Array.isArray(at); at = (at as unknown[])[0]) levels++;
      return levels;
    }

    it('parses as JSON.parse does when no value is kept raw', async () => {
      for (const spool of [roomy(), spoolingAll()]) {
        for (const { name, chunks } of [{ name: 'whole', chunks: [doc] }, bySize(doc, 4096)]) {
          const { scanner, result } = await scan(chunks, ['b64_json'], spool);
          const { b64_json, deep } = result as { b64_json: unknown; deep: unknown };

          expect({ chunking: name, b64_json, depth: depthOf(deep) }).toEqual({
            chunking: name,
            b64_json: 'c2hvcnQ=',
            depth,
          });
          scanner.discard();
        }
      }
    });
  });

  describe(`with ${stringifyJson.name}`, () => {
    it('streams the document with spooled and in-memory values as the bytes JSON.stringify gives', async () => {
      const document = {
        created: 1,
        data: [
          { b64_json: IMAGE, revised_prompt: 'un chat — “quoted” 🐈 with a \\ backslash' },
          { b64_json: LARGE, revised_prompt: 'second' },
          { b64_json: IMAGE3 },
        ],
        usage: { total_tokens: 3 },
      };
      const doc = Buffer.from(JSON.stringify(document));
      for (const memoryBytes of [0, 10_000]) {
        const spool = new ByteSpool({ memoryBytes, dir });
        const { scanner, result } = await scan(randomly(doc, 12, 4000).chunks, ['b64_json'], spool);
        expect(raws(result).map((value) => value.spooled)).toEqual(
          memoryBytes === 0 ? [true, true, true] : [false, true, true],
        );

        const spliced = stringifyJson(result);

        expect(spliced).toBeInstanceOf(SplicedJson);
        const { byteLength } = spliced as SplicedJson;
        const stream = (spliced as SplicedJson).toStream();
        const streamed = await collect(stream);
        expect(streamed.equals(Buffer.from(JSON.stringify(document)))).toBe(true);
        expect(byteLength).toBe(streamed.length);
        expect(Buffer.concat((spliced as SplicedJson).inMemory()).equals(streamed)).toBe(true);
        scanner.discard();
      }
    });
  });

  describe('discarding', () => {
    it('gives the memory back and closes the spooled values', async () => {
      const doc = Buffer.from(JSON.stringify({ data: [{ b64_json: IMAGE }, { b64_json: IMAGE2 }] }));
      const spool = new ByteSpool({ memoryBytes: 10_000, dir });
      const { scanner, result } = await scan([doc], ['b64_json'], spool);
      const [inMemory, spooled] = raws(result);
      expect(inMemory!.spooled).toBe(false);
      expect(spool.memoryBytes).toBe(IMAGE.length);
      expect(spooled!.spooled).toBe(true);

      scanner.discard();

      expect(spool.memoryBytes).toBe(0);
      await expect(collect(spooled!.chunks())).rejects.toThrow('the spooled file is closed');
      expect(() => spooled!.toString()).toThrow('the spooled file is closed');
    });

    it('lets go of a value still arriving', async () => {
      const doc = Buffer.from(JSON.stringify({ data: [{ b64_json: IMAGE }] }));
      const spool = roomy();
      const scanner = new RawJsonScanner(['b64_json'], spool);
      await scanner.write(doc.subarray(0, 5000));
      expect(spool.memoryBytes).toBeGreaterThan(0);

      scanner.discard();

      expect(spool.memoryBytes).toBe(0);
    });

    it('keeps a held spooled value readable until its hold is let go of', async () => {
      const doc = Buffer.from(JSON.stringify({ b64_json: IMAGE }));
      const { scanner, result } = await scan([doc], ['b64_json'], spoolingAll());
      const value = (result as { b64_json: RawJsonString }).b64_json;
      const letGo = value.hold();

      scanner.discard();

      expect((await collect(value.chunks())).toString('latin1')).toBe(IMAGE);
      letGo();
      await expect(collect(value.chunks())).rejects.toThrow('the spooled file is closed');
    });
  });
});
