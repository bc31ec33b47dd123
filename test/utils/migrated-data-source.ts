import { DataSource } from 'typeorm';
import { runMigrationsExclusively } from '../../src/database/migration-runner.js';
import { buildDataSourceOptions } from '../../src/database/typeorm.options.js';
import { createTestDatabase, type TestDatabase } from './test-database.js';

/**
 * For repository specs (no app, no HTTP): a TypeORM DataSource on a fresh database of the run's
 * PostgreSQL, migrated as the app migrates its own, for the tests of the calling `describe`
 * (created in its `beforeAll`, dropped in its `afterAll`).
 */
export function useMigratedDataSource(): { readonly dataSource: DataSource } {
  let database: TestDatabase | undefined;
  let dataSource: DataSource | undefined;
  beforeAll(async () => {
    database = await createTestDatabase();
    dataSource = await new DataSource(buildDataSourceOptions(database.url)).initialize();
    await runMigrationsExclusively(dataSource);
  });
  afterAll(async () => {
    await dataSource?.destroy();
    await database?.drop();
  });
  return {
    get dataSource(): DataSource {
      if (!dataSource) throw new Error('The database is created in beforeAll: use it in hooks and tests only.');
      return dataSource;
    },
  };
}
