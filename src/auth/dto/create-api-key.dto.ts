import {
  BooleanField,
  DateTimeField,
  StringField,
  StringListField,
} from '../../common/validation/field.decorators.js';

export class CreateApiKeyDto {
  @StringField({ description: 'What the key is for', example: 'checkout-banner-service', required: true, min: 1, max: 200 })
  name!: string;

  @StringField({ description: 'The team the key belongs to (usage is reported per team)', example: 'growth', required: true, min: 1, max: 100 })
  team!: string;

  @StringListField({
    description: 'Model ids this key may call; omit or null for every model',
    example: ['local/easel/sketch', 'azure/openai/gpt-image-1'],
    maxItems: 100,
  })
  allowed_models?: string[] | null;

  @DateTimeField({ description: 'When the key stops working; omit for never', example: '2027-01-01T00:00:00Z' })
  expires_at?: Date | null;

  @BooleanField({ description: 'An admin key manages Easel (/admin) and cannot call /v1', example: false, default: false })
  admin?: boolean;
}
