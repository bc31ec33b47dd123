import { Injectable, ServiceUnavailableException } from '@nestjs/common';
import { type HealthCheckResult, HealthCheckService, type HealthIndicatorFunction } from '@nestjs/terminus';
import { ErrorCode } from '../common/errors/error-code.enum.js';
import { GatewayError } from '../common/errors/gateway.error.js';
import { AppConfig } from '../config/app.config.js';
import { RedisService } from '../redis/redis.service.js';
import { DependencyHealthIndicators } from './dependency.health.js';
import { UsageSpoolHealthIndicator } from './usage-spool.health.js';

/** What a failed check says in the 503's message. */
const FAILURES: Record<string, string> = {
  database: 'database unreachable',
  redis: 'redis unreachable',
  image_store: 'image store unreachable',
  usage_spool: 'usage spool not draining',
};

/**
 * Readiness with @nestjs/terminus: PostgreSQL, Redis when it is configured, the S3 bucket with
 * IMAGE_STORE=s3 (an instance that cannot store images would answer `url` requests with 503), and
 * a usage spool that drains (see UsageSpoolHealthIndicator).
 */
@Injectable()
export class HealthService {
  constructor(
    private readonly health: HealthCheckService,
    private readonly dependencies: DependencyHealthIndicators,
    private readonly redis: RedisService,
    private readonly usageSpool: UsageSpoolHealthIndicator,
    private readonly config: AppConfig,
  ) {}

  async ready(): Promise<HealthCheckResult> {
    const checks: HealthIndicatorFunction[] = [() => this.dependencies.database()];
    if (this.redis.enabled) checks.push(() => this.dependencies.redisServer());
    if (this.config.storage.driver === 's3') checks.push(() => this.dependencies.imageStore());
    checks.push(() => this.usageSpool.check());
    try {
      return await this.health.check(checks);
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      const result = error.getResponse() as HealthCheckResult;
      const down = Object.keys(result.error ?? {}).map((key) => FAILURES[key] ?? `${key} down`);
      throw new GatewayError(ErrorCode.NotReady, `Not ready: ${down.join(', ') || 'a dependency unreachable'}.`, {
        cause: error,
      });
    }
  }
}
