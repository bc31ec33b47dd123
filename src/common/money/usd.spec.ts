import { formatUsd, parseUsd, toNumericString, USD_SCALE } from './usd.js';

describe('parseUsd', () => {
  it('parses a decimal string into exact pico-dollars', () => {
    expect(parseUsd('0.0425')).toBe(42_500_000_000n);
    expect(parseUsd('5.00')).toBe(5_000_000_000_000n);
    expect(parseUsd('1.25')).toBe(1_250_000_000_000n);
    expect(parseUsd('0')).toBe(0n);
    expect(parseUsd('40')).toBe(40_000_000_000_000n);
  });

  it('keeps all 12 decimals exactly', () => {
    expect(parseUsd('0.000000000001')).toBe(1n);
    expect(parseUsd('123456789.123456789012')).toBe(123_456_789_123_456_789_012n);
  });

  it('is exact where binary floats are not (0.1 + 0.2)', () => {
    expect(parseUsd('0.1') + parseUsd('0.2')).toBe(parseUsd('0.3'));
  });

  it('ignores surrounding whitespace', () => {
    expect(parseUsd(' 2.5 ')).toBe(2_500_000_000_000n);
  });

  it.each(['-1', '-0.01', '1e3', '1E-3', '0.0000000000001', '', 'abc', '.5', '1.', '1,5', '+1', '1234567890'])(
    'rejects %p',
    (value) => {
      expect(() => parseUsd(value)).toThrow(/USD amount/);
    },
  );

  it('uses a 12-decimal scale', () => {
    expect(USD_SCALE).toBe(12);
  });
});

describe('formatUsd', () => {
  it('drops trailing zeros', () => {
    expect(formatUsd(42_500_000_000n)).toBe('0.0425');
    expect(formatUsd(5_000_000_000_000n)).toBe('5');
    expect(formatUsd(1_250_000_000_000n)).toBe('1.25');
  });

  it('writes zero as "0" and keeps the smallest unit', () => {
    expect(formatUsd(0n)).toBe('0');
    expect(formatUsd(1n)).toBe('0.000000000001');
  });

  it('keeps a leading integer digit and the sign of negative amounts', () => {
    expect(formatUsd(-42_500_000_000n)).toBe('-0.0425');
    expect(formatUsd(-3_000_000_000_000n)).toBe('-3');
  });

  it.each(['0.0425', '5', '1.25', '0.000000000001', '123456789.123456789012', '0.02201'])(
    'round-trips %p through parseUsd',
    (value) => {
      expect(formatUsd(parseUsd(value))).toBe(value);
    },
  );
});

describe('toNumericString', () => {
  it('writes exactly 12 decimals, trailing zeros kept', () => {
    expect(toNumericString(42_500_000_000n)).toBe('0.042500000000');
    expect(toNumericString(0n)).toBe('0.000000000000');
    expect(toNumericString(5_000_000_000_000n)).toBe('5.000000000000');
    expect(toNumericString(1n)).toBe('0.000000000001');
  });

  it('writes negative amounts with a leading minus', () => {
    expect(toNumericString(-42_500_000_000n)).toBe('-0.042500000000');
  });

  it('is read back by parseUsd to the same amount', () => {
    const amount = 123_456_789_123_456_789_012n;
    expect(toNumericString(amount)).toBe('123456789.123456789012');
    expect(parseUsd(toNumericString(amount))).toBe(amount);
  });
});
