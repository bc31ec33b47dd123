import { isStorableText } from '../common/validation/input-scan.js';

/**
 * Text as PostgreSQL can store it in a usage record: NUL characters removed (a text value cannot
 * hold U+0000), lone surrogate halves replaced by U+FFFD (they have no UTF-8 form), and at most
 * `maxChars` characters (code points, as varchar(n) counts them; a pair is never split).
 */
export function storableText(value: string, maxChars = Number.POSITIVE_INFINITY): string {
  let text = isStorableText(value) ? value : value.replaceAll('\u0000', '').toWellFormed();
  if (text.length > maxChars) {
    const chars = Array.from(text);
    if (chars.length > maxChars) text = chars.slice(0, maxChars).join('');
  }
  return text;
}
