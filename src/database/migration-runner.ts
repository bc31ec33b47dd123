import type { DataSource, QueryRunner } from 'typeorm';
import { ensureUsagePartitions, monthsAround } from '../usage/usage-partitions.js';
import { withSchemaLock } from './schema-lock.js';

/**
 * Applies pending migrations under the schema lock, so that instances starting together never run
 * the same migration twice, then makes sure `usage_records` has its partitions for the months
 * around now (the last one, this one and the ones ahead).
 */
export async function runMigrationsExclusively(dataSource: DataSource): Promise<void> {
  await withSchemaLock(dataSource, async (runner) => {
    await requireSupportedPostgres(runner);
    await dataSource.runMigrations({ transaction: 'each' });
    await ensureUsagePartitions(runner, monthsAround(new Date()));
  });
}

/** PostgreSQL 15 or later (the rollups' unique index treats NULLs as equal: NULLS NOT DISTINCT). */
async function requireSupportedPostgres(runner: QueryRunner): Promise<void> {
  const [{ server_version_num: version }] = (await runner.query('SHOW server_version_num')) as Array<{
    server_version_num: string;
  }>;
  if (Number(version) < 150000) {
    throw new Error(
      `PostgreSQL ${Math.floor(Number(version) / 10000)} is not supported: Easel needs PostgreSQL 15 or later`,
    );
  }
}
