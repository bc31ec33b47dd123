/** The dates Easel takes: from 1970-01-01 to 9999-12-31 (UTC), which every store and client handles. */
export const EARLIEST_DATE = new Date('1970-01-01T00:00:00.000Z');
export const LATEST_DATE = new Date('9999-12-31T23:59:59.999Z');

/**
 * ISO 8601 / RFC 3339 as APIs write it: a date (`2026-11-01`, midnight UTC), or a date and time
 * with optional seconds and fraction, and an offset (`Z`, `+01:00`, `+0100`); a time without an
 * offset is UTC.
 */
const ISO_8601 =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|([+-])(\d{2}):?(\d{2}))?)?$/i;

/**
 * The instant an ISO 8601 text names, or undefined when it is not one (no other format is guessed
 * at, unlike `new Date()`, and no field overflows into the next: `2026-02-30` is not March 2nd).
 * The year is not range-checked here; see `dateTimeProblem`.
 */
export function parseIsoDateTime(text: string): Date | undefined {
  const match = ISO_8601.exec(text);
  if (!match) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', fraction = '', zone, sign, offsetH = '0', offsetM = '0'] = match;
  const [year, month, day, hour, minute, second] = [y, mo, d, h, mi, s].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || hour > 23 || minute > 59 || second > 59)
    return undefined;
  if (Number(offsetH) > 23 || Number(offsetM) > 59) return undefined;
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, Number(fraction.padEnd(3, '0').slice(0, 3)));
  const offsetMinutes = zone && sign ? (sign === '-' ? -1 : 1) * (Number(offsetH) * 60 + Number(offsetM)) : 0;
  return new Date(date.getTime() - offsetMinutes * 60_000);
}

/** Why `value` (after `parseIsoDateTime`) is not a date Easel takes, or undefined when it is. */
export function dateTimeProblem(value: unknown): string | undefined {
  if (!(value instanceof Date) || Number.isNaN(value.getTime()))
    return 'must be an ISO 8601 date-time such as 2027-01-01T00:00:00Z';
  if (value < EARLIEST_DATE || value > LATEST_DATE) return 'must be between 1970-01-01 and 9999-12-31';
  return undefined;
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(2000, month, 0)).getUTCDate() - (month === 2 && !isLeap(year) ? 1 : 0);
}

function isLeap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}
