import { Module } from '@nestjs/common';
import { TeamsModule } from '../teams/teams.module.js';
import { BudgetSpendModule } from './budget-spend.module.js';
import { BudgetsService } from './budgets.service.js';

@Module({ imports: [BudgetSpendModule, TeamsModule], providers: [BudgetsService], exports: [BudgetsService] })
export class BudgetsModule {}
