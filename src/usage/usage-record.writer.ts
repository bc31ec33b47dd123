import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { BudgetsService } from '../budgets/budgets.service.js';
import { storableText } from './storable-text.js';
import type { UsageRecordRow } from './usage.recorder.js';
import { ensureUsagePartitionsLocked, isMissingPartition } from './usage-partitions.js';
import { UsageRecordEntity } from './usage-record.entity.js';

/** The SQL type a column's values are read as from the batch's JSON. */
const SQL_TYPES: Record<string, string> = {
  uuid: 'uuid',
  timestamptz: 'timestamptz',
  varchar: 'text',
  char: 'text',
  text: 'text',
  integer: 'int4',
  smallint: 'int2',
  numeric: 'numeric',
};

/**
 * The statement behind `UsageRecorder` (table `usage_records`): inserts a batch of records, each
 * once, and settles the budget reservations of the records it inserted, in one transaction.
 * Batching, retries, the spool and the dead-letter file are the recorder's; this class only
 * writes, and throws PostgreSQL's errors as they are (`isDataError`, `isUnreachable` read them).
 */
@Injectable()
export class UsageRecordWriter {
  private readonly insertStatement: string;
  private readonly textColumns: ReadonlyArray<{ property: keyof UsageRecordRow; length: number | undefined }>;

  constructor(
    @InjectRepository(UsageRecordEntity) private readonly records: Repository<UsageRecordEntity>,
    private readonly budgets: BudgetsService,
  ) {
    this.insertStatement = buildInsert(records);
    this.textColumns = records.metadata.columns
      .filter((column) => ['varchar', 'char', 'text'].includes(String(column.type)))
      .map((column) => ({
        property: column.propertyName as keyof UsageRecordRow,
        length: column.length ? Number(column.length) : undefined,
      }));
  }

  /**
   * One statement per batch with one parameter, the rows as a JSON array (`json_to_recordset`):
   * one native `JSON.stringify` instead of a driver-escaped array per column, and no per-row SQL
   * to build. Money stays exact: `costUsd` is a numeric string, read as `numeric`. Rows already
   * stored (same id and time) are skipped; the same statement adds the rows inserted now to their days'
   * rollups, so the reports and the records never disagree. Rows that carry a budget reservation
   * settle it in the same transaction, for the rows inserted now: a record replayed twice settles
   * once.
   */
  async insert(rows: readonly UsageRecordRow[]): Promise<void> {
    try {
      await this.insertOnce(rows);
    } catch (error) {
      if (!isMissingPartition(error)) throw error;
      // A month without its partition (a record replayed from long ago, maintenance behind):
      // make it, and write again.
      await ensureUsagePartitionsLocked(
        this.records.manager.connection,
        rows.map((row) => new Date(row.createdAt)),
      );
      await this.insertOnce(rows);
    }
  }

  private async insertOnce(rows: readonly UsageRecordRow[]): Promise<void> {
    const sql = this.insertStatement;
    const parameters = [JSON.stringify(rows)];
    if (!rows.some((row) => row.reservation)) {
      await this.records.query(sql, parameters);
      return;
    }
    await this.records.manager.transaction(async (manager) => {
      const inserted: Array<{ id: string }> = await manager.query(sql, parameters);
      const ids = new Set(inserted.map(({ id }) => id.toLowerCase()));
      const settlements = rows
        .filter((row) => row.reservation && ids.has(String(row.id).toLowerCase()))
        .map((row) => ({ reservation: row.reservation!, actual: row.costUsd }));
      await this.budgets.settle(manager, settlements);
    });
  }

  /** The row with every text value as PostgreSQL can store it in its column. */
  storable(row: UsageRecordRow): UsageRecordRow {
    let clean: UsageRecordRow | undefined;
    for (const { property, length } of this.textColumns) {
      const value = row[property];
      if (typeof value !== 'string') continue;
      const text = storableText(value, length);
      if (text !== value) (clean ??= { ...row })[property] = text as never;
    }
    return clean ?? row;
  }
}

/** The columns of `usage_daily_rollups` that identify a row, and the sums it keeps. */
const ROLLUP_KEY = ['api_key_id', 'team', 'endpoint', 'model', 'provider', 'status'];
const ROLLUP_SUMS = ['images', 'input_tokens', 'output_tokens', 'cost_usd'];

/**
 * INSERT … ON CONFLICT DO NOTHING RETURNING the rows stored, and in the same statement their sums
 * into `usage_daily_rollups`; it returns the ids stored. Records and rollups are both written in
 * key order, so batches that overlap (a replay beside the first write) take their locks in one
 * order and never deadlock.
 */
function buildInsert(records: Repository<UsageRecordEntity>): string {
  const columns = records.metadata.columns.map((column) => {
    const type = SQL_TYPES[String(column.type)];
    if (!type) throw new Error(`usage_records.${column.databaseName}: no SQL type for ${String(column.type)}`);
    return { property: column.propertyName, name: column.databaseName, type };
  });
  const names = columns.map((column) => `"${column.name}"`).join(', ');
  const values = columns.map((column) => `r."${column.property}"`).join(', ');
  const fields = columns.map((column) => `"${column.property}" ${column.type}`).join(', ');
  const key = ROLLUP_KEY.map((name) => `"${name}"`).join(', ');
  const summed = ROLLUP_SUMS.map((name) => `"${name}"`).join(', ');
  const sums = ROLLUP_SUMS.map((name) => `sum("${name}")`).join(', ');
  const added = ['requests', ...ROLLUP_SUMS].map((name) => `"${name}" = u."${name}" + EXCLUDED."${name}"`).join(', ');
  return `WITH inserted AS (
    INSERT INTO "usage_records" (${names}) SELECT ${values} FROM json_to_recordset($1::json) AS r(${fields})
    ORDER BY r."createdAt", r."id"
    ON CONFLICT ("created_at", "id") DO NOTHING
    RETURNING "id", "created_at", ${key}, ${summed}
  ), rolled AS (
    INSERT INTO "usage_daily_rollups" AS u ("day", ${key}, "requests", ${summed})
    SELECT ("created_at" AT TIME ZONE 'UTC')::date, ${key}, count(*), ${sums} FROM inserted
    GROUP BY 1, ${key} ORDER BY 1, ${key}
    ON CONFLICT ("day", ${key}) DO UPDATE SET ${added}
  )
  SELECT "id" FROM inserted`;
}

/** The SQLSTATE of a PostgreSQL error (TypeORM copies the driver's fields onto its own error). */
export function sqlState(error: unknown): string | undefined {
  const fields = error as { code?: unknown; driverError?: { code?: unknown } };
  const code = typeof fields.code === 'string' ? fields.code : fields.driverError?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** Refused for the data itself (class 22 data exception, 23 integrity violation): retrying cannot help. */
export function isDataError(error: unknown): boolean {
  const state = sqlState(error);
  return state !== undefined && (state.startsWith('22') || state.startsWith('23'));
}

/** PostgreSQL could not be reached or is not taking connections (no SQLSTATE, class 08 or 57). */
export function isUnreachable(error: unknown): boolean {
  const state = sqlState(error);
  return state === undefined || state.startsWith('08') || state.startsWith('57');
}
