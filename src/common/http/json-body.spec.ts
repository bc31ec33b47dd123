import { assertJsonShape, isBlank, MAX_JSON_DEPTH, MAX_JSON_TOKENS } from './json-body.js';

const shape = (text: string) => () => assertJsonShape(Buffer.from(text));

describe(assertJsonShape.name, () => {
  it(`accepts nesting up to ${MAX_JSON_DEPTH} levels and refuses one more, naming the limit`, () => {
    expect(shape(`${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}`)).not.toThrow();
    expect(shape(`${'{"a":'.repeat(MAX_JSON_DEPTH - 1)}[]${'}'.repeat(MAX_JSON_DEPTH - 1)}`)).not.toThrow();

    expect(shape(`${'['.repeat(MAX_JSON_DEPTH + 1)}${']'.repeat(MAX_JSON_DEPTH + 1)}`)).toThrow(
      expect.objectContaining({
        code: 'invalid_json',
        message: `The JSON body is nested deeper than ${MAX_JSON_DEPTH} levels.`,
      }),
    );
  });

  it('counts depth, not brackets: siblings do not add up', () => {
    expect(shape(`[${'[[[]]],'.repeat(1000)}[]]`)).not.toThrow();
  });

  it('ignores brackets and separators inside strings, escaped quotes included', () => {
    const text = JSON.stringify({ prompt: `${'[{'.repeat(5000)} \\" \\\\" ", ${':,'.repeat(MAX_JSON_TOKENS)}` });

    expect(shape(text)).not.toThrow();
    expect(shape(`{"a":"\\\\"${'['.repeat(MAX_JSON_DEPTH + 1)}`)).toThrow(/nested deeper/);
    expect(shape(`{"a":"\\"${'['.repeat(MAX_JSON_DEPTH + 1)}"}`)).not.toThrow();
  });

  it(`refuses more than ${MAX_JSON_TOKENS} values however flat`, () => {
    expect(shape(`[${'1,'.repeat(MAX_JSON_TOKENS - 2)}1]`)).not.toThrow();
    expect(shape(`[${'{},'.repeat(MAX_JSON_TOKENS)}{}]`)).toThrow(
      expect.objectContaining({
        code: 'invalid_json',
        message: expect.stringContaining(`more than ${MAX_JSON_TOKENS} values`),
      }),
    );
  });

  it('leaves malformed JSON to the parser (an unclosed string, stray closers)', () => {
    expect(shape('{"a": "never closed [[[[')).not.toThrow();
    expect(shape(`${']'.repeat(100)}[[`)).not.toThrow();
  });

  it('scans megabytes of string content (base64 images) without looking at each byte', () => {
    const image = Buffer.alloc(30 * 1024 * 1024, 'A').toString();
    expect(
      shape(
        `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,${image}"}}]}]}`,
      ),
    ).not.toThrow();
  });
});

describe(isBlank.name, () => {
  it('is true for nothing and JSON whitespace only', () => {
    expect(isBlank(Buffer.alloc(0))).toBe(true);
    expect(isBlank(Buffer.from(' \r\n\t'))).toBe(true);
    expect(isBlank(Buffer.from(' {} '))).toBe(false);
  });
});
