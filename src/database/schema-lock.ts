import type { DataSource, QueryRunner } from 'typeorm';

const MIGRATION_LOCK_ID = 0x45_41_53_45; // "EASE"

/**
 * Runs `work` on a connection of its own holding Easel's schema lock, a PostgreSQL advisory lock:
 * migrations and partition maintenance take it, so instances never do either twice at once.
 */
export async function withSchemaLock<T>(dataSource: DataSource, work: (runner: QueryRunner) => Promise<T>): Promise<T> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
    return await work(runner);
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]).catch(() => undefined);
    await runner.release();
  }
}
