import { join } from 'node:path';
import { Injectable, Logger, Optional, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { MetricsService } from '../metrics/metrics.service.js';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { AppConfig } from '../config/app.config.js';
import { UsageRecordEntity } from './usage-record.entity.js';
import { UsageSpool } from './usage-spool.js';

const FLUSH_INTERVAL_MS = 100;
const BATCH_SIZE = 1000;
const REPLAY_INTERVAL_MS = 2_000;

/** A record as queued and spooled: plain JSON (dates as ISO strings). */
export type UsageRecordRow = Omit<UsageRecordEntity, 'createdAt'> & { createdAt: string };

/**
 * Writes usage records off the hot path: `record()` only queues; a timer inserts batches. When
 * PostgreSQL refuses, the batch goes to an append-only spool in the data dir, replayed when the
 * database answers again. Inserts are `ON CONFLICT DO NOTHING` on the record id, so a replay
 * never duplicates. Shutdown flushes what is queued.
 */
@Injectable()
export class UsageRecorder implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(UsageRecorder.name);
  private readonly spool: UsageSpool;
  private queue: UsageRecordRow[] = [];
  private flushing?: Promise<void>;
  private flushTimer?: NodeJS.Timeout;
  private replayTimer?: NodeJS.Timeout;
  private spoolPending = true;
  private readonly insertStatement: ReturnType<typeof buildInsert>;

  constructor(
    @InjectRepository(UsageRecordEntity) private readonly records: Repository<UsageRecordEntity>,
    config: AppConfig,
    @Optional() metrics?: MetricsService,
  ) {
    this.spool = new UsageSpool(join(config.dataDir, 'usage-spool'));
    this.insertStatement = buildInsert(records);
    metrics?.gauge('easel_usage_queue_depth', 'Usage records waiting to be written', () => this.queue.length);
    metrics?.gauge('easel_usage_spool_bytes', 'Usage records spooled while PostgreSQL was unreachable', () => this.spool.size());
  }

  onApplicationBootstrap(): void {
    this.flushTimer = setInterval(() => void this.flush(), FLUSH_INTERVAL_MS);
    this.flushTimer.unref();
    this.replayTimer = setInterval(() => void this.replaySpool(), REPLAY_INTERVAL_MS);
    this.replayTimer.unref();
    void this.replaySpool();
  }

  /** Queues a record; never waits for the database. */
  record(row: UsageRecordRow): void {
    this.queue.push(row);
    if (this.queue.length >= BATCH_SIZE) void this.flush();
  }

  get queueDepth(): number {
    return this.queue.length;
  }

  /** Writes everything queued (to PostgreSQL, or to the spool when it is down). */
  flush(): Promise<void> {
    this.flushing ??= this.drain().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.flushTimer);
    clearInterval(this.replayTimer);
    await this.flush();
    while (this.queue.length > 0) await this.flush();
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, BATCH_SIZE);
      try {
        await this.insert(batch);
      } catch (error) {
        this.logger.warn(`PostgreSQL refused ${batch.length} usage records (${describe(error)}); spooling them`);
        await this.spool.append(batch).catch((spoolError: unknown) => {
          this.logger.error(`Could not spool usage records: ${describe(spoolError)}; keeping them in memory`);
          this.queue.unshift(...batch);
        });
        this.spoolPending = true;
        return;
      }
    }
  }

  private async replaySpool(): Promise<void> {
    if (!this.spoolPending) return;
    try {
      const replayed = await this.spool.replay<UsageRecordRow>((batch) => this.insert(batch), BATCH_SIZE);
      this.spoolPending = false;
      if (replayed > 0) this.logger.log(`Replayed ${replayed} spooled usage records`);
    } catch {
      // PostgreSQL is still away; the next tick tries again.
    }
  }

  /**
   * One statement per batch: a parameter per column holding that column's values as an array,
   * expanded with unnest (31 parameters whatever the batch size, no per-row SQL to build).
   */
  private async insert(batch: readonly UsageRecordRow[]): Promise<void> {
    const { sql, columns } = this.insertStatement;
    await this.records.query(
      sql,
      columns.map(({ property }) => batch.map((row) => row[property])),
    );
  }

}

const SQL_ARRAY_TYPES: Record<string, string> = {
  uuid: 'uuid',
  timestamptz: 'timestamptz',
  varchar: 'text',
  char: 'text',
  text: 'text',
  integer: 'int4',
  smallint: 'int2',
  numeric: 'numeric',
};

function buildInsert(records: Repository<UsageRecordEntity>) {
  const columns = records.metadata.columns.map((column) => {
    const type = SQL_ARRAY_TYPES[String(column.type)];
    if (!type) throw new Error(`usage_records.${column.databaseName}: no array type for ${String(column.type)}`);
    return { property: column.propertyName as keyof UsageRecordRow, name: column.databaseName, type };
  });
  const names = columns.map((column) => `"${column.name}"`).join(', ');
  const arrays = columns.map((column, i) => `$${i + 1}::${column.type}[]`).join(', ');
  return {
    columns,
    sql: `INSERT INTO "usage_records" (${names}) SELECT * FROM unnest(${arrays}) ON CONFLICT ("id") DO NOTHING`,
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
