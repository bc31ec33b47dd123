import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { Principal } from '../auth/principal.js';
import { ErrorCode } from '../common/errors/error-code.enum.js';
import { GatewayError } from '../common/errors/gateway.error.js';
import { formatUsd, type Pico, toNumericString } from '../common/money/usd.js';
import { TeamsService } from '../teams/teams.service.js';
import { keyScope, monthOf, teamScope } from './budget-scope.js';
import { BudgetSpendRepository } from './budget-spend.repository.js';

export { monthOf } from './budget-scope.js';

export interface BudgetReservation {
  scopes: string[];
  month: string;
  estimate: Pico;
}

/**
 * A reservation as it travels with its usage record (journal, spool) to settlement: plain JSON,
 * the estimate as a numeric(20,12) string.
 */
export interface ReservationToSettle {
  scopes: string[];
  month: string;
  estimate: string;
}

/**
 * Monthly budgets per key and per team (calendar month, UTC). Before the upstream is called, the
 * request's estimated cost is reserved against every budget that applies, in one transaction: a
 * budget whose settled spend plus open reservations plus this estimate would pass its limit
 * refuses the request (429 insufficient_quota), so concurrent requests cannot overrun it
 * together. When the response ends, the reservation travels with the request's usage record, and
 * `UsageRecordWriter` swaps it for the actual cost in the transaction that stores the record: a
 * settlement is made exactly once, when its record is first stored, even if PostgreSQL was away
 * when the response ended (the record waits in the spool, and its settlement with it).
 */
@Injectable()
export class BudgetsService {
  constructor(
    private readonly spend: BudgetSpendRepository,
    private readonly teams: TeamsService,
  ) {}

  /**
   * undefined when no budget applies (then neither the estimate nor any database work is done).
   * `estimateCost` is called only when a budget applies.
   */
  async reserve(
    principal: Principal,
    estimateCost: () => Pico,
    now = new Date(),
  ): Promise<BudgetReservation | undefined> {
    const limits: Array<{ scope: string; limit: Pico; label: string }> = [];
    if (principal.monthlyBudget !== null && principal.keyId) {
      limits.push({ scope: keyScope(principal.keyId), limit: principal.monthlyBudget, label: 'this API key' });
    }
    const teamBudget = await this.teams.monthlyBudgetOf(principal.team);
    if (teamBudget !== null)
      limits.push({ scope: teamScope(principal.team), limit: teamBudget, label: `team '${principal.team}'` });
    if (limits.length === 0) return undefined;

    const month = monthOf(now);
    const estimate = estimateCost();
    const refused = await this.spend
      .reserve(
        limits.map(({ scope, limit }) => ({ scope, limit: toNumericString(limit) })),
        month,
        toNumericString(estimate),
      )
      .catch((error: unknown) => {
        throw new GatewayError(ErrorCode.NotReady, 'Easel cannot check budgets right now; retry shortly.', {
          cause: error,
        });
      });
    if (refused >= 0) {
      const { label, limit } = limits[refused]!;
      throw new GatewayError(
        ErrorCode.InsufficientQuota,
        `The monthly budget of ${label} (${formatUsd(limit)} USD) does not cover this request (estimated ${formatUsd(estimate)} USD).`,
      );
    }
    return { scopes: limits.map((limit) => limit.scope), month, estimate };
  }

  /** What the usage record carries to settle `reservation`. */
  toSettle(reservation: BudgetReservation): ReservationToSettle {
    return { scopes: reservation.scopes, month: reservation.month, estimate: toNumericString(reservation.estimate) };
  }

  /**
   * Swaps reservations for actual costs (numeric strings), inside `manager`'s transaction: the
   * `UsageRecordWriter`'s, for the records it has just inserted (and only those, so a replayed record
   * never settles twice).
   */
  settle(
    manager: EntityManager,
    settlements: ReadonlyArray<{ reservation: ReservationToSettle; actual: string }>,
  ): Promise<void> {
    return this.spend.settle(
      manager,
      settlements.map(({ reservation, actual }) => ({
        scopes: reservation.scopes,
        month: reservation.month,
        reserved: reservation.estimate,
        actual,
      })),
    );
  }
}
