import { Injectable } from '@nestjs/common';
import { parseUsd, type Pico } from '../common/money/usd.js';
import { keyScope, monthOf, teamScope } from './budget-scope.js';
import { BudgetSpendRepository } from './budget-spend.repository.js';

/** How much of one monthly budget the current month has used. */
export interface BudgetStatus {
  /** The calendar month (UTC) the amounts are for: `YYYY-MM`. */
  month: string;
  /**
   * Settled cost counted against the budget this month; null when no budget applies, because
   * Easel counts spend against a budget only while it has one (all spend: the usage reports).
   */
  spent: Pico | null;
  /** Estimates of the requests admitted against the budget and not settled yet; null as `spent`. */
  reserved: Pico | null;
}

/**
 * Reads `budget_spend` for the admin API: where each key's and team's budget stands this month,
 * as `BudgetsService` counts it. A row is written only when a request is admitted against a
 * budget, so a scope with a budget and no row has used nothing yet, and a scope without a budget
 * has no status (even when a row is left from earlier in the month, before its budget was cleared).
 */
@Injectable()
export class BudgetStatusService {
  constructor(private readonly spend: BudgetSpendRepository) {}

  /** The status of each team's budget this month, in the order given: one query for all. */
  ofTeams(
    teams: ReadonlyArray<{ name: string; monthlyBudgetUsd: string | null }>,
    now = new Date(),
  ): Promise<BudgetStatus[]> {
    return this.statusOf(
      teams.map((team) => ({ scope: teamScope(team.name), budget: team.monthlyBudgetUsd })),
      now,
    );
  }

  /** The status of each key's own budget this month, in the order given: one query for all. */
  ofKeys(
    keys: ReadonlyArray<{ id: string; monthlyBudgetUsd: string | null }>,
    now = new Date(),
  ): Promise<BudgetStatus[]> {
    return this.statusOf(
      keys.map((key) => ({ scope: keyScope(key.id), budget: key.monthlyBudgetUsd })),
      now,
    );
  }

  /**
   * A key made a moment ago has used nothing: its status without a query, so that its creation,
   * committed already, never fails after the fact and loses the secret shown only in its answer.
   */
  ofNewKey(key: { monthlyBudgetUsd: string | null }, now = new Date()): BudgetStatus {
    const month = monthOf(now).slice(0, 7);
    return key.monthlyBudgetUsd === null ? { month, spent: null, reserved: null } : { month, spent: 0n, reserved: 0n };
  }

  /** The same clock and month as `BudgetsService.reserve`. */
  private async statusOf(
    budgets: ReadonlyArray<{ scope: string; budget: string | null }>,
    now: Date,
  ): Promise<BudgetStatus[]> {
    const month = monthOf(now);
    const rows = await this.spend.findMonth(
      budgets.filter(({ budget }) => budget !== null).map(({ scope }) => scope),
      month,
    );
    const label = month.slice(0, 7);
    return budgets.map(({ scope, budget }) => {
      if (budget === null) return { month: label, spent: null, reserved: null };
      const row = rows.get(scope);
      return {
        month: label,
        spent: row ? parseUsd(row.spent) : 0n,
        reserved: row ? parseUsd(row.reserved) : 0n,
      };
    });
  }
}
