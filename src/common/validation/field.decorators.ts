import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsDefined,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Length,
  Max,
  Min,
  registerDecorator,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { canonicalUsd, decimalOfNumber, usdAmountProblem, type UsdDigits } from '../money/usd.js';
import { dateTimeProblem, parseIsoDateTime } from './date-time.js';

interface FieldOptions<T> {
  description: string;
  example?: T;
  required?: boolean;
  default?: T;
}

const swagger = <T>(options: FieldOptions<T>, extra: Record<string, unknown>) =>
  options.required
    ? ApiProperty({ description: options.description, example: options.example, ...extra })
    : ApiPropertyOptional({
        description: options.description,
        example: options.example,
        default: options.default,
        ...extra,
      });

/** Required fields fail first with "is required"; optional ones may be absent or null. */
const optional = (required?: boolean) =>
  required ? [IsDefined({ message: ({ property }) => `${property} is required` })] : [IsOptional()];

/** A string of `min..max` characters. */
export const StringField = (options: FieldOptions<string> & { min?: number; max?: number }) =>
  applyDecorators(
    swagger(options, { type: String, minLength: options.min, maxLength: options.max }),
    ...optional(options.required),
    IsString(),
    Length(options.min ?? 0, options.max ?? Number.MAX_SAFE_INTEGER),
  );

/** One of a fixed set of strings. */
export const EnumField = <T extends string>(values: readonly T[], options: FieldOptions<T>) =>
  applyDecorators(
    swagger(options, { enum: values, type: String }),
    ...optional(options.required),
    IsIn(values as T[], { message: ({ property }) => `${property} must be one of: ${values.join(', ')}` }),
  );

/** An integer in `min..max`. */
export const IntField = (options: FieldOptions<number> & { min: number; max: number }) =>
  applyDecorators(
    swagger(options, { type: 'integer', minimum: options.min, maximum: options.max }),
    ...optional(options.required),
    IsInt(),
    Min(options.min),
    Max(options.max),
  );

/** An integer in `min..max` from a query string: plain decimal digits only ("1e2", "0x10", " 5" are refused). */
export const QueryIntField = (options: FieldOptions<number> & { min: number; max: number }) => {
  const message = ({ property }: { property: string }) =>
    `${property} must be a whole number from ${options.min} to ${options.max}`;
  return applyDecorators(
    swagger(options, { type: 'integer', minimum: options.min, maximum: options.max }),
    IsOptional(),
    Transform(({ value }: { value: unknown }) =>
      typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : value,
    ),
    IsInt({ message }),
    Min(options.min, { message }),
    Max(options.max, { message }),
  );
};

/** `true` or `false` in a query string (nothing else: not `1`, `yes` or an empty value). */
export const QueryBooleanField = (options: FieldOptions<boolean>) => {
  const message = ({ property }: { property: string }) => `${property} must be true or false`;
  return applyDecorators(
    swagger(options, { type: Boolean }),
    IsOptional(),
    Transform(({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value)),
    IsBoolean({ message }),
  );
};

export const BooleanField = (options: FieldOptions<boolean>) =>
  applyDecorators(swagger(options, { type: Boolean }), ...optional(options.required), IsBoolean());

/**
 * An ISO 8601 date or date-time (see `parseIsoDateTime`) from 1970 to 9999, turned into a Date.
 * Nothing else is taken: no numbers, no `new Date()` guesses such as "2026" or "March 7".
 */
export const DateTimeField = (options: FieldOptions<string> & { nullable?: boolean }) =>
  applyDecorators(
    swagger(options, {
      type: String,
      format: 'date-time',
      ...((options.nullable ?? !options.required) ? { nullable: true } : {}),
    }),
    ...optional(options.required),
    Transform(({ value }: { value: unknown }) =>
      typeof value === 'string' ? (parseIsoDateTime(value) ?? value) : value,
    ),
    Satisfies('isEaselDateTime', dateTimeProblem),
  );

/**
 * The `model` of a /v1 request: a catalogue id (whether it exists and serves `endpoint` is asked of
 * the registry later). Its checks run in the order they always have: the length before the type.
 */
export const ModelIdField = (endpoint: 'images' | 'chat') =>
  applyDecorators(
    ApiProperty({
      description: `A model id from GET /v1/models that serves ${endpoint}`,
      example: 'local/easel/sketch',
    }),
    IsDefined({ message: 'model is required' }),
    Length(1, 200),
    IsString(),
  );

/** An optional object validated as a `type` (its own fields checked, and refused when not an object). */
export const NestedObjectField = (type: new () => object) =>
  applyDecorators(
    ApiPropertyOptional({ type }),
    IsOptional(),
    IsObject(),
    ValidateNested(),
    Type(() => type),
  );

/** A list of non-empty strings. */
export const StringListField = (options: FieldOptions<string[]> & { maxItems: number }) =>
  applyDecorators(
    swagger(options, { type: [String], maxItems: options.maxItems, nullable: true }),
    ...optional(options.required),
    IsArray(),
    ArrayMaxSize(options.maxItems),
    IsString({ each: true }),
    Length(1, 200, { each: true }),
  );

/**
 * A non-negative USD amount, kept exact: a decimal string ("12.50") or a JSON number (12.5, read
 * as its shortest round-trip text, so 0.1 is exactly 0.1). `digits` is what the column holds;
 * more is refused, never rounded. The DTO gets the amount as its shortest decimal string ("12.5").
 */
export const UsdField = (options: FieldOptions<string> & { digits: UsdDigits; nullable?: boolean }) => {
  const { digits, nullable = true } = options;
  return applyDecorators(
    (options.required ? ApiProperty : ApiPropertyOptional)({
      description: `${options.description}. A decimal string or a JSON number, non-negative, at most ${digits.integer} digits before the point and ${digits.fraction} after it; answered as a decimal string.`,
      example: options.example,
      ...(nullable && !options.required ? { nullable: true } : {}),
      oneOf: [
        {
          type: 'string',
          pattern: `^\\d{1,${digits.integer}}(\\.\\d{1,${digits.fraction}})?$`,
          example: options.example,
        },
        {
          type: 'number',
          minimum: 0,
          maximum: 10 ** digits.integer,
          exclusiveMaximum: true,
          example: options.example === undefined ? undefined : Number(options.example),
        },
      ],
    }),
    ...(nullable ? optional(options.required) : [ValidateIf((_object, value) => value !== undefined)]),
    Transform(({ value }: { value: unknown }) => {
      const text = typeof value === 'number' ? (decimalOfNumber(value) ?? value) : value;
      return typeof text === 'string' && usdAmountProblem(text, digits) === undefined ? canonicalUsd(text) : text;
    }),
    Satisfies('isUsdAmount', (value) => usdAmountProblem(value, digits)),
  );
};

/** A class-validator constraint from a function that says what is wrong with a value (undefined: nothing). */
export function Satisfies(name: string, problemOf: (value: unknown) => string | undefined): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name,
      target: target.constructor,
      propertyName: String(propertyName),
      validator: {
        validate: (value: unknown) => problemOf(value) === undefined,
        defaultMessage: (args) => `${args?.property} ${problemOf(args?.value)}`,
      },
    });
}
