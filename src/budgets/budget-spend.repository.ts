import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';

/** One reservation to swap for its request's actual cost. Money as numeric(20,12) strings. */
export interface BudgetSettlement {
  scopes: readonly string[];
  month: string;
  reserved: string;
  actual: string;
}

/** What one scope has committed in one month, as numeric(20,12) strings. */
export interface ScopeSpend {
  spent: string;
  reserved: string;
}

/** The queries behind monthly budgets (table `budget_spend`). */
@Injectable()
export class BudgetSpendRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Adds `estimate` to the reservations of every scope, in one transaction, each only if its
   * settled spend plus open reservations plus the estimate stays within its limit (one
   * conditional upsert, no lock to take). Returns the index of the first limit that refused (and
   * then nothing is reserved), or -1.
   */
  async reserve(
    limits: ReadonlyArray<{ scope: string; limit: string }>,
    month: string,
    estimate: string,
  ): Promise<number> {
    return this.dataSource
      .transaction(async (manager) => {
        for (const [index, { scope, limit }] of limits.entries()) {
          const admitted: unknown[] = await manager.query(
            `INSERT INTO budget_spend (scope, month, spent, reserved)
             SELECT $1, $2, 0, $3::numeric WHERE $3::numeric <= $4::numeric
           ON CONFLICT (scope, month) DO UPDATE SET reserved = budget_spend.reserved + EXCLUDED.reserved
             WHERE budget_spend.spent + budget_spend.reserved + EXCLUDED.reserved <= $4::numeric
           RETURNING 1`,
            [scope, month, estimate, limit],
          );
          // Throwing rolls back the reservations already made for this request.
          if (admitted.length === 0) throw new Refused(index);
        }
        return -1;
      })
      .catch((error: unknown) => {
        if (error instanceof Refused) return error.index;
        throw error;
      });
  }

  /**
   * The rows of `scopes` for `month`, by scope, in one query (the primary key's index). A scope
   * without a row has neither spent nor reserved anything that month.
   */
  async findMonth(scopes: readonly string[], month: string): Promise<Map<string, ScopeSpend>> {
    if (scopes.length === 0) return new Map();
    const rows: Array<{ scope: string } & ScopeSpend> = await this.dataSource.query(
      `SELECT scope, spent, reserved FROM budget_spend WHERE month = $1 AND scope = ANY($2::text[])`,
      [month, scopes],
    );
    return new Map(rows.map(({ scope, spent, reserved }) => [scope, { spent, reserved }]));
  }

  /**
   * Swaps reservations for actual costs, in the caller's transaction (`UsageRecordWriter`'s, so a
   * settlement commits with its usage record, and only then). Sums per scope and month first, and
   * locks the rows in (scope, month) order: the order in which `reserve` takes them (a request's
   * `key:` scope before its `team:` scope), so two writers cannot deadlock.
   */
  async settle(manager: EntityManager, settlements: readonly BudgetSettlement[]): Promise<void> {
    if (settlements.length === 0) return;
    const scopes: string[] = [];
    const months: string[] = [];
    const reserved: string[] = [];
    const actual: string[] = [];
    for (const settlement of settlements) {
      for (const scope of settlement.scopes) {
        scopes.push(scope);
        months.push(settlement.month);
        reserved.push(settlement.reserved);
        actual.push(settlement.actual);
      }
    }
    await manager.query(
      `WITH settled AS (
         SELECT scope, month, sum(reserved) AS reserved, sum(actual) AS actual
           FROM unnest($1::text[], $2::date[], $3::numeric[], $4::numeric[]) AS s(scope, month, reserved, actual)
          GROUP BY scope, month
       ), locked AS (
         SELECT b.scope, b.month FROM budget_spend b JOIN settled USING (scope, month)
          ORDER BY b.scope, b.month FOR UPDATE OF b
       )
       UPDATE budget_spend b SET reserved = greatest(b.reserved - settled.reserved, 0), spent = b.spent + settled.actual
         FROM settled JOIN locked USING (scope, month)
        WHERE b.scope = settled.scope AND b.month = settled.month`,
      [scopes, months, reserved, actual],
    );
  }
}

class Refused extends Error {
  constructor(readonly index: number) {
    super('budget refused');
  }
}
