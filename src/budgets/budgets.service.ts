import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { Principal } from '../auth/principal.js';
import { ErrorCode } from '../common/errors/error-code.enum.js';
import { GatewayError } from '../common/errors/gateway.error.js';
import { type Pico, formatUsd, toNumericString } from '../common/money/usd.js';
import { TeamsService } from '../teams/teams.service.js';

export interface BudgetReservation {
  scopes: string[];
  month: string;
  estimate: Pico;
}

/**
 * Monthly budgets per key and per team (calendar month, UTC). Before the upstream is called, the
 * request's estimated cost is reserved against every budget that applies, in one transaction: a
 * budget whose settled spend plus open reservations plus this estimate would pass its limit
 * refuses the request (429 insufficient_quota), so concurrent requests cannot overrun it
 * together. When the response ends, the reservation is replaced by the actual cost.
 */
@Injectable()
export class BudgetsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly teams: TeamsService,
  ) {}

  /**
   * undefined when no budget applies (then neither the estimate nor any database work is done).
   * `estimateCost` is called only when a budget applies.
   */
  async reserve(principal: Principal, estimateCost: () => Pico, now = new Date()): Promise<BudgetReservation | undefined> {
    const limits: Array<{ scope: string; limit: Pico; label: string }> = [];
    if (principal.monthlyBudget !== null && principal.keyId) {
      limits.push({ scope: `key:${principal.keyId}`, limit: principal.monthlyBudget, label: 'this API key' });
    }
    const teamBudget = await this.teams.monthlyBudgetOf(principal.team);
    if (teamBudget !== null) limits.push({ scope: `team:${principal.team}`, limit: teamBudget, label: `team '${principal.team}'` });
    if (limits.length === 0) return undefined;

    const month = monthOf(now);
    const estimate = estimateCost();
    await this.admit(limits, month, estimate);
    return { scopes: limits.map((limit) => limit.scope), month, estimate };
  }

  private async admit(limits: Array<{ scope: string; limit: Pico; label: string }>, month: string, estimate: Pico): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      for (const { scope, limit, label } of limits) {
        const admitted: unknown[] = await manager.query(
          `INSERT INTO budget_spend (scope, month, spent, reserved)
             SELECT $1, $2, 0, $3::numeric WHERE $3::numeric <= $4::numeric
           ON CONFLICT (scope, month) DO UPDATE SET reserved = budget_spend.reserved + EXCLUDED.reserved
             WHERE budget_spend.spent + budget_spend.reserved + EXCLUDED.reserved <= $4::numeric
           RETURNING 1`,
          [scope, month, toNumericString(estimate), toNumericString(limit)],
        );
        if (admitted.length === 0) {
          throw new GatewayError(
            ErrorCode.InsufficientQuota,
            `The monthly budget of ${label} (${formatUsd(limit)} USD) does not cover this request (estimated ${formatUsd(estimate)} USD).`,
          );
        }
      }
    }).catch((error: unknown) => {
      if (error instanceof GatewayError) throw error;
      throw new GatewayError(ErrorCode.NotReady, 'Easel cannot check budgets right now; retry shortly.', { cause: error });
    });
  }

  /** Swaps the reservation for the actual cost. */
  async settle(reservation: BudgetReservation, actual: Pico): Promise<void> {
    await this.dataSource.query(
      `UPDATE budget_spend SET reserved = greatest(reserved - $3::numeric, 0), spent = spent + $4::numeric
        WHERE scope = ANY($1) AND month = $2`,
      [reservation.scopes, reservation.month, toNumericString(reservation.estimate), toNumericString(actual)],
    );
  }
}

export function monthOf(date: Date): string {
  return `${date.getUTCFullYear()}-${String(date.getUTCMonth() + 1).padStart(2, '0')}-01`;
}
