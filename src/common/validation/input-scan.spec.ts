import { ErrorCode } from '../errors/error-code.enum.js';
import { isStorableText, MAX_INPUT_DEPTH, printable, scanInput } from './input-scan.js';

/** `depth` arrays inside one another around `leaf`, built without recursion. */
function nestedArrays(depth: number, leaf: unknown = 1): unknown {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

describe('isStorableText', () => {
  it.each([
    ['plain text', 'a watercolour otter', true],
    ['the empty string', '', true],
    ['controls other than NUL', 'bell\u0007 esc\u001b del\u007f', true],
    ['a surrogate pair (emoji)', 'otter 🦦', true],
    ['U+FFFD and noncharacters', '\ufffd\ufffe\uffff', true],
    ['NUL', 'a\u0000b', false],
    ['a lone high surrogate', 'a\ud83d', false],
    ['a lone low surrogate', '\udca6b', false],
    ['a pair in the wrong order', '\udca6\ud83d', false],
  ])('%s is storable: %p', (_what, value, storable) => {
    expect(isStorableText(value)).toBe(storable);
  });
});

describe('printable', () => {
  it('replaces NUL and lone surrogates with U+FFFD and keeps the rest', () => {
    expect(printable('a\u0000b\ud83dc 🦦')).toBe('a\ufffdb\ufffdc 🦦');
    expect(printable('plain')).toBe('plain');
  });
});

describe('scanInput', () => {
  it('finds nothing wrong with an ordinary body', () => {
    const body = {
      model: 'm',
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:,' } }] }],
      n: 1,
      stream: null,
    };

    expect(scanInput(body)).toBeUndefined();
  });

  it('names the path of a value with a NUL', () => {
    expect(
      scanInput({
        model: 'm',
        messages: [
          { role: 'user', content: 'ok' },
          { role: 'user', content: 'x\u0000' },
        ],
      }),
    ).toEqual({
      path: 'messages[1].content',
      message: expect.stringContaining("'messages[1].content' contains a character"),
      code: ErrorCode.InvalidRequest,
    });
  });

  it('names a field name with a NUL, made printable', () => {
    const problem = scanInput({ ok: 1, ['bad\u0000name']: 1 });

    expect(problem).toMatchObject({ path: 'bad\ufffdname', code: ErrorCode.InvalidRequest });
    expect(problem!.message).not.toContain('\u0000');
  });

  it('reports a field named like an Object.prototype member as an unknown field', () => {
    expect(scanInput(JSON.parse('{"a":{"__proto__":{"x":1}}}'))).toMatchObject({
      path: 'a.__proto__',
      code: ErrorCode.UnknownField,
    });
    expect(scanInput({ a: [{ constructor: 1 }] })).toMatchObject({
      path: 'a[0].constructor',
      code: ErrorCode.UnknownField,
    });
  });

  it('reports the first problem in document order', () => {
    expect(scanInput({ a: { b: 'x\u0000' }, toString: 1 })).toMatchObject({ path: 'a.b' });
    expect(scanInput({ a: 'ok', toString: 1, c: '\u0000' })).toMatchObject({ path: 'toString' });
  });

  it(`takes ${MAX_INPUT_DEPTH} levels and refuses one more`, () => {
    expect(scanInput(nestedArrays(MAX_INPUT_DEPTH))).toBeUndefined();
    expect(scanInput(nestedArrays(MAX_INPUT_DEPTH + 1))).toMatchObject({
      path: '[0]'.repeat(MAX_INPUT_DEPTH),
      code: ErrorCode.InvalidRequest,
    });
    expect(scanInput({ a: nestedArrays(MAX_INPUT_DEPTH) })).toMatchObject({
      path: `a${'[0]'.repeat(MAX_INPUT_DEPTH - 1)}`,
    });
  });

  it('refuses 100,000 levels without exhausting the stack', () => {
    const problem = scanInput({ deep: nestedArrays(100_000) });

    expect(problem?.message).toMatch(/nested too deeply/);
    expect(problem?.path.startsWith('deep[0][0]')).toBe(true);
  });

  it('starts paths at the parameter name it is given', () => {
    expect(scanInput('a\u0000', 'id')).toMatchObject({ path: 'id' });
    expect(scanInput({ team: ['a', '\u0000'] })).toMatchObject({ path: 'team[1]' });
  });

  it('walks a wide body (200,000 objects) and finds nothing wrong', () => {
    const wide = { items: Array.from({ length: 200_000 }, (_, i) => ({ id: i, text: 'x'.repeat(10) })) };

    expect(scanInput(wide)).toBeUndefined();
  });
});
