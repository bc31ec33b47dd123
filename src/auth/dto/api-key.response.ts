import { ApiProperty } from '@nestjs/swagger';
import type { BudgetStatus } from '../../budgets/budget-status.service.js';
import {
  BudgetMonthProperty,
  budgetStatusFields,
  ReservedUsdProperty,
  SpentUsdProperty,
} from '../../budgets/dto/budget-status.fields.js';
import { ListResponse } from '../../common/http/list.response.js';
import { formatNumeric } from '../../teams/dto/team.dto.js';
import type { ApiKeyEntity } from '../api-key.entity.js';

export class ApiKeyResponse {
  @ApiProperty({ format: 'uuid', example: '5b0e4c59-6d8f-4d4b-9c35-0d4d1c7c3b0a' })
  id!: string;

  @ApiProperty({ description: 'Safe-to-show start of the key', example: 'sk-easel-Q2x9bW1k' })
  prefix!: string;

  @ApiProperty({ example: 'checkout-banner-service' })
  name!: string;

  @ApiProperty({ example: 'growth' })
  team!: string;

  @ApiProperty({ example: false })
  admin!: boolean;

  @ApiProperty({ type: [String], nullable: true, example: null })
  allowed_models!: string[] | null;

  @ApiProperty({ type: Number, nullable: true, example: 30, description: 'Requests per minute; null = RATE_LIMIT_RPM' })
  rpm!: number | null;

  @ApiProperty({ type: String, nullable: true, example: '50', description: 'USD per calendar month; null = none' })
  monthly_budget_usd!: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: null })
  expires_at!: string | null;

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    example: null,
    description: 'Updated at most once a minute',
  })
  last_used_at!: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: null })
  revoked_at!: string | null;

  @ApiProperty({ type: String, format: 'date-time', example: '2026-11-24T10:00:00.000Z' })
  created_at!: string;

  @BudgetMonthProperty()
  budget_month!: string;

  @SpentUsdProperty('key')
  spent_usd!: string | null;

  @ReservedUsdProperty('key')
  reserved_usd!: string | null;

  /** `budget`: where the key's own budget stands this month (`BudgetStatusService.ofKeys`). */
  static from(entity: ApiKeyEntity, budget: BudgetStatus): ApiKeyResponse {
    const { id, prefix, name, team, rpm } = entity;
    return {
      id,
      prefix,
      name,
      team,
      admin: entity.isAdmin,
      allowed_models: entity.allowedModels,
      rpm,
      monthly_budget_usd: entity.monthlyBudgetUsd === null ? null : formatNumeric(entity.monthlyBudgetUsd),
      expires_at: entity.expiresAt?.toISOString() ?? null,
      last_used_at: entity.lastUsedAt?.toISOString() ?? null,
      revoked_at: entity.revokedAt?.toISOString() ?? null,
      created_at: entity.createdAt.toISOString(),
      ...budgetStatusFields(budget),
    };
  }
}

export class CreatedApiKeyResponse extends ApiKeyResponse {
  @ApiProperty({ description: 'The secret key. Shown only in this response.', example: 'sk-easel-Q2x9bW1k…' })
  key!: string;
}

export class ApiKeyListResponse extends ListResponse(ApiKeyResponse) {}
