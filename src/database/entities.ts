import { ApiKeyEntity } from '../auth/api-key.entity.js';
import { BudgetSpendEntity } from '../budgets/budget-spend.entity.js';
import { ConsoleSessionEntity } from '../console/console-session.entity.js';
import { IdempotencyRecordEntity } from '../idempotency/idempotency-record.entity.js';
import { TeamEntity } from '../teams/team.entity.js';
import { PriceVersionEntity } from '../usage/pricing/price-version.entity.js';
import { UsageRecordEntity } from '../usage/usage-record.entity.js';

/** Every entity, listed explicitly (no globs). */
export const entities = [
  ApiKeyEntity,
  TeamEntity,
  PriceVersionEntity,
  UsageRecordEntity,
  BudgetSpendEntity,
  IdempotencyRecordEntity,
  ConsoleSessionEntity,
];
