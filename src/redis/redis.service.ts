import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { AppConfig } from '../config/app.config.js';

/**
 * The Redis connections shared by the instances (rate-limit counters, cache invalidation), when
 * `REDIS_URL` is set; `undefined` otherwise, and callers fall back to this process's memory.
 * Commands fail fast while Redis is away instead of queueing.
 */
@Injectable()
export class RedisService implements OnApplicationShutdown {
  private readonly logger = new Logger(RedisService.name);
  private commands?: Redis;
  private subscriptions?: Redis;

  constructor(private readonly config: AppConfig) {}

  get enabled(): boolean {
    return this.config.redisUrl !== undefined;
  }

  /** For commands. */
  client(): Redis | undefined {
    if (!this.config.redisUrl) return undefined;
    this.commands ??= this.connect('commands');
    return this.commands;
  }

  /** A dedicated connection for SUBSCRIBE. */
  subscriber(): Redis | undefined {
    if (!this.config.redisUrl) return undefined;
    this.subscriptions ??= this.connect('subscriptions');
    return this.subscriptions;
  }

  private connect(role: string): Redis {
    const redis = new Redis(this.config.redisUrl!, {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: role === 'subscriptions',
      connectTimeout: 2_000,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    });
    let warned = false;
    redis.on('error', (error) => {
      if (!warned) this.logger.warn(`Redis (${role}) unavailable: ${error.message}`);
      warned = true;
    });
    redis.on('ready', () => {
      warned = false;
    });
    return redis;
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([this.commands, this.subscriptions].map((redis) => redis?.quit().catch(() => redis.disconnect())));
  }
}
