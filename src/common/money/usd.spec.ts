import {
  canonicalUsd,
  decimalOfNumber,
  formatUsd,
  NUMERIC_20_12,
  parseUsd,
  toNumericString,
  USD_SCALE,
  usdAmountProblem,
} from './usd.js';

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

describe('decimalOfNumber', () => {
  it.each([
    [5, '5'],
    [5.1, '5.1'],
    [0.1, '0.1'],
    [0.1 + 0.2, '0.30000000000000004'],
    [12.345678901234, '12.345678901234'],
    [99999999.99, '99999999.99'],
    [1e-7, '0.0000001'],
    [1.5e-10, '0.00000000015'],
    [1e21, '1000000000000000000000'],
    [1.25e22, '12500000000000000000000'],
    [-1, '-1'],
    [-2.5e-7, '-0.00000025'],
    [-0, '0'],
  ])('writes %p as %p', (value, text) => {
    expect(decimalOfNumber(value)).toBe(text);
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])('has no text for %p', (value) => {
    expect(decimalOfNumber(value)).toBeUndefined();
  });

  it('round-trips: the text reads back as the same number', () => {
    for (const value of [5e-324, 1.7976931348623157e308, 123.456, 2 ** 53, 0.000001]) {
      expect(Number(decimalOfNumber(value))).toBe(value);
    }
  });
});

describe('usdAmountProblem', () => {
  const price = { integer: 6, fraction: 6 };

  it.each(['0', '5', '5.1', '99999999.999999999999', '0007.50', '1.000000000000000', '0.000000000001'])(
    'takes %p for numeric(20,12)',
    (value) => {
      expect(usdAmountProblem(value, NUMERIC_20_12)).toBeUndefined();
    },
  );

  it.each([
    ['123456789', /more than 8 digits before the decimal point \(at most 99999999\.999999999999\)/],
    ['0.0000000000001', /more than 12 decimals/],
    ['-1', /must not be negative/],
    ['1e3', /decimal string/],
    ['.5', /decimal string/],
    ['1.', /decimal string/],
    [' 5', /decimal string/],
    ['', /decimal string/],
  ])('refuses %p for numeric(20,12)', (value, problem) => {
    expect(usdAmountProblem(value, NUMERIC_20_12)).toMatch(problem);
  });

  it.each([5, null, undefined, true, ['5'], { usd: '5' }])('refuses %p, which is not a string', (value) => {
    expect(usdAmountProblem(value, NUMERIC_20_12)).toMatch(/decimal string/);
  });

  it('holds a price to its own digits', () => {
    expect(usdAmountProblem('999999.999999', price)).toBeUndefined();
    expect(usdAmountProblem('1000000', price)).toMatch(/more than 6 digits/);
    expect(usdAmountProblem('1.1234567', price)).toMatch(/more than 6 decimals/);
  });
});

describe('canonicalUsd', () => {
  it.each([
    ['0007.50', '7.5'],
    ['250.00', '250'],
    ['0.000', '0'],
    ['00', '0'],
    ['1.000000000000000', '1'],
    ['99999999.999999999999', '99999999.999999999999'],
  ])('writes %p as %p', (value, text) => {
    expect(canonicalUsd(value)).toBe(text);
  });
});
