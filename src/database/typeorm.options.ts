import type { DataSourceOptions } from 'typeorm';
import { entities } from './entities.js';
import { migrations } from './migrations/index.js';

/** The one options builder, shared by the app and the TypeORM CLI (`ormconfig.ts`). */
export function buildDataSourceOptions(url: string): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities,
    migrations,
    migrationsTableName: 'typeorm_migrations',
    uuidExtension: 'pgcrypto',
    migrationsTransactionMode: 'each',
    synchronize: false,
    // Query errors surface as exceptions where they are handled; logging them here would print parameters.
    logging: ['warn', 'migration'],
    extra: { max: 20, connectionTimeoutMillis: 5_000 },
  };
}
