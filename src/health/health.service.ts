import { Injectable, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheckService, type HealthCheckResult, type HealthIndicatorFunction } from '@nestjs/terminus';
import { ErrorCode } from '../common/errors/error-code.enum.js';
import { GatewayError } from '../common/errors/gateway.error.js';
import { RedisService } from '../redis/redis.service.js';
import { DependencyHealthIndicators } from './dependency.health.js';

/** Readiness with @nestjs/terminus: PostgreSQL, and Redis when it is configured. */
@Injectable()
export class HealthService {
  constructor(
    private readonly health: HealthCheckService,
    private readonly dependencies: DependencyHealthIndicators,
    private readonly redis: RedisService,
  ) {}

  async ready(): Promise<HealthCheckResult> {
    const checks: HealthIndicatorFunction[] = [() => this.dependencies.database()];
    if (this.redis.enabled) checks.push(() => this.dependencies.redisServer());
    try {
      return await this.health.check(checks);
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      const result = error.getResponse() as HealthCheckResult;
      const down = Object.keys(result.error ?? {}).join(', ');
      throw new GatewayError(ErrorCode.NotReady, `Not ready: ${down || 'a dependency'} unreachable.`, { cause: error });
    }
  }
}
