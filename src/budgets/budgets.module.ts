import { Module } from '@nestjs/common';
import { TeamsModule } from '../teams/teams.module.js';
import { BudgetSpendRepository } from './budget-spend.repository.js';
import { BudgetsService } from './budgets.service.js';

@Module({ imports: [TeamsModule], providers: [BudgetsService, BudgetSpendRepository], exports: [BudgetsService] })
export class BudgetsModule {}
