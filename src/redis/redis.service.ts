import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { Redis } from 'ioredis';
import { AppConfig } from '../config/app.config.js';

/**
 * The Redis connections shared by the instances (rate-limit counters, cache invalidation), when
 * `REDIS_URL` is set; `undefined` otherwise, and callers fall back to this process's memory.
 * Connected at start; a command waits at most a second, so a Redis outage slows nothing down for
 * long (callers then fall back).
 */
@Injectable()
export class RedisService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(RedisService.name);
  private commands?: Redis;
  private subscriptions?: Redis;

  constructor(private readonly config: AppConfig) {}

  /** Connects at start, so the first request does not wait for it; a Redis that is down is only a warning. */
  async onModuleInit(): Promise<void> {
    const redis = this.client();
    if (!redis) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(done, 2_000);
      redis.once('ready', done);
    });
  }

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
      commandTimeout: role === 'commands' ? 1_000 : undefined,
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

  /** Closes at once (no QUIT round trip that could wait on a Redis that is gone), ending reconnects. */
  onApplicationShutdown(): void {
    this.commands?.disconnect();
    this.subscriptions?.disconnect();
  }
}
