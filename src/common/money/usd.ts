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
