import { type ExecutionContext, Injectable } from '@nestjs/common';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { ThrottlerGuard, type ThrottlerLimitDetail } from '@nestjs/throttler';
import type { FastifyReply } from 'fastify';
import { ErrorCode } from '../../common/errors/error-code.enum.js';
import { GatewayError } from '../../common/errors/gateway.error.js';
import type { EaselRequest } from '../../common/http/request-context.js';

/**
 * Requests per minute per API key (not per IP): the key's `rpm`, else `RATE_LIMIT_RPM`. Counted at
 * the edge by `limitAtEdge` (from `ApiKeyResolver`, before the body is read), so that a key over
 * its limit costs no parsing; as a guard it then lets those requests pass, and counts only a
 * keyed request the edge did not (none today). Routes without an API key (public, admin) are not
 * limited here. Every answer carries `x-ratelimit-limit`, `-remaining` and `-reset` (seconds), a
 * 429 also `Retry-After`.
 */
@Injectable()
export class KeyThrottlerGuard extends ThrottlerGuard {
  /** Requests already counted at the edge. */
  private readonly counted = new WeakSet<object>();

  /** Counts `request` (whose principal is resolved) now; throws the 429 when the key is over its limit. */
  async limitAtEdge(request: EaselRequest, reply: FastifyReply): Promise<void> {
    // No controller has been chosen yet: a context without handler metadata (none of our routes has any).
    // The handler is only a key for metadata lookups (it has none), never called: unbound is fine.
    // eslint-disable-next-line @typescript-eslint/unbound-method
    const context = new ExecutionContextHost([request, reply], KeyThrottlerGuard, this.limitAtEdge);
    context.setType('http');
    await this.canActivate(context);
    this.counted.add(request);
  }

  protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<EaselRequest>();
    return !request.principal || request.principal.isAdmin || this.counted.has(request);
  }

  protected override async getTracker(request: Record<string, unknown>): Promise<string> {
    const principal = (request as unknown as EaselRequest).principal!;
    return principal.keyId ?? principal.prefix;
  }

  protected override async throwThrottlingException(
    _context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    throw new GatewayError(
      ErrorCode.RateLimitExceeded,
      `Rate limit reached: ${detail.limit} requests per minute for this API key. Retry after ${detail.timeToBlockExpire} s.`,
      {
        headers: {
          'retry-after': String(detail.timeToBlockExpire),
          'x-ratelimit-limit': String(detail.limit),
          'x-ratelimit-remaining': '0',
          'x-ratelimit-reset': String(detail.timeToExpire),
        },
      },
    );
  }
}
