/** Display only: amounts arrive as exact decimal strings and are shown rounded, never summed here. */

/** "0.040000000000" → "$0.04"; small amounts keep four significant digits ("$0.0001234"). */
export function usd(value: string | null | undefined): string {
  if (value === null || value === undefined) return '—';
  const amount = Number(value);
  if (!Number.isFinite(amount)) return value;
  if (amount === 0) return '$0';
  const abs = Math.abs(amount);
  const digits = abs >= 1 ? 2 : Math.min(12, Math.max(2, 1 - Math.floor(Math.log10(abs)) + 2));
  return `${amount < 0 ? '−' : ''}$${abs.toLocaleString('en-US', { minimumFractionDigits: abs >= 1 ? 2 : 0, maximumFractionDigits: digits })}`;
}

export function count(value: number): string {
  return value.toLocaleString('en-US');
}

export function percent(part: number, whole: number): string {
  if (whole === 0) return '—';
  const share = (100 * part) / whole;
  return `${share < 10 && share > 0 ? share.toFixed(1) : Math.round(share)}%`;
}

/** "2026-12-04T10:15:02.123Z" → "2026-12-04 10:15:02 UTC" (reports are in UTC). */
export function dateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
}

export function day(iso: string | null | undefined): string {
  return iso ? iso.slice(0, 10) : '—';
}

export function ms(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—';
  return value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${count(value)} ms`;
}
