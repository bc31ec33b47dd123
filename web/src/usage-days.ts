/**
 * The overview's arithmetic, apart from the page so that it is tested (test/web/): the UTC days of
 * a range, and a report's (day, split) rows as chart series. No imports: the tests compile it
 * with the server's settings.
 */

const DAY_MS = 86_400_000;

export const RANGES = {
  '7d': 'Last 7 days',
  '30d': 'Last 30 days',
  '90d': 'Last 90 days',
  month: 'This month',
  'last-month': 'Last month',
} as const;
export type Range = keyof typeof RANGES;
export type Metric = 'cost' | 'requests' | 'images';

/** Series beyond these many are summed as "Other". */
export const MAX_SERIES = 7;

/**
 * [from, to) of a range as ISO times, and its UTC days. A range that reaches today ends a minute
 * after `now` (a server whose clock is a little ahead of the browser's still counts everything).
 */
export function rangeWindow(range: Range, now: Date): { from: string; to: string; days: string[] } {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const monthStart = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
  const [from, to] =
    range === 'month'
      ? [monthStart, today + DAY_MS]
      : range === 'last-month'
        ? [Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1), monthStart]
        : [today - (Number(range.slice(0, -1)) - 1) * DAY_MS, today + DAY_MS];
  const days: string[] = [];
  for (let day = from; day < to; day += DAY_MS) days.push(new Date(day).toISOString().slice(0, 10));
  return { from: iso(from), to: iso(Math.min(to, now.getTime() + 60_000)), days };
}

const iso = (ms: number) => new Date(ms).toISOString();

/** A report row as the chart reads it (`GET /admin/usage?group_by=day&split_by=…`). */
export interface DayRow {
  group: string;
  split?: string;
  requests: number;
  images: number;
  cost_usd: string;
}

export interface Series {
  label: string;
  /** One value per day of `days`. */
  values: number[];
}

/**
 * One series per split value, largest first; the smallest beyond MAX_SERIES summed as "Other".
 * Days without a row are 0 (the report leaves out what has no requests). The values are for
 * drawing only: costs as floating point, never stored or summed for a total.
 */
export function stackSeries(
  rows: readonly DayRow[],
  days: readonly string[],
  metric: Metric,
  name: (split: string) => string,
): Series[] {
  const dayIndex = new Map(days.map((day, index) => [day, index]));
  const bySplit = new Map<string, number[]>();
  for (const row of rows) {
    const index = dayIndex.get(row.group);
    if (index === undefined) continue;
    const split = row.split ?? '(all)';
    const values = bySplit.get(split) ?? days.map(() => 0);
    values[index]! += metric === 'cost' ? Number(row.cost_usd) : metric === 'requests' ? row.requests : row.images;
    bySplit.set(split, values);
  }
  const total = (values: number[]) => values.reduce((sum, value) => sum + value, 0);
  const sorted = [...bySplit.entries()].sort((a, b) => total(b[1]) - total(a[1]));
  const series = sorted.slice(0, MAX_SERIES).map(([split, values]) => ({ label: name(split), values }));
  const rest = sorted.slice(MAX_SERIES);
  if (rest.length > 0)
    series.push({ label: 'Other', values: days.map((_, index) => total(rest.map(([, values]) => values[index]!))) });
  return series;
}
