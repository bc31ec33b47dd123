import { Module } from '@nestjs/common';
import { BudgetSpendRepository } from './budget-spend.repository.js';
import { BudgetStatusService } from './budget-status.service.js';

/**
 * The `budget_spend` table and its read side, apart from `BudgetsModule` (admission and
 * settlement), which needs `TeamsModule`: so that `TeamsModule` and `AuthModule` can show where
 * each budget stands without a cycle between modules. `BudgetSpendRepository` is exported for
 * `BudgetsModule` only; other modules read through `BudgetStatusService`.
 */
@Module({
  providers: [BudgetSpendRepository, BudgetStatusService],
  exports: [BudgetSpendRepository, BudgetStatusService],
})
export class BudgetSpendModule {}
