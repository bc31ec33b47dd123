import { Module } from '@nestjs/common';
import { TeamsModule } from '../teams/teams.module.js';
import { BudgetsService } from './budgets.service.js';

@Module({ imports: [TeamsModule], providers: [BudgetsService], exports: [BudgetsService] })
export class BudgetsModule {}
