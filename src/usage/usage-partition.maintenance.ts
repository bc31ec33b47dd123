import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app.config.js';
import { withSchemaLock } from '../database/schema-lock.js';
import { dropExpiredUsagePartitions, ensureUsagePartitions, monthsAround } from './usage-partitions.js';

const EVERY_MS = 60 * 60 * 1000;

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

  /** One round: missing partitions created, expired ones dropped. */
  async maintain(now = new Date()): Promise<void> {
    const retention = this.config.usageRetentionMonths;
    try {
      const { created, dropped } = await withSchemaLock(this.dataSource, async (runner) => ({
        created: await ensureUsagePartitions(runner, monthsAround(now)),
        dropped: retention === undefined ? [] : await dropExpiredUsagePartitions(runner, retention, now),
      }));
      if (created.length > 0) this.logger.log(`Created usage partitions ${created.join(', ')}`);
      if (dropped.length > 0) {
        this.logger.log(`Dropped usage partitions ${dropped.join(', ')} (USAGE_RETENTION_MONTHS=${retention})`);
      }
    } catch (error) {
      this.logger.error(
        `Usage partition maintenance failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
}
