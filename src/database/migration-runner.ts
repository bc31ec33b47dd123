import type { DataSource } from 'typeorm';

const MIGRATION_LOCK_ID = 0x45_41_53_45; // "EASE"

/**
 * Applies pending migrations under a PostgreSQL advisory lock, so that instances starting together
 * never run the same migration twice.
 */
export async function runMigrationsExclusively(dataSource: DataSource): Promise<void> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
    await dataSource.runMigrations({ transaction: 'each' });
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]).catch(() => undefined);
    await runner.release();
  }
}
