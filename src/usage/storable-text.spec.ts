import { storableText } from './storable-text.js';

describe(storableText.name, () => {
  it('returns text PostgreSQL can store as it is', () => {
    const text = 'a watercolour otter 🦦, naïve';
    expect(storableText(text, 200)).toBe(text);
  });

  it('removes NUL characters', () => {
    expect(storableText('\u0000')).toBe('');
    expect(storableText('gpt\u0000-image\u0000', 200)).toBe('gpt-image');
  });

  it('replaces lone surrogate halves with U+FFFD and keeps pairs', () => {
    expect(storableText('a\uD800b\uDC00c🦦')).toBe('a\uFFFDb\uFFFDc🦦');
    expect(storableText('\uDBFF')).toBe('\uFFFD');
  });

  it('clips to a number of characters (code points, as varchar(n) counts them), never splitting a pair', () => {
    expect(storableText('abcdef', 4)).toBe('abcd');
    expect(storableText('🦦🦦🦦', 2)).toBe('🦦🦦');
    expect(storableText('ab🦦', 3)).toBe('ab🦦');
    expect(storableText('a\u0000'.repeat(300), 200)).toBe('a'.repeat(200));
  });
});
