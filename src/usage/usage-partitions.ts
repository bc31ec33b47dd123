import type { DataSource, QueryRunner } from 'typeorm';
import { withSchemaLock } from '../database/schema-lock.js';

/**
 * `usage_records` is partitioned by UTC month of `created_at`: one table per month, named
 * `usage_records_yYYYYmMM`, attached for [first of the month, first of the next). Easel keeps the
 * partitions of last month, this month and the `MONTHS_AHEAD` next ones (at every start, hourly,
 * and on demand when a record lands in a month without one), and with `USAGE_RETENTION_MONTHS`
 * drops whole months past retention. All of it under the schema lock, so instances never race.
 * Tables attached under other names are never touched.
 */
export const MONTHS_AHEAD = 3;
const PARTITION_NAME = /^usage_records_y(\d{4})m(\d{2})$/;

type Queryable = Pick<QueryRunner, 'query'>;

/** The first instant of the UTC month `offset` months from the one holding `date`. */
export function monthStart(date: Date, offset = 0): Date {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + offset, 1));
}

/** The months whose partitions should exist at `now`: the last, this one, and `MONTHS_AHEAD` more. */
export function monthsAround(now: Date): Date[] {
  return Array.from({ length: MONTHS_AHEAD + 2 }, (_, index) => monthStart(now, index - 1));
}

export function partitionName(month: Date): string {
  return `usage_records_y${month.getUTCFullYear()}m${String(month.getUTCMonth() + 1).padStart(2, '0')}`;
}

/** The month a partition name stands for, or undefined for a table Easel did not name. */
function monthOfPartition(name: string): Date | undefined {
  const match = PARTITION_NAME.exec(name);
  return match ? new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, 1)) : undefined;
}

/** The partitions attached to `usage_records`, by name. */
async function attachedPartitions(runner: Queryable): Promise<Set<string>> {
  const rows = (await runner.query(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'usage_records'::regclass`,
  )) as Array<{ name: string }>;
  return new Set(rows.map((row) => row.name));
}

/**
 * Creates and attaches the partitions of the months holding `dates` that are missing; returns the
 * names created. Run it under the schema lock. A new partition is created on its own and then
 * attached, in one transaction: attaching takes a lighter lock on `usage_records` than
 * `CREATE TABLE … PARTITION OF`, so writes and reports go on meanwhile. A table of that name that
 * is not attached (a month an operator detached) is never adopted: that month is refused, named.
 */
export async function ensureUsagePartitions(runner: QueryRunner, dates: readonly Date[]): Promise<string[]> {
  const attached = await attachedPartitions(runner);
  const months = new Map(dates.map((date) => monthStart(date)).map((month) => [partitionName(month), month]));
  const created: string[] = [];
  for (const [name, month] of [...months].sort(([a], [b]) => a.localeCompare(b))) {
    if (attached.has(name)) continue;
    await inTransaction(runner, async () => {
      const [{ taken }] = (await runner.query(`SELECT to_regclass($1) IS NOT NULL AS taken`, [name])) as Array<{
        taken: boolean;
      }>;
      if (taken) {
        throw new Error(
          `Table ${name} exists but is not a partition of usage_records (detached by hand?): rename or drop it, or attach it again`,
        );
      }
      await runner.query(`CREATE TABLE "${name}" (LIKE "usage_records" INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
      await runner.query(
        `ALTER TABLE "usage_records" ATTACH PARTITION "${name}" FOR VALUES FROM ('${month.toISOString()}') TO ('${monthStart(month, 1).toISOString()}')`,
      );
    });
    created.push(name);
  }
  return created;
}

/** `ensureUsagePartitions` taking the schema lock itself (for records that found no partition). */
export function ensureUsagePartitionsLocked(dataSource: DataSource, dates: readonly Date[]): Promise<string[]> {
  return withSchemaLock(dataSource, (runner) => ensureUsagePartitions(runner, dates));
}

/**
 * With `USAGE_RETENTION_MONTHS` = `months`, keeps this month's partition and the `months` before
 * it; older ones are dropped whole, with their months' rollups, in one transaction (so reports never
 * count a day the records no longer hold). Dropping locks `usage_records` exclusively, and waits
 * for whoever reads the month (a report, a `pg_dump` of it): it gives up after `DROP_LOCK_TIMEOUT`
 * instead of holding every writer and report behind it (55P03, tried again next round). Returns
 * the names dropped. Run it under the schema lock.
 */
export async function dropExpiredUsagePartitions(runner: QueryRunner, months: number, now: Date): Promise<string[]> {
  const keepFrom = retentionStart(now, months);
  const expired = [...(await attachedPartitions(runner))]
    .map((name) => ({ name, month: monthOfPartition(name) }))
    .filter((partition): partition is { name: string; month: Date } => partition.month !== undefined)
    .filter(({ month }) => month < keepFrom)
    .sort((a, b) => a.name.localeCompare(b.name));
  if (expired.length === 0) return [];
  await inTransaction(runner, async () => {
    await runner.query(`SET LOCAL lock_timeout = '${DROP_LOCK_TIMEOUT}'`);
    for (const { name, month } of expired) {
      await runner.query(`DROP TABLE "${name}"`);
      await runner.query(`DELETE FROM "usage_daily_rollups" WHERE "day" >= $1::date AND "day" < $2::date`, [
        month.toISOString().slice(0, 10),
        monthStart(month, 1).toISOString().slice(0, 10),
      ]);
    }
  });
  return expired.map(({ name }) => name);
}

/**
 * The first instant `USAGE_RETENTION_MONTHS` = `months` keeps at `now`: the start of the month
 * `months` before this one. Usage records and console previews (`usage_thumbnails`) made before it
 * are dropped.
 */
export function retentionStart(now: Date, months: number): Date {
  return monthStart(now, -months);
}

/** How long retention waits for a lock it needs (dropping a month, deleting previews) before it gives up until next round. */
export const DROP_LOCK_TIMEOUT = '2s';

async function inTransaction(runner: QueryRunner, work: () => Promise<void>): Promise<void> {
  await runner.startTransaction();
  try {
    await work();
    await runner.commitTransaction();
  } catch (error) {
    await runner.rollbackTransaction();
    throw error;
  }
}

/**
 * PostgreSQL's refusal of a row whose `created_at` no partition covers: told by the function that
 * raised it, not by its message (which the server may translate).
 */
export function isMissingPartition(error: unknown): boolean {
  const fields = error as { code?: unknown; routine?: unknown; driverError?: { code?: unknown; routine?: unknown } };
  const driver = fields.driverError ?? fields;
  return driver.code === '23514' && driver.routine === 'ExecFindPartition';
}
