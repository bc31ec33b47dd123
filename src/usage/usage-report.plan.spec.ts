import { planReport, type ReportPlan } from './usage-report.plan.js';

const at = (iso: string) => new Date(iso);

/** The plan with dates as ISO strings, easier to read in a failure. */
function plan(from: string, to: string, now: string) {
  const { rollupDays, records }: ReportPlan = planReport(at(from), at(to), at(now));
  return {
    rollupDays: rollupDays.map((range) => `${range.from.toISOString()}..${range.to.toISOString()}`),
    records: records.map(
      (range) => `${range.sign > 0 ? '+' : '-'}${range.from.toISOString()}..${range.to.toISOString()}`,
    ),
  };
}

describe(planReport.name, () => {
  it('answers whole days from the rollups only', () => {
    expect(plan('2026-11-01T00:00:00Z', '2026-12-01T00:00:00Z', '2026-12-04T12:00:00Z')).toEqual({
      rollupDays: ['2026-11-01T00:00:00.000Z..2026-12-01T00:00:00.000Z'],
      records: [],
    });
  });

  it("answers this month so far as the rollups up to tomorrow less today's records after now", () => {
    expect(plan('2026-12-01T00:00:00Z', '2026-12-04T17:00:00.000Z', '2026-12-04T17:00:00.000Z')).toEqual({
      rollupDays: ['2026-12-01T00:00:00.000Z..2026-12-05T00:00:00.000Z'],
      records: ['-2026-12-04T17:00:00.000Z..2026-12-05T00:00:00.000Z'],
    });
  });

  it('reads the records of a cut day when they are fewer than the rest of the day', () => {
    // 02:00 of a past day: two hours of records against twenty-two.
    expect(plan('2026-11-01T00:00:00Z', '2026-11-03T02:00:00Z', '2026-12-04T12:00:00Z')).toEqual({
      rollupDays: ['2026-11-01T00:00:00.000Z..2026-11-03T00:00:00.000Z'],
      records: ['+2026-11-03T00:00:00.000Z..2026-11-03T02:00:00.000Z'],
    });
    // From 20:00: four hours of records inside the window.
    expect(plan('2026-11-02T20:00:00Z', '2026-11-04T00:00:00Z', '2026-12-04T12:00:00Z')).toEqual({
      rollupDays: ['2026-11-03T00:00:00.000Z..2026-11-04T00:00:00.000Z'],
      records: ['+2026-11-02T20:00:00.000Z..2026-11-03T00:00:00.000Z'],
    });
  });

  it('takes the outside of a cut day away when it is the smaller part, on both sides', () => {
    expect(plan('2026-11-02T01:00:00Z', '2026-11-05T23:00:00Z', '2026-12-04T12:00:00Z')).toEqual({
      rollupDays: ['2026-11-02T00:00:00.000Z..2026-11-06T00:00:00.000Z'],
      records: [
        '-2026-11-02T00:00:00.000Z..2026-11-02T01:00:00.000Z',
        '-2026-11-05T23:00:00.000Z..2026-11-06T00:00:00.000Z',
      ],
    });
  });

  it('plans a window within one day either way', () => {
    expect(plan('2026-11-02T10:00:00Z', '2026-11-02T11:00:00Z', '2026-12-04T12:00:00Z')).toEqual({
      rollupDays: [],
      records: ['+2026-11-02T10:00:00.000Z..2026-11-02T11:00:00.000Z'],
    });
    expect(plan('2026-11-02T00:00:00.001Z', '2026-11-02T23:59:59.999Z', '2026-12-04T12:00:00Z')).toEqual({
      rollupDays: ['2026-11-02T00:00:00.000Z..2026-11-03T00:00:00.000Z'],
      records: [
        '-2026-11-02T00:00:00.000Z..2026-11-02T00:00:00.001Z',
        '-2026-11-02T23:59:59.999Z..2026-11-03T00:00:00.000Z',
      ],
    });
  });

  it('reads a window of the future from the records (there are none)', () => {
    expect(plan('2027-01-01T06:00:00Z', '2027-01-01T07:00:00Z', '2026-12-04T12:00:00Z')).toEqual({
      rollupDays: [],
      records: ['+2027-01-01T06:00:00.000Z..2027-01-01T07:00:00.000Z'],
    });
  });
});
