import { InitialSchema1795485210429 } from './1795485210429-InitialSchema.js';
import { UsageTeamsPricing1795485802472 } from './1795485802472-UsageTeamsPricing.js';
import { KeyLimitsAndBudgets1795487870877 } from './1795487870877-KeyLimitsAndBudgets.js';
import { IdempotencyRecords1795490062446 } from './1795490062446-IdempotencyRecords.js';
import { IdempotencyLeases1796223977738 } from './1796223977738-IdempotencyLeases.js';
import { UsageInputImages1796304679404 } from './1796304679404-UsageInputImages.js';
import { UsageServedModel1796315561029 } from './1796315561029-UsageServedModel.js';
import { UsagePartitionsAndRollups1796400000000 } from './1796400000000-UsagePartitionsAndRollups.js';
import { ConsoleSessions1796408267679 } from './1796408267679-ConsoleSessions.js';
import { UsageThumbnails1796415764925 } from './1796415764925-UsageThumbnails.js';

/** Every migration, in order, listed explicitly (no globs). */
export const migrations = [
  InitialSchema1795485210429,
  UsageTeamsPricing1795485802472,
  KeyLimitsAndBudgets1795487870877,
  IdempotencyRecords1795490062446,
  IdempotencyLeases1796223977738,
  UsageInputImages1796304679404,
  UsageServedModel1796315561029,
  UsagePartitionsAndRollups1796400000000,
  ConsoleSessions1796408267679,
  UsageThumbnails1796415764925,
];
