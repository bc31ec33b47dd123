import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app.config.js';
import { withSchemaLock } from '../database/schema-lock.js';
import { dropExpiredUsagePartitions, ensureUsagePartitions, monthsAround } from './usage-partitions.js';
import { sqlState } from './usage-record.writer.js';

const EVERY_MS = 60 * 60 * 1000;
/** SQLSTATE 55P03: a lock not granted within `lock_timeout`. */
const LOCK_NOT_AVAILABLE = '55P03';

/**
 * Keeps `usage_records`' monthly partitions ahead of time and, with `USAGE_RETENTION_MONTHS`,
 * drops the expired ones: at start and every hour, under the schema lock (one instance at a time).
 * A failure is logged and tried again next hour; records meanwhile still find their partition
 * (months ahead exist, and the writer creates a missing one).
 */
@Injectable()
export class UsagePartitionMaintenance implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(UsagePartitionMaintenance.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.maintain();
    this.timer = setInterval(() => void this.maintain(), EVERY_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /**
   * One round: missing partitions created, expired ones dropped, by the database's clock (an
   * instance whose clock is off must not drop a month early). A round still running (waiting for
   * the schema lock) is not joined by another.
   */
  maintain(now?: Date): Promise<void> {
    this.running ??= this.round(now).finally(() => (this.running = undefined));
    return this.running;
  }

  private async round(at?: Date): Promise<void> {
    const retention = this.config.usageRetentionMonths;
    try {
      const { created, dropped } = await withSchemaLock(this.dataSource, async (runner) => {
        const now = at ?? ((await runner.query('SELECT now() AS now')) as Array<{ now: Date }>)[0]!.now;
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
  }
}
