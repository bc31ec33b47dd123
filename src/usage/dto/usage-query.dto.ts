import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsDate, IsIn, IsInt, IsOptional, IsString, IsUUID, Length, Max, Min } from 'class-validator';

export const GROUP_BY = ['model', 'api_key', 'team', 'day', 'provider', 'endpoint'] as const;
export type GroupBy = (typeof GROUP_BY)[number];

/** Filters shared by the report and the record listing. */
export class UsageFilterDto {
  @ApiPropertyOptional({ description: 'Start (inclusive), ISO 8601; default: the start of the current month (UTC)', example: '2026-11-01T00:00:00Z' })
  @IsOptional()
  @Type(() => Date)
  @IsDate({ message: 'from must be an ISO 8601 date-time' })
  from?: Date;

  @ApiPropertyOptional({ description: 'End (exclusive), ISO 8601; default: now', example: '2026-12-01T00:00:00Z' })
  @IsOptional()
  @Type(() => Date)
  @IsDate({ message: 'to must be an ISO 8601 date-time' })
  to?: Date;

  @ApiPropertyOptional({ description: 'Only this model id', example: 'azure/openai/gpt-image-1' })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  model?: string;

  @ApiPropertyOptional({ description: 'Only this team', example: 'growth' })
  @IsOptional()
  @IsString()
  @Length(1, 100)
  team?: string;

  @ApiPropertyOptional({ description: 'Only this API key id', format: 'uuid' })
  @IsOptional()
  @IsUUID()
  api_key?: string;
}

export class UsageReportQueryDto extends UsageFilterDto {
  @ApiPropertyOptional({ enum: GROUP_BY, default: 'model', example: 'day' })
  @IsOptional()
  @IsIn(GROUP_BY, { message: `group_by must be one of: ${GROUP_BY.join(', ')}` })
  group_by?: GroupBy;

  @ApiPropertyOptional({ enum: ['json', 'csv'], description: 'csv = the rows as CSV (also with Accept: text/csv)' })
  @IsOptional()
  @IsIn(['json', 'csv'], { message: 'format must be json or csv' })
  format?: 'json' | 'csv';
}

export class UsageRecordsQueryDto extends UsageFilterDto {
  @ApiPropertyOptional({ default: 100, minimum: 1, maximum: 1000, example: 100 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;

  @ApiPropertyOptional({ description: 'next_cursor of the previous page' })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  cursor?: string;
}
