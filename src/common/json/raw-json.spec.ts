import { randomBytes } from 'node:crypto';
import { concatJsonText, parseJsonKeepingRaw, RawJsonString, SplicedJson, stringifyJson } from './raw-json.js';

const IMAGE = randomBytes(9000).toString('base64');
const body = (value: unknown) => Buffer.from(JSON.stringify(value));

describe(parseJsonKeepingRaw.name, () => {
  it('keeps a long value of a named key as the bytes of the body, and parses the rest', () => {
    const source = body({ created: 1, data: [{ b64_json: IMAGE }], usage: { output_tokens: 272 } });

    const parsed = parseJsonKeepingRaw(source, ['b64_json']) as {
      created: number;
      data: Array<{ b64_json: unknown }>;
      usage: object;
    };

    expect(parsed.created).toBe(1);
    expect(parsed.usage).toEqual({ output_tokens: 272 });
    const raw = parsed.data[0]!.b64_json as RawJsonString;
    expect(raw).toBeInstanceOf(RawJsonString);
    expect(raw.toString()).toBe(IMAGE);
    // A slice of the body, not a copy.
    expect((raw.parts[0] as Buffer).buffer).toBe(source.buffer);
  });

  it('finds every occurrence, of several keys, with whitespace around the colon', () => {
    const other = randomBytes(6000).toString('base64');
    const source = Buffer.from(
      `{ "data" : [ { "b64_json" :\n "${IMAGE}" }, { "b64_json":"${other}" } ], "inline": { "data":\t"${other}" } }`,
    );

    const parsed = parseJsonKeepingRaw(source, ['b64_json', 'data']) as {
      data: Array<{ b64_json: RawJsonString }>;
      inline: { data: RawJsonString };
    };

    expect(parsed.data.map((item) => item.b64_json.toString())).toEqual([IMAGE, other]);
    expect(parsed.inline.data).toBeInstanceOf(RawJsonString);
    expect(parsed.inline.data.toString()).toBe(other);
  });

  it('parses as usual what is short, escaped, not ASCII, or not a string', () => {
    const escaped = `${IMAGE.slice(0, 5000)}\\/${IMAGE.slice(5000)}`;
    const source = Buffer.from(
      `{"a":{"b64_json":"c2hvcnQ="},"b":{"b64_json":"${escaped}"},"c":{"b64_json":"${'é'.repeat(5000)}"},"d":{"b64_json":12}}`,
    );

    const parsed = parseJsonKeepingRaw(source, ['b64_json']);

    expect(parsed).toEqual({
      a: { b64_json: 'c2hvcnQ=' },
      b: { b64_json: `${IMAGE.slice(0, 5000)}/${IMAGE.slice(5000)}` },
      c: { b64_json: 'é'.repeat(5000) },
      d: { b64_json: 12 },
    });
  });

  it('does not mistake a key quoted inside another string for a property', () => {
    const text = `say \\"b64_json\\":\\"${IMAGE}\\"`;
    const source = Buffer.from(`{"text":"${text}"}`);

    expect(parseJsonKeepingRaw(source, ['b64_json'])).toEqual({ text: `say "b64_json":"${IMAGE}"` });
  });

  it.each([
    ['a tab', '\t'],
    ['a line feed', '\n'],
    ['a NUL', '\u0000'],
    ['a unit separator', '\u001f'],
  ])('strict: leaves a value with %s in it to JSON.parse, which refuses it as it would the whole', (_what, control) => {
    const source = Buffer.from(`{"b64_json":"${IMAGE.slice(0, 5000)}${control}${IMAGE.slice(5000)}"}`);

    expect(() => parseJsonKeepingRaw(source, ['b64_json'], { strict: true })).toThrow(SyntaxError);
    // Not strict, such a value is passed on as it came.
    expect(parseJsonKeepingRaw(source, ['b64_json'])).toEqual({ b64_json: expect.any(RawJsonString) });
  });

  it('strict: still keeps a plain value raw', () => {
    const parsed = parseJsonKeepingRaw(body({ b64_json: IMAGE }), ['b64_json'], { strict: true }) as {
      b64_json: RawJsonString;
    };

    expect(parsed.b64_json).toBeInstanceOf(RawJsonString);
    expect(parsed.b64_json.toString()).toBe(IMAGE);
  });

  it('still refuses a body that is not JSON', () => {
    expect(() => parseJsonKeepingRaw(Buffer.from(`{"b64_json":"${IMAGE}",}`), ['b64_json'])).toThrow(SyntaxError);
    expect(() => parseJsonKeepingRaw(Buffer.from(`{"b64_json":"${IMAGE}`), ['b64_json'])).toThrow(SyntaxError);
  });
});

