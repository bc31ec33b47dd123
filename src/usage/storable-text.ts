/** NUL, and UTF-16 surrogates (paired or lone: a pair needs a closer look). */
const SUSPECT = /[\u0000\uD800-\uDFFF]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Text as PostgreSQL can store it in a usage record: NUL characters removed (a text value cannot
 * hold U+0000), lone surrogate halves replaced by U+FFFD (they have no UTF-8 form), and at most
 * `maxChars` characters (code points, as varchar(n) counts them; a pair is never split).
 */
export function storableText(value: string, maxChars = Number.POSITIVE_INFINITY): string {
  if (value.length <= maxChars && !SUSPECT.test(value)) return value;
  let text = value.replaceAll('\u0000', '').replace(LONE_SURROGATE, '\uFFFD');
  if (text.length > maxChars) {
    const chars = Array.from(text);
    if (chars.length > maxChars) text = chars.slice(0, maxChars).join('');
  }
  return text;
}
