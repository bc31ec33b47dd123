import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { USAGE_ENDPOINTS, USAGE_STATUSES } from '../usage-endpoint.js';

export class UsageTotalsDto {
  @ApiProperty({ example: 42 })
  requests!: number;

  @ApiProperty({ example: 3 })
  errors!: number;

  @ApiProperty({ example: 40 })
  images!: number;

  @ApiProperty({ example: 2100 })
  input_tokens!: number;

  @ApiProperty({ example: 43520 })
  output_tokens!: number;

  @ApiProperty({ description: 'USD, exact decimal string', example: '1.75130' })
  cost_usd!: string;
}

export class UsageRowDto extends UsageTotalsDto {
  @ApiProperty({
    description: 'The group value (model id, key id, team, YYYY-MM-DD, provider or endpoint)',
    example: 'azure/openai/gpt-image-1',
  })
  group!: string;

  @ApiPropertyOptional({
    description:
      "Only with split_by: the split_by value of this row's share of the group, formatted as a group is (YYYY-MM-DD for day, '(none)' for no key, model or provider)",
    example: 'growth',
  })
  split?: string;
}

export class UsageReportDto {
  @ApiProperty({ type: String, format: 'date-time' })
  from!: string;

  @ApiProperty({ type: String, format: 'date-time' })
  to!: string;

  @ApiProperty({ example: 'model' })
  group_by!: string;

  @ApiPropertyOptional({ description: 'Only with split_by: the second dimension, as asked', example: 'team' })
  split_by?: string;

  @ApiProperty({ type: [UsageRowDto] })
  rows!: UsageRowDto[];

  @ApiProperty({ type: UsageTotalsDto })
  totals!: UsageTotalsDto;
}

export class UsageRecordDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ example: 'req_5c1d…' }) request_id!: string;
  @ApiProperty({ type: String, format: 'date-time' }) created_at!: string;
  @ApiProperty({ type: String, nullable: true, format: 'uuid' }) api_key_id!: string | null;
  @ApiProperty({ example: 'growth' }) team!: string;
  @ApiProperty({ example: 'images', enum: USAGE_ENDPOINTS }) endpoint!: string;
  @ApiProperty({ type: String, nullable: true, description: 'The model the client asked for' }) model!: string | null;
  @ApiProperty({
    type: String,
    nullable: true,
    description:
      'The model that served it: the successor of a retired model (whose prices apply), else the same as model',
  })
  served_model!: string | null;
  @ApiProperty({ type: String, nullable: true, example: 'azure-openai' }) provider!: string | null;
  @ApiProperty({ type: String, nullable: true, example: 'default' }) route!: string | null;
  @ApiProperty({ enum: USAGE_STATUSES }) status!: string;
  @ApiProperty({ example: 200 }) http_status!: number;
  @ApiProperty({ type: String, nullable: true, example: null }) error_code!: string | null;
  @ApiProperty({ example: 8123 }) latency_ms!: number;
  @ApiProperty({ type: Number, nullable: true, example: 8101 }) upstream_latency_ms!: number | null;
  @ApiProperty({ example: 1 }) images!: number;
  @ApiProperty({ example: 0, description: 'Images sent to an edit, the mask included' }) input_images!: number;
  @ApiProperty({ example: 0, description: 'Their size in bytes (the bytes are never stored)' })
  input_image_bytes!: number;
  @ApiProperty({ type: String, nullable: true, example: '1024x1024' }) size!: string | null;
  @ApiProperty({ type: String, nullable: true, example: 'medium' }) quality!: string | null;
  @ApiProperty() input_text_tokens!: number;
  @ApiProperty() input_image_tokens!: number;
  @ApiProperty() cached_input_tokens!: number;
  @ApiProperty() output_text_tokens!: number;
  @ApiProperty() output_image_tokens!: number;
  @ApiProperty() input_tokens!: number;
  @ApiProperty() output_tokens!: number;
  @ApiProperty({ description: 'USD, exact decimal string', example: '0.04231' }) cost_usd!: string;
  @ApiProperty({ type: Number, nullable: true, example: 1 }) price_version!: number | null;
  @ApiProperty({ type: String, nullable: true }) user!: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'SHA-256 of the prompt, hex' }) prompt_sha256!:
    string | null;
  @ApiProperty({ type: Number, nullable: true }) prompt_length!: number | null;
  @ApiProperty({ type: String, nullable: true, description: 'Only with LOG_PROMPTS=true' }) prompt_text!: string | null;
}

export class UsageRecordPageDto {
  @ApiProperty({ type: [UsageRecordDto] })
  data!: UsageRecordDto[];

  @ApiProperty({ type: String, nullable: true, description: 'Pass as cursor for the next page; null on the last page' })
  next_cursor!: string | null;
}