describe(stringifyJson.name, () => {
  it('is JSON.stringify when nothing is raw', () => {
    const value = { a: 'x', b: [1, null, { c: 'é"\\' }] };

    expect(stringifyJson(value)).toBe(JSON.stringify(value));
  });

  it('splices raw strings in as their bytes, giving the JSON the plain strings would', () => {
    const other = randomBytes(7000).toString('base64');
    const parsed = parseJsonKeepingRaw(body({ data: [{ b64_json: IMAGE }, { b64_json: other }] }), ['b64_json']) as {
      data: Array<{ b64_json: RawJsonString }>;
    };
    const response = {
      created: 7,
      data: parsed.data.map((item) => ({ b64_json: item.b64_json })),
      note: 'ok "quoted"',
    };

    const written = stringifyJson(response) as SplicedJson;

    expect(written).toBeInstanceOf(SplicedJson);
    expect(written.pieces).toContain(parsed.data[0]!.b64_json.parts[0]);
    expect(written.byteLength).toBe(Buffer.concat(written.inMemory()).length);
    expect(Buffer.concat(written.inMemory()).toString()).toBe(
      JSON.stringify({ created: 7, data: [{ b64_json: IMAGE }, { b64_json: other }], note: 'ok "quoted"' }),
    );
  });

  it('leaves a client string that merely looks like a marker alone', () => {
    const raw = parseJsonKeepingRaw(body({ b64_json: IMAGE }), ['b64_json']) as { b64_json: RawJsonString };
    const value = { user: '\u0000raw:0000000000000000:0', image: raw.b64_json };

    expect(JSON.parse(Buffer.concat((stringifyJson(value) as SplicedJson).inMemory()).toString())).toEqual({
      user: '\u0000raw:0000000000000000:0',
      image: IMAGE,
    });
  });

  it('lets plain JSON.stringify write a raw string as the string', () => {
    const raw = parseJsonKeepingRaw(body({ b64_json: IMAGE }), ['b64_json']);

    expect(JSON.stringify(raw)).toBe(JSON.stringify({ b64_json: IMAGE }));
  });
});

describe(concatJsonText.name, () => {
  const raw = (parseJsonKeepingRaw(body({ b64_json: IMAGE }), ['b64_json']) as { b64_json: RawJsonString }).b64_json;

  it('stays raw when the other parts are plain', () => {
    const joined = concatJsonText('data:image/png;base64,', raw);

    expect(joined).toBeInstanceOf(RawJsonString);
    expect(joined.toString()).toBe(`data:image/png;base64,${IMAGE}`);
    expect(Buffer.concat((stringifyJson({ url: joined }) as SplicedJson).inMemory()).toString()).toBe(
      JSON.stringify({ url: `data:image/png;base64,${IMAGE}` }),
    );
  });

  it('becomes a string when a part would need escaping', () => {
    expect(concatJsonText('data:image/"png";base64,', raw)).toBe(`data:image/"png";base64,${IMAGE}`);
  });

  it('is plain concatenation of strings', () => {
    expect(concatJsonText('a', 'b')).toBe('ab');
  });
});

describe(`${RawJsonString.name}.decodeBase64`, () => {
  const rawOf = (text: string, split = [text.length]) => {
    const bytes = Buffer.from(text, 'latin1');
    const parts: Buffer[] = [];
    let from = 0;
    for (const to of split) {
      parts.push(bytes.subarray(from, to));
      from = to;
    }
    return new RawJsonString(parts);
  };

  it.each([
    ['a multiple of the slice', randomBytes(3 * 64 * 1024)],
    ['with padding', randomBytes(200_001)],
    ['short', randomBytes(5)],
  ])('decodes what Buffer.from decodes: %s', (_what, bytes) => {
    const text = bytes.toString('base64');

    expect(rawOf(text).decodeBase64().equals(bytes)).toBe(true);
    expect(rawOf(text, [7, 70_001, text.length]).decodeBase64().equals(bytes)).toBe(true);
  });

  it('falls back to one decode when the text holds characters that are not base64', () => {
    const bytes = randomBytes(150_000);
    const text = bytes.toString('base64');
    const spaced = `${text.slice(0, 1001)} ${text.slice(1001)}`;

    expect(rawOf(spaced).decodeBase64().equals(Buffer.from(spaced, 'base64'))).toBe(true);
    expect(rawOf(spaced).decodeBase64().equals(bytes)).toBe(true);
  });
});
