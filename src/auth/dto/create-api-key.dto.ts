import { PartialType, PickType } from '@nestjs/swagger';
import { NUMERIC_20_12 } from '../../common/money/usd.js';
import {
  BooleanField,
  DateTimeField,
  IntField,
  StringField,
  StringListField,
  UsdField,
} from '../../common/validation/field.decorators.js';

export class CreateApiKeyDto {
  @StringField({
    description: 'What the key is for',
    example: 'checkout-banner-service',
    required: true,
    min: 1,
    max: 200,
  })
  name!: string;

  @StringField({
    description: 'The team the key belongs to (usage is reported per team)',
    example: 'growth',
    required: true,
    min: 1,
    max: 100,
  })
  team!: string;

  @StringListField({
    description: 'Model ids this key may call; omit or null for every model',
    example: ['local/easel/sketch', 'azure/openai/gpt-image-1'],
    maxItems: 100,
  })
  allowed_models?: string[] | null;

  @DateTimeField({ description: 'When the key stops working; omit for never', example: '2027-01-01T00:00:00Z' })
  expires_at?: Date | null;

  @IntField({
    description: 'Requests per minute; omit or null for RATE_LIMIT_RPM',
    example: 30,
    min: 1,
    max: 1_000_000,
  })
  rpm?: number | null;

  @UsdField({
    description: 'Spending limit per calendar month (UTC) in USD; omit or null for none',
    example: '50.00',
    digits: NUMERIC_20_12,
  })
  monthly_budget_usd?: string | null;

  @BooleanField({
    description: 'An admin key manages Easel (/admin) and cannot call /v1',
    example: false,
    default: false,
  })
  admin?: boolean;
}

/** PATCH /admin/keys/:id: any of these; null clears allowed_models, expires_at, rpm or the budget. */
export class UpdateApiKeyDto extends PartialType(
  PickType(CreateApiKeyDto, ['name', 'team', 'allowed_models', 'expires_at', 'rpm', 'monthly_budget_usd'] as const),
) {}
