import { InitialSchema1795485210429 } from './1795485210429-InitialSchema.js';

/** Every migration, in order, listed explicitly (no globs). */
export const migrations = [InitialSchema1795485210429];
