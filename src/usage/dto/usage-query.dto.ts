import { ApiPropertyOptional, IntersectionType, OmitType } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, IsUUID, Length } from 'class-validator';
import {
  DateTimeField,
  EnumField,
  QueryBooleanField,
  QueryIntField,
} from '../../common/validation/field.decorators.js';
import { USAGE_ENDPOINTS, USAGE_STATUSES, type UsageEndpoint, type UsageStatus } from '../usage-endpoint.js';

export const GROUP_BY = ['model', 'api_key', 'team', 'day', 'provider', 'endpoint'] as const;
export type GroupBy = (typeof GROUP_BY)[number];

/** Filters shared by the report and the record listing. */
export class UsageFilterDto {
  @DateTimeField({
    description:
      'Start (inclusive), ISO 8601 (a date is midnight UTC; a time without an offset is UTC); default: the start of the current month (UTC)',
    example: '2026-11-01T00:00:00Z',
    nullable: false,
  })
  from?: Date;

  @DateTimeField({
    description: 'End (exclusive), ISO 8601 as for from; default: now',
    example: '2026-12-01T00:00:00Z',
    nullable: false,
  })
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

  @QueryBooleanField({
    description:
      'true: only requests for models deprecated or retired today (the catalogue lifecycle; the model asked for, not its successor): who still calls them, with group_by=api_key or team. false: only the others',
    example: true,
  })
  deprecated?: boolean;

  @EnumField(USAGE_ENDPOINTS, {
    description:
      'Only requests to this endpoint: images (generations), images.edits, chat (chat completions), models (/v1/models reads), usage (/v1/usage reads)',
    example: 'images',
  })
  endpoint?: UsageEndpoint;

  @EnumField(USAGE_STATUSES, {
    description:
      'Only successful requests, or only failed ones (an answer of 400 or more, or a stream that ended in an error)',
    example: 'error',
  })
  status?: UsageStatus;
}

export class UsageReportQueryDto extends UsageFilterDto {
  @ApiPropertyOptional({ enum: GROUP_BY, default: 'model', example: 'day' })
  @IsOptional()
  @IsIn(GROUP_BY, { message: `group_by must be one of: ${GROUP_BY.join(', ')}` })
  group_by?: GroupBy;

  @ApiPropertyOptional({
    enum: GROUP_BY,
    description:
      'A second dimension (not the group_by one): each row is then one (group, split) pair, with split its value (formatted as a group is), ordered by group then split; the totals stay the same',
    example: 'model',
  })
  @IsOptional()
  @IsIn(GROUP_BY, { message: `split_by must be one of: ${GROUP_BY.join(', ')}` })
  split_by?: GroupBy;

  @ApiPropertyOptional({ enum: ['json', 'csv'], description: 'csv = the rows as CSV (also with Accept: text/csv)' })
  @IsOptional()
  @IsIn(['json', 'csv'], { message: 'format must be json or csv' })
  format?: 'json' | 'csv';
}

export class UsageRecordsQueryDto extends UsageFilterDto {
  @QueryIntField({ description: 'Records per page', default: 100, example: 100, min: 1, max: 1000 })
  limit?: number;

  @ApiPropertyOptional({ description: 'next_cursor of the previous page' })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  cursor?: string;
}

export const USAGE_SCOPES = ['key', 'team'] as const;
export type UsageScope = (typeof USAGE_SCOPES)[number];

/**
 * What `/v1/usage` adds to the admin filters: whose usage (`scope`), and `team` and `api_key` as
 * they apply to a caller that may read only its own team (`scopeToCaller` enforces it).
 */
class CallerScopeDto {
  @EnumField(USAGE_SCOPES, {
    description: "key: only the calling key's requests; team: every key of its team",
    default: 'key',
    example: 'team',
  })
  scope?: UsageScope;

  @ApiPropertyOptional({
    description: "The caller's own team (the default); any other team is 403 permission_error",
    example: 'growth',
  })
  @IsOptional()
  @IsString()
  @Length(1, 100)
  team?: string;

  @ApiPropertyOptional({
    description:
      "scope=key: the caller's own key id only (any other is 403 permission_error); scope=team: one key of the team (an id that is not one of its keys matches nothing)",
    format: 'uuid',
  })
  @IsOptional()
  @IsUUID()
  api_key?: string;
}

export class CallerUsageReportQueryDto extends IntersectionType(
  OmitType(UsageReportQueryDto, ['team', 'api_key'] as const),
  CallerScopeDto,
) {}

export class CallerUsageRecordsQueryDto extends IntersectionType(
  OmitType(UsageRecordsQueryDto, ['team', 'api_key'] as const),
  CallerScopeDto,
) {}
