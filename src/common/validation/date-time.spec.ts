import { dateTimeProblem, EARLIEST_DATE, LATEST_DATE, parseIsoDateTime } from './date-time.js';

describe('parseIsoDateTime', () => {
  it.each([
    ['2026-11-01', '2026-11-01T00:00:00.000Z'],
    ['2026-11-01T10:20:30Z', '2026-11-01T10:20:30.000Z'],
    ['2026-11-01t10:20:30z', '2026-11-01T10:20:30.000Z'],
    ['2026-11-01T10:20Z', '2026-11-01T10:20:00.000Z'],
    ['2026-11-01T10:20:30.5Z', '2026-11-01T10:20:30.500Z'],
    ['2026-11-01T10:20:30.123456789Z', '2026-11-01T10:20:30.123Z'],
    ['2026-11-01T10:20:30+01:00', '2026-11-01T09:20:30.000Z'],
    ['2026-11-01T10:20:30-0230', '2026-11-01T12:50:30.000Z'],
    ['2026-11-01T10:20:30', '2026-11-01T10:20:30.000Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
    ['2000-02-29', '2000-02-29T00:00:00.000Z'],
    ['9999-12-31T23:59:59.999Z', '9999-12-31T23:59:59.999Z'],
    ['0001-01-01T00:00:00Z', '0001-01-01T00:00:00.000Z'],
  ])('reads %p as %p', (text, iso) => {
    expect(parseIsoDateTime(text)?.toISOString()).toBe(iso);
  });

  it.each([
    '-271821-04-20T00:00:00Z',
    '+275760-09-13T00:00:00Z',
    '10000-01-01T00:00:00Z',
    '2026-02-30',
    '2025-02-29',
    '1900-02-29',
    '2026-13-01',
    '2026-00-10',
    '2026-01-32',
    '2026-01-01T24:00:00Z',
    '2026-01-01T23:60:00Z',
    '2026-01-01T23:59:60Z',
    '2026-01-01T00:00:00+24:00',
    '2026-01-01T00:00:00+01:60',
    '2026-01-01 00:00:00Z',
    '2026-1-1',
    '2026',
    '1',
    'March 7, 2026',
    'Sat, 07 Mar 2026 00:00:00 GMT',
    '2026-01-01T00:00:00.Z',
    '2026-01-01T00:00:00Z ',
    '',
  ])('refuses %p', (text) => {
    expect(parseIsoDateTime(text)).toBeUndefined();
  });
});

describe('dateTimeProblem', () => {
  it('takes dates from 1970-01-01 to 9999-12-31', () => {
    expect(dateTimeProblem(EARLIEST_DATE)).toBeUndefined();
    expect(dateTimeProblem(LATEST_DATE)).toBeUndefined();
    expect(dateTimeProblem(new Date('2026-06-01T00:00:00Z'))).toBeUndefined();
  });

  it('refuses dates outside that range', () => {
    expect(dateTimeProblem(new Date(EARLIEST_DATE.getTime() - 1))).toMatch(/between 1970-01-01 and 9999-12-31/);
    expect(dateTimeProblem(new Date(LATEST_DATE.getTime() + 1))).toMatch(/between/);
    expect(dateTimeProblem(parseIsoDateTime('1970-01-01T00:00:00+01:00'))).toMatch(/between/);
  });

  it.each(['2026-01-01', 0, null, undefined, new Date(Number.NaN)])(
    'refuses %p, which is not a parsed date',
    (value) => {
      expect(dateTimeProblem(value)).toMatch(/ISO 8601 date-time/);
    },
  );
});
