import { type DayRow, MAX_SERIES, rangeWindow, stackSeries } from '../../web/src/usage-days.js';

/** The console overview's days and series (web/src/usage-days.ts), around the UTC calendar's edges. */
describe('rangeWindow', () => {
  it('gives the last N days up to a minute after now, today included', () => {
    const now = new Date('2026-12-04T20:30:00.000Z');
    const week = rangeWindow('7d', now);
    expect(week.from).toBe('2026-11-28T00:00:00.000Z');
    expect(week.to).toBe('2026-12-04T20:31:00.000Z');
    expect(week.days).toEqual([
      '2026-11-28',
      '2026-11-29',
      '2026-11-30',
      '2026-12-01',
      '2026-12-02',
      '2026-12-03',
      '2026-12-04',
    ]);
    expect(rangeWindow('90d', now).days).toHaveLength(90);
  });

  it('gives this month on its first day as that day alone', () => {
    const window = rangeWindow('month', new Date('2026-12-01T00:00:05.000Z'));
    expect(window).toEqual({ from: '2026-12-01T00:00:00.000Z', to: '2026-12-01T00:01:05.000Z', days: ['2026-12-01'] });
  });

  it('gives last month from January as the whole of the December before, leap Februaries as 29 days', () => {
    const december = rangeWindow('last-month', new Date('2027-01-15T12:00:00.000Z'));
    expect(december.from).toBe('2026-12-01T00:00:00.000Z');
    expect(december.to).toBe('2027-01-01T00:00:00.000Z');
    expect(december.days).toHaveLength(31);
    expect(december.days.at(-1)).toBe('2026-12-31');
    expect(rangeWindow('last-month', new Date('2028-03-01T00:00:00.000Z')).days).toHaveLength(29);
  });

  it('counts days in UTC whatever the time of day', () => {
    expect(rangeWindow('7d', new Date('2026-12-04T23:59:59.999Z')).days.at(-1)).toBe('2026-12-04');
    expect(rangeWindow('7d', new Date('2026-12-05T00:00:00.000Z')).days.at(-1)).toBe('2026-12-05');
  });
});

describe('stackSeries', () => {
  const days = ['2026-12-01', '2026-12-02', '2026-12-03'];
  const row = (group: string, split: string, cost: string, requests = 1): DayRow => ({
    group,
    split,
    requests,
    images: requests * 2,
    cost_usd: cost,
  });

  it('makes one series per split, largest first, with 0 on days without a row', () => {
    const series = stackSeries(
      [row('2026-12-01', 'small', '0.5'), row('2026-12-02', 'big', '3'), row('2026-12-03', 'big', '1.25')],
      days,
      'cost',
      (split) => `model ${split}`,
    );
    expect(series).toEqual([
      { label: 'model big', values: [0, 3, 1.25] },
      { label: 'model small', values: [0.5, 0, 0] },
    ]);
  });

  it('draws requests or images on request, and leaves out rows outside the days', () => {
    const rows = [row('2026-12-01', 'a', '9', 4), row('2026-11-30', 'a', '9', 100)];
    expect(stackSeries(rows, days, 'requests', String)).toEqual([{ label: 'a', values: [4, 0, 0] }]);
    expect(stackSeries(rows, days, 'images', String)).toEqual([{ label: 'a', values: [8, 0, 0] }]);
  });

  it(`sums the splits beyond the ${MAX_SERIES} largest as Other`, () => {
    const rows = Array.from({ length: MAX_SERIES + 3 }, (_, index) =>
      row('2026-12-02', `m${index}`, String(100 - index)),
    );
    const series = stackSeries(rows, days, 'cost', String);
    expect(series).toHaveLength(MAX_SERIES + 1);
    expect(series.slice(0, MAX_SERIES).map((one) => one.label)).toEqual(
      Array.from({ length: MAX_SERIES }, (_, index) => `m${index}`),
    );
    // 93 + 92 + 91: the three smallest.
    expect(series.at(-1)).toEqual({ label: 'Other', values: [0, 276, 0] });
  });
});
