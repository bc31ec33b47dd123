import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsDate,
  IsDefined,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  Min,
} from 'class-validator';

interface FieldOptions<T> {
  description: string;
  example?: T;
  required?: boolean;
  default?: T;
}

const swagger = <T>(options: FieldOptions<T>, extra: Record<string, unknown>) =>
  options.required
    ? ApiProperty({ description: options.description, example: options.example, ...extra })
    : ApiPropertyOptional({ description: options.description, example: options.example, default: options.default, ...extra });

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

export const BooleanField = (options: FieldOptions<boolean>) =>
  applyDecorators(swagger(options, { type: Boolean }), ...optional(options.required), IsBoolean());

/** An ISO 8601 timestamp, turned into a Date. */
export const DateTimeField = (options: FieldOptions<string>) =>
  applyDecorators(
    swagger(options, { type: String, format: 'date-time', nullable: true }),
    ...optional(options.required),
    Type(() => Date),
    IsDate({ message: ({ property }) => `${property} must be an ISO 8601 date-time` }),
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

/** A non-negative USD amount as a decimal string ("12.50"), kept exact (never a float). */
export const UsdField = (options: FieldOptions<string> & { maxDecimals?: number }) =>
  applyDecorators(
    swagger(options, { type: String, nullable: true, pattern: '^\\d{1,9}(\\.\\d{1,6})?$' }),
    ...optional(options.required),
    IsString({ message: ({ property }) => `${property} must be a decimal string such as "12.50"` }),
    Matches(new RegExp(`^\\d{1,9}(\\.\\d{1,${options.maxDecimals ?? 6}})?$`), {
      message: ({ property }) => `${property} must be a non-negative amount with at most ${options.maxDecimals ?? 6} decimals`,
    }),
  );
