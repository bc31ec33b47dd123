import { Injectable } from '@nestjs/common';
import { type HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { RedisService } from '../redis/redis.service.js';
import { ImageStore } from '../storage/image.store.js';

/**
 * Terminus indicators for Easel's dependencies: PostgreSQL answers `SELECT 1`, Redis answers PING
 * (checked only when REDIS_URL is set), the S3 bucket answers HeadBucket (only with
 * IMAGE_STORE=s3). Each gives up after two seconds.
 */
@Injectable()
export class DependencyHealthIndicators {
  constructor(
    private readonly indicators: HealthIndicatorService,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly redis: RedisService,
    private readonly images: ImageStore,
  ) {}

  database(): Promise<HealthIndicatorResult> {
    return this.probe('database', () => this.dataSource.query('SELECT 1'));
  }

  redisServer(): Promise<HealthIndicatorResult> {
    return this.probe('redis', () => this.redis.client()!.ping());
  }

  imageStore(): Promise<HealthIndicatorResult> {
    return this.probe('image_store', () => this.images.ping());
  }

  private async probe(key: string, attempt: () => Promise<unknown>): Promise<HealthIndicatorResult> {
    const check = this.indicators.check(key);
    try {
      await Promise.race([
        attempt(),
        new Promise((_, reject) => setTimeout(() => reject(new Error('no answer within 2 s')), 2_000).unref()),
      ]);
      return check.up();
    } catch (error) {
      return check.down({ message: error instanceof Error ? error.message : String(error) });
    }
  }
}
