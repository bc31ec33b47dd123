/**
 * Exact money. Amounts are bigint pico-dollars (1e-12 USD): a price per million tokens with up to
 * six decimals times a whole number of tokens is always a whole number of pico-dollars, so no
 * float ever touches a stored amount. PostgreSQL stores them as numeric(20,12).
 */
export type Pico = bigint;

export const USD_SCALE = 12;
const FACTOR = 10n ** BigInt(USD_SCALE);
const DECIMAL = /^(\d{1,9})(?:\.(\d{1,12}))?$/;

/** "0.0425" → 42_500_000_000n. Rejects negatives, exponents and more than 12 decimals. */
export function parseUsd(value: string): Pico {
  const match = DECIMAL.exec(value.trim());
  if (!match) throw new Error(`not a non-negative USD amount with at most ${USD_SCALE} decimals: "${value}"`);
  const [, whole, fraction = ''] = match;
  return BigInt(whole!) * FACTOR + BigInt(fraction.padEnd(USD_SCALE, '0'));
}

/** 42_500_000_000n → "0.0425" (no trailing zeros, at least one integer digit). */
export function formatUsd(amount: Pico): string {
  const sign = amount < 0n ? '-' : '';
  const abs = amount < 0n ? -amount : amount;
  const whole = abs / FACTOR;
  const fraction = (abs % FACTOR).toString().padStart(USD_SCALE, '0').replace(/0+$/, '');
  return `${sign}${whole}${fraction ? `.${fraction}` : ''}`;
}

/** The numeric(20,12) text PostgreSQL stores: "0.042500000000". */
export function toNumericString(amount: Pico): string {
  const abs = amount < 0n ? -amount : amount;
  return `${amount < 0n ? '-' : ''}${abs / FACTOR}.${(abs % FACTOR).toString().padStart(USD_SCALE, '0')}`;
}

/**
 * The decimal text of a JSON number, exponent written out: its shortest round-trip form, which is
 * all `JSON.parse` kept of what the client wrote (5.1 → "5.1", 1e-7 → "0.0000001",
 * 1e21 → "1000000000000000000000"). A number that has no such text (NaN, ±Infinity) gives
 * undefined; -0 gives "0".
 */
export function decimalOfNumber(value: number): string | undefined {
  if (!Number.isFinite(value)) return undefined;
  const text = String(value);
  const match = /^(-?)(\d+)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (!match) return text;
  const [, sign, whole, fraction = '', exponent] = match;
  const digits = `${whole}${fraction}`;
  const point = whole!.length + Number(exponent);
  const plain =
    point <= 0
      ? `0.${'0'.repeat(-point)}${digits}`
      : point >= digits.length
        ? `${digits}${'0'.repeat(point - digits.length)}`
        : `${digits.slice(0, point)}.${digits.slice(point)}`;
  return `${sign}${plain}`;
}

/** How many digits a money column holds before and after the decimal point (at most 9 and 12: what `parseUsd` reads). */
export interface UsdDigits {
  integer: number;
  fraction: number;
}

/** numeric(20,12): budgets, spend and usage costs. */
export const NUMERIC_20_12: UsdDigits = { integer: 8, fraction: 12 };

const PLAIN_DECIMAL = /^(\d+)(?:\.(\d+))?$/;

/**
 * Why `value` (a decimal string, or a JSON number's `decimalOfNumber`) is not an amount that fits
 * `digits`, or undefined when it is. Leading zeros and trailing fractional zeros do not count;
 * nothing is ever rounded.
 */
export function usdAmountProblem(value: unknown, digits: UsdDigits): string | undefined {
  if (typeof value !== 'string') return 'must be a decimal string such as "12.50" or a JSON number';
  if (value.startsWith('-')) return 'must not be negative';
  const match = PLAIN_DECIMAL.exec(value);
  if (!match)
    return 'must be a decimal string such as "12.50" or a JSON number (digits and one decimal point; no sign, exponent or spaces)';
  const whole = match[1]!.replace(/^0+(?=\d)/, '');
  const fraction = (match[2] ?? '').replace(/0+$/, '');
  if (whole.length > digits.integer) {
    return `has more than ${digits.integer} digits before the decimal point (at most ${'9'.repeat(digits.integer)}.${'9'.repeat(digits.fraction)})`;
  }
  if (fraction.length > digits.fraction)
    return `has more than ${digits.fraction} decimals (the most that is stored; amounts are never rounded)`;
  return undefined;
}

/** An amount `usdAmountProblem` accepted, in its shortest form: "0007.50" → "7.5". */
export function canonicalUsd(value: string): string {
  return formatUsd(
    parseUsd(
      value
        .replace(/^0+(?=\d)/, '')
        .replace(/(\.\d*?)0+$/, '$1')
        .replace(/\.$/, ''),
    ),
  );
}
