import { Injectable } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ErrorCode } from '../../common/errors/error-code.enum.js';
import { GatewayError } from '../../common/errors/gateway.error.js';
import { AppConfig } from '../../config/app.config.js';
import type { Principal } from '../principal.js';
import { RateLimitStorage } from './rate-limit.storage.js';

const WINDOW_MS = 60_000;

/**
 * Requests per minute per API key (not per address): the key's `rpm`, else `RATE_LIMIT_RPM`, in
 * one fixed window per key (`RateLimitStorage`: Redis across instances, else this process).
 * `ApiKeyResolver` counts every keyed request to /v1 at the edge, before its body is read, so a
 * key over its limit costs no parsing. Every answer carries `x-ratelimit-limit`, `-remaining` and
 * `-reset` (seconds); a 429 also `Retry-After`.
 */
@Injectable()
export class KeyRateLimiter {
  constructor(
    private readonly storage: RateLimitStorage,
    private readonly config: AppConfig,
  ) {}

  /** Counts a request of `principal`; throws the 429 when its key is over its limit. */
  async count(principal: Principal, reply: FastifyReply): Promise<void> {
    const limit = principal.rpm ?? this.config.rateLimitRpm;
    const { hits, resetSeconds } = await this.storage.increment(principal.keyId ?? principal.prefix, WINDOW_MS);
    const reset = String(resetSeconds);
    const headers = {
      'x-ratelimit-limit': String(limit),
      'x-ratelimit-remaining': String(Math.max(0, limit - hits)),
      'x-ratelimit-reset': reset,
    };
    if (hits <= limit) {
      void reply.headers(headers);
      return;
    }
    throw new GatewayError(
      ErrorCode.RateLimitExceeded,
      `Rate limit reached: ${limit} requests per minute for this API key. Retry after ${resetSeconds} s.`,
      { headers: { 'retry-after': reset, ...headers } },
    );
  }
}
