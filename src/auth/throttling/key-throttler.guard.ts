import { type ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerGuard, type ThrottlerLimitDetail } from '@nestjs/throttler';
import { ErrorCode } from '../../common/errors/error-code.enum.js';
import { GatewayError } from '../../common/errors/gateway.error.js';
import type { EaselRequest } from '../../common/http/request-context.js';

/**
 * Requests per minute per API key (not per IP): the key's `rpm`, else `RATE_LIMIT_RPM`. Routes
 * without an API key (public, admin) are not limited here.
 */
@Injectable()
export class KeyThrottlerGuard extends ThrottlerGuard {
  protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
    const principal = context.switchToHttp().getRequest<EaselRequest>().principal;
    return !principal || principal.isAdmin;
  }

  protected override async getTracker(request: Record<string, unknown>): Promise<string> {
    const principal = (request as unknown as EaselRequest).principal!;
    return principal.keyId ?? principal.prefix;
  }

  protected override async throwThrottlingException(_context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    throw new GatewayError(
      ErrorCode.RateLimitExceeded,
      `Rate limit reached: ${detail.limit} requests per minute for this API key. Retry after ${detail.timeToBlockExpire} s.`,
      { headers: { 'retry-after': String(detail.timeToBlockExpire) } },
    );
  }
}
