import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { RedisService } from '../redis/redis.service.js';

const CHANNEL = 'easel:api-key-changed';

/**
 * Tells every instance that a key changed (revoked, edited), so each drops its cached copy at
 * once. Over Redis pub/sub when `REDIS_URL` is set; without Redis, the key cache's 5 s lifetime
 * is the bound.
 */
@Injectable()
export class KeyInvalidationBus implements OnModuleInit {
  private readonly logger = new Logger(KeyInvalidationBus.name);
  private readonly listeners: Array<(keyHash: string) => void> = [];

  constructor(private readonly redis: RedisService) {}

  onModuleInit(): void {
    const subscriber = this.redis.subscriber();
    if (!subscriber) return;
    subscriber.on('message', (channel, keyHash) => {
      if (channel === CHANNEL) this.listeners.forEach((listener) => listener(keyHash));
    });
    subscriber
      .subscribe(CHANNEL)
      .catch((error: unknown) => this.logger.warn(`Cannot subscribe to key changes: ${String(error)}`));
  }

  onChange(listener: (keyHash: string) => void): void {
    this.listeners.push(listener);
  }

  /** Drops the key here and announces it to the other instances. */
  async publish(keyHash: string): Promise<void> {
    this.listeners.forEach((listener) => listener(keyHash));
    await this.redis
      .client()
      ?.publish(CHANNEL, keyHash)
      .catch((error: unknown) =>
        this.logger.warn(`Could not announce a key change (${String(error)}); other instances see it within 5 s`),
      );
  }
}
