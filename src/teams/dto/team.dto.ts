import { ApiProperty } from '@nestjs/swagger';
import type { BudgetStatus } from '../../budgets/budget-status.service.js';
import {
  BudgetMonthProperty,
  budgetStatusFields,
  ReservedUsdProperty,
  SpentUsdProperty,
} from '../../budgets/dto/budget-status.fields.js';
import { ListResponse } from '../../common/http/list.response.js';
import { NUMERIC_20_12 } from '../../common/money/usd.js';
import { StringField, UsdField } from '../../common/validation/field.decorators.js';
import type { TeamEntity } from '../team.entity.js';

export class CreateTeamDto {
  @StringField({ description: 'Unique team name', example: 'growth', required: true, min: 1, max: 100 })
  name!: string;

  @UsdField({
    description: 'Spending limit per calendar month in USD; omit for none',
    example: '250.00',
    digits: NUMERIC_20_12,
  })
  monthly_budget_usd?: string | null;
}

export class TeamResponse {
  @ApiProperty({ format: 'uuid', example: '0b1f5a5e-5a8e-4c38-9a0e-6f7c2b0f4b0e' })
  id!: string;

  @ApiProperty({ example: 'growth' })
  name!: string;

  @ApiProperty({ type: String, nullable: true, example: '250', description: 'USD, decimal string' })
  monthly_budget_usd!: string | null;

  @ApiProperty({ type: String, format: 'date-time', example: '2026-11-24T10:00:00.000Z' })
  created_at!: string;

  @BudgetMonthProperty()
  budget_month!: string;

  @SpentUsdProperty('team')
  spent_usd!: string | null;

  @ReservedUsdProperty('team')
  reserved_usd!: string | null;

  /** `budget`: where the team's budget stands this month (`BudgetStatusService.ofTeams`). */
  static from(entity: TeamEntity, budget: BudgetStatus): TeamResponse {
    return {
      id: entity.id,
      name: entity.name,
      monthly_budget_usd: entity.monthlyBudgetUsd === null ? null : formatNumeric(entity.monthlyBudgetUsd),
      created_at: entity.createdAt.toISOString(),
      ...budgetStatusFields(budget),
    };
  }
}

export class TeamListResponse extends ListResponse(TeamResponse) {}

/** "250.000000000000" → "250" */
export function formatNumeric(value: string): string {
  return value.includes('.') ? value.replace(/0+$/, '').replace(/\.$/, '') : value;
}
