import { Injectable, Logger } from '@nestjs/common';
import { RedisService } from '../../redis/redis.service.js';

/** What counting one hit found: the hits in the window so far, and the seconds until it ends (at least 1). */
export interface WindowCount {
  hits: number;
  resetSeconds: number;
}

const REDIS_RETRY_MS = 5_000;
const SWEEP_INTERVAL_MS = 60_000;

/** One fixed window per key: count the hit, start the window on the first, report what is left. */
const INCREMENT = `
local hits = redis.call('INCR', KEYS[1])
if hits == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) ttl = tonumber(ARGV[1]) end
return {hits, ttl}`;

/**
 * The same fixed windows in this process's memory: a count and an end per key, O(1) per hit.
 * (Throttler's own memory store keeps every hit's expiry and filters them all on each hit, which
 * costs a busy key more the more it is used.) Ended windows are swept once a minute.
 */
export class LocalWindowCounter {
  private readonly windows = new Map<string, { hits: number; endsAt: number }>();
  private lastSweep = Date.now();

  increment(key: string, ttlMs: number, now = Date.now()): WindowCount {
    if (now - this.lastSweep >= SWEEP_INTERVAL_MS) this.sweep(now);
    let window = this.windows.get(key);
    if (!window || window.endsAt <= now) {
      window = { hits: 0, endsAt: now + ttlMs };
      this.windows.set(key, window);
    }
    window.hits++;
    return { hits: window.hits, resetSeconds: Math.max(1, Math.ceil((window.endsAt - now) / 1000)) };
  }

  get size(): number {
    return this.windows.size;
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [key, window] of this.windows) if (window.endsAt <= now) this.windows.delete(key);
  }
}

/**
 * Rate-limit counters: in Redis when `REDIS_URL` is set, so the limit holds across instances;
 * in this process otherwise. If Redis fails, the count falls back to this process (the limit then
 * holds per instance) rather than refusing traffic.
 */
@Injectable()
export class RateLimitStorage {
  private readonly logger = new Logger(RateLimitStorage.name);
  private readonly local = new LocalWindowCounter();
  /** After a Redis failure, count locally for a few seconds instead of waiting on Redis per request. */
  private redisDownUntil = 0;

  constructor(private readonly redis: RedisService) {}

  /** Counts a hit of `key` in its window of `ttlMs` (Redis key `easel:rl:default:<key>`, as before). */
  async increment(key: string, ttlMs: number): Promise<WindowCount> {
    const client = this.redis.client();
    if (client && Date.now() >= this.redisDownUntil) {
      try {
        const [hits, remainingMs] = (await client.eval(INCREMENT, 1, `easel:rl:default:${key}`, ttlMs)) as [
          number,
          number,
        ];
        return { hits, resetSeconds: Math.max(1, Math.ceil(remainingMs / 1000)) };
      } catch (error) {
        this.redisDownUntil = Date.now() + REDIS_RETRY_MS;
        this.logger.warn(
          `Rate limits counted in this instance for ${REDIS_RETRY_MS / 1000} s: Redis failed (${error instanceof Error ? error.message : String(error)})`,
        );
      }
    }
    return this.local.increment(key, ttlMs);
  }
}
