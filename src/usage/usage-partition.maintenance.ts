import {
  type BeforeApplicationShutdown,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app.config.js';
import { withSchemaLock } from '../database/schema-lock.js';
import { UsageThumbnailRepository } from './thumbnails/usage-thumbnail.repository.js';
import { dropExpiredUsagePartitions, ensureUsagePartitions, monthsAround, retentionStart } from './usage-partitions.js';
import { sqlState } from './usage-record.writer.js';

const EVERY_MS = 60 * 60 * 1000;
/** Console previews deleted per transaction: short ones, so retention never holds many row locks at once. */
const PREVIEW_BATCH = 5_000;
/** SQLSTATE 55P03: a lock not granted within `lock_timeout`. */
const LOCK_NOT_AVAILABLE = '55P03';

/**
 * Keeps `usage_records`' monthly partitions ahead of time and, with `USAGE_RETENTION_MONTHS`,
 * drops the expired ones: at start and every hour, under the schema lock (one instance at a time).
 * A failure is logged and tried again next hour; records meanwhile still find their partition
 * (months ahead exist, and the writer creates a missing one).
 *
 * Console previews (`usage_thumbnails`, CONSOLE_THUMBNAILS) made before the first kept month go
 * in the same round, after the partitions: deleted by `created_at` in batches of `PREVIEW_BATCH`,
 * each its own short transaction with retention's lock timeout, outside the schema lock (instances
 * deleting at once skip each other's rows) and in the background (a month of previews must not
 * hold the start). Whatever CONSOLE_THUMBNAILS says now: previews made while it was on expire too.
 */
@Injectable()
export class UsagePartitionMaintenance
  implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly logger = new Logger(UsagePartitionMaintenance.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private expiring?: Promise<void>;
  private stopping = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly config: AppConfig,
    private readonly previews: UsageThumbnailRepository,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.maintain();
    this.timer = setInterval(() => void this.maintain(), EVERY_MS);
    this.timer.unref();
  }

  /** Stops deleting previews after the batch under way, and waits for it. */
  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    this.stopping = true;
    await this.expiring;
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /**
   * One round: missing partitions created, expired ones dropped, by the database's clock (an
   * instance whose clock is off must not drop a month early); then, in the background, expired
   * console previews deleted (`previewsExpired`). A round still running (waiting for the schema
   * lock) is not joined by another. Resolves when the partitions are done.
   */
  maintain(now?: Date): Promise<void> {
    this.running ??= this.round(now).finally(() => (this.running = undefined));
    return this.running;
  }

  /** Resolves when the deletion of expired previews a round started has ended (at once when none runs). */
  previewsExpired(): Promise<void> {
    return this.expiring ?? Promise.resolve();
  }

  private async round(at?: Date): Promise<void> {
    const retention = this.config.usageRetentionMonths;
    let now: Date | undefined;
    try {
      const { created, dropped } = await withSchemaLock(this.dataSource, async (runner) => {
        now = at ?? ((await runner.query('SELECT now() AS now')) as Array<{ now: Date }>)[0]!.now;
        return {
          created: await ensureUsagePartitions(runner, monthsAround(now)),
          dropped: retention === undefined ? [] : await dropExpiredUsagePartitions(runner, retention, now),
        };
      });
      if (created.length > 0) this.logger.log(`Created usage partitions ${created.join(', ')}`);
      if (dropped.length > 0) {
        this.logger.log(`Dropped usage partitions ${dropped.join(', ')} (USAGE_RETENTION_MONTHS=${retention})`);
      }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (sqlState(error) === LOCK_NOT_AVAILABLE) {
        this.logger.warn(
          `Usage partitions not dropped this round: ${message} (a reader holds the month); retrying next hour`,
        );
      } else {
        this.logger.error(`Usage partition maintenance failed: ${message}`);
      }
    }
    // Even when a month could not be dropped this round: the previews' deletion waits for no reader.
    if (retention !== undefined && now !== undefined && !this.stopping) {
      const before = retentionStart(now, retention);
      this.expiring ??= this.expirePreviews(before, retention).finally(() => (this.expiring = undefined));
    }
  }

  /** Deletes the previews made before `before`, a batch at a time, until none is left (or shutdown). */
  private async expirePreviews(before: Date, retention: number): Promise<void> {
    let deleted = 0;
    try {
      for (let batch = PREVIEW_BATCH; batch === PREVIEW_BATCH && !this.stopping;) {
        batch = await this.previews.deleteBatchCreatedBefore(before, PREVIEW_BATCH);
        deleted += batch;
      }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (sqlState(error) === LOCK_NOT_AVAILABLE) {
        this.logger.warn(`Console previews not all deleted this round: ${message}; retrying next hour`);
      } else {
        this.logger.error(`Deleting expired console previews failed: ${message}`);
      }
    }
    if (deleted > 0) {
      this.logger.log(
        `Deleted ${deleted} console previews made before ${before.toISOString()} (USAGE_RETENTION_MONTHS=${retention})`,
      );
    }
  }
}
