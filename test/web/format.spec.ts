import { count, dateTime, ms, percent, usd } from '../../web/src/format.js';

/** How the console shows numbers (web/src/format.ts): rounded for reading, the exact string kept elsewhere. */
describe('console formatting', () => {
  it.each([
    ['0', '$0'],
    ['0.000000000000', '$0'],
    ['0.04', '$0.04'],
    ['0.080000000000', '$0.08'],
    ['0.008709', '$0.008709'],
    ['0.000001234567', '$0.000001235'],
    ['1234.5', '$1,234.50'],
    ['5195.3349', '$5,195.33'],
    ['-2.5', '−$2.50'],
    ['not a number', 'not a number'],
  ])('shows %s USD as %s', (value, shown) => {
    expect(usd(value)).toBe(shown);
  });

  it('shows no amount as a dash', () => {
    expect(usd(null)).toBe('—');
    expect(usd(undefined)).toBe('—');
  });

  it('shows shares, counts, times and durations', () => {
    expect(percent(0, 0)).toBe('—');
    expect(percent(1, 3)).toBe('33%');
    expect(percent(29, 1000)).toBe('2.9%');
    expect(count(1234567)).toBe('1,234,567');
    expect(dateTime('2026-12-04T10:15:02.123Z')).toBe('2026-12-04 10:15:02 UTC');
    expect(ms(42)).toBe('42 ms');
    expect(ms(12_345)).toBe('12.3 s');
    expect(ms(null)).toBe('—');
  });
});
