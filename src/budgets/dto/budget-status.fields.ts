import { ApiProperty } from '@nestjs/swagger';
import { formatUsd } from '../../common/money/usd.js';
import type { BudgetStatus } from '../budget-status.service.js';

/** Whose budget a response shows: a key's own, or a team's (which every key of the team counts against). */
type BudgetOwner = 'key' | 'team';

const WHOSE: Record<BudgetOwner, string> = {
  key: "this key's own `monthly_budget_usd` (its team's budget is the team's)",
  team: "the team's `monthly_budget_usd` (by all of its keys together)",
};

/** `budget_month`: the month `spent_usd` and `reserved_usd` are for. */
export const BudgetMonthProperty = () =>
  ApiProperty({
    description:
      'The calendar month (UTC, `YYYY-MM`) that `spent_usd` and `reserved_usd` are for: the current one, by the server clock.',
    example: '2026-11',
    pattern: '^\\d{4}-\\d{2}$',
  });

/** `spent_usd`: settled spend counted against the budget this month. */
export const SpentUsdProperty = (owner: BudgetOwner) =>
  ApiProperty({
    type: String,
    nullable: true,
    example: '12.034',
    description:
      `USD settled this month against ${WHOSE[owner]}: the actual cost of the requests admitted while ` +
      'the budget applied, as a decimal string ("0" before the first). Spend is counted only against ' +
      'a budget: null when there is none, and spend from before a budget was set this month is not in ' +
      'it (all spend: `GET /admin/usage`).',
  });

/** `reserved_usd`: estimates of admitted requests not settled yet. */
export const ReservedUsdProperty = (owner: BudgetOwner) =>
  ApiProperty({
    type: String,
    nullable: true,
    example: '0.008709',
    description:
      `USD held this month against ${WHOSE[owner]} by requests admitted and not settled yet (in flight, ` +
      'or finished and their usage record not stored yet): their estimated cost, replaced by the actual ' +
      'cost in `spent_usd` when settled. A decimal string; null when there is no budget. A request is ' +
      'admitted only if `spent_usd` + `reserved_usd` + its estimate stays within `monthly_budget_usd`.',
  });

/** The wire form of a budget's status: `budget_month`, `spent_usd`, `reserved_usd`. */
export function budgetStatusFields(status: BudgetStatus): {
  budget_month: string;
  spent_usd: string | null;
  reserved_usd: string | null;
} {
  return {
    budget_month: status.month,
    spent_usd: status.spent === null ? null : formatUsd(status.spent),
    reserved_usd: status.reserved === null ? null : formatUsd(status.reserved),
  };
}
