import { InitialSchema1795485210429 } from './1795485210429-InitialSchema.js';
import { UsageTeamsPricing1795485802472 } from './1795485802472-UsageTeamsPricing.js';

/** Every migration, in order, listed explicitly (no globs). */
export const migrations = [InitialSchema1795485210429, UsageTeamsPricing1795485802472];
