import 'reflect-metadata';
import { InvalidRequestError } from '../errors/gateway.error.js';
import { NUMERIC_20_12 } from '../money/usd.js';
import { DateTimeField, QueryIntField, UsdField } from './field.decorators.js';
import { RequestValidationPipe } from './validation.pipe.js';

class MoneyDto {
  @UsdField({ description: 'A budget', example: '12.50', digits: NUMERIC_20_12 })
  budget?: string | null;

  @UsdField({ description: 'A price', example: '5', digits: { integer: 6, fraction: 6 }, nullable: false })
  price?: string;
}

class DateDto {
  @DateTimeField({ description: 'When', example: '2027-01-01T00:00:00Z' })
  at?: Date | null;
}

class PageQuery {
  @QueryIntField({ description: 'Page size', example: 10, min: 1, max: 1000 })
  limit?: number;
}

const sut = new RequestValidationPipe();
const body = <T>(metatype: new () => T, value: unknown) =>
  sut.transform(value, { type: 'body', metatype }) as Promise<T>;

async function problemOf(
  metatype: new () => unknown,
  value: unknown,
  type: 'body' | 'query' = 'body',
): Promise<InvalidRequestError> {
  try {
    await sut.transform(value, { type, metatype });
  } catch (error) {
    if (error instanceof InvalidRequestError) return error;
    throw error;
  }
  throw new Error('accepted');
}

describe('UsdField', () => {
  it.each([
    [5, '5'],
    [5.1, '5.1'],
    [0.1, '0.1'],
    [1e-7, '0.0000001'],
    [99999999.999, '99999999.999'],
    ['12.50', '12.5'],
    ['0007', '7'],
    ['1.000000000000000000', '1'],
  ])('takes %p exactly, as the decimal string %p', async (value, text) => {
    await expect(body(MoneyDto, { budget: value })).resolves.toEqual({ budget: text });
  });

  it('takes null for a nullable amount and leaves an absent one absent', async () => {
    await expect(body(MoneyDto, { budget: null })).resolves.toEqual({ budget: null });
    await expect(body(MoneyDto, {})).resolves.toEqual({});
  });

  it.each([
    [123456789, 'more than 8 digits'],
    ['123456789', 'more than 8 digits'],
    [1e21, 'more than 8 digits'],
    [1e-13, 'more than 12 decimals'],
    [-0.01, 'must not be negative'],
    ['1e3', 'decimal string'],
    [true, 'decimal string'],
    [[1], 'decimal string'],
  ])('refuses %p: %s', async (value, says) => {
    const error = await problemOf(MoneyDto, { budget: value });

    expect(error.param).toBe('budget');
    expect(error.message).toContain(says);
    expect(error.message.startsWith("'budget' ")).toBe(true);
  });

  it('holds a field to its own digits and refuses null where an amount cannot be cleared', async () => {
    await expect(body(MoneyDto, { price: 999999.999999 })).resolves.toEqual({ price: '999999.999999' });
    expect((await problemOf(MoneyDto, { price: 1000000 })).message).toContain('more than 6 digits');
    expect((await problemOf(MoneyDto, { price: '0.0000001' })).message).toContain('more than 6 decimals');
    expect((await problemOf(MoneyDto, { price: null })).param).toBe('price');
  });
});

describe('DateTimeField', () => {
  it('turns an ISO 8601 text into a Date', async () => {
    await expect(body(DateDto, { at: '2027-01-01T01:00:00+01:00' })).resolves.toEqual({
      at: new Date('2027-01-01T00:00:00Z'),
    });
    await expect(body(DateDto, { at: null })).resolves.toEqual({ at: null });
  });

  it.each(['-271821-04-20T00:00:00Z', '+275760-09-13T00:00:00Z', '1969-12-31T23:59:59Z', '0000-01-01'])(
    'refuses %p as out of range',
    async (value) => {
      const error = await problemOf(DateDto, { at: value });

      expect(error.param).toBe('at');
      expect(error.message).toMatch(/between 1970-01-01 and 9999-12-31|ISO 8601/);
    },
  );

  it.each([0, 1_700_000_000_000, true, 'soon', '2026', '2026-02-30', {}, []])(
    'refuses %p, which is not an ISO 8601 text',
    async (value) => {
      const error = await problemOf(DateDto, { at: value });

      expect(error.param).toBe('at');
      expect(error.message).toContain('ISO 8601 date-time');
    },
  );
});

describe('QueryIntField', () => {
  it('reads plain digits', async () => {
    await expect(sut.transform({ limit: '25' }, { type: 'query', metatype: PageQuery })).resolves.toEqual({
      limit: 25,
    });
  });

  it.each(['1e2', '0x10', ' 5', '5 ', '1.5', '-1', '0', '1001', '', '1e309', '99999999999999999999'])(
    'refuses %p',
    async (value) => {
      const error = await problemOf(PageQuery, { limit: value }, 'query');

      expect(error.param).toBe('limit');
      expect(error.message).toBe("'limit' must be a whole number from 1 to 1000");
    },
  );

  it('refuses a repeated parameter', async () => {
    expect((await problemOf(PageQuery, { limit: ['1', '2'] }, 'query')).param).toBe('limit');
  });
});
