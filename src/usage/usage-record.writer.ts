import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { BudgetsService } from '../budgets/budgets.service.js';
import { storableText } from './storable-text.js';
import type { UsageRecordRow } from './usage.recorder.js';
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
   * stored (same id) are skipped. Rows that carry a budget reservation settle it in the same
   * transaction, for the rows inserted now: a record replayed twice settles once.
   */
  async insert(rows: readonly UsageRecordRow[]): Promise<void> {
    const sql = this.insertStatement;
    const parameters = [JSON.stringify(rows)];
    if (!rows.some((row) => row.reservation)) {
      await this.records.query(sql, parameters);
      return;
    }
    await this.records.manager.transaction(async (manager) => {
      const inserted: Array<{ id: string }> = await manager.query(`${sql} RETURNING "id"`, parameters);
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

function buildInsert(records: Repository<UsageRecordEntity>): string {
  const columns = records.metadata.columns.map((column) => {
    const type = SQL_TYPES[String(column.type)];
    if (!type) throw new Error(`usage_records.${column.databaseName}: no SQL type for ${String(column.type)}`);
    return { property: column.propertyName, name: column.databaseName, type };
  });
  const names = columns.map((column) => `"${column.name}"`).join(', ');
  const values = columns.map((column) => `r."${column.property}"`).join(', ');
  const fields = columns.map((column) => `"${column.property}" ${column.type}`).join(', ');
  return `INSERT INTO "usage_records" (${names}) SELECT ${values} FROM json_to_recordset($1::json) AS r(${fields}) ON CONFLICT ("id") DO NOTHING`;
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
