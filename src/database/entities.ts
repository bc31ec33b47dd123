import { ApiKeyEntity } from '../auth/api-key.entity.js';

/** Every entity, listed explicitly (no globs). */
export const entities = [ApiKeyEntity];
