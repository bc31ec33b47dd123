import { Injectable } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ErrorCode } from '../common/errors/error-code.enum.js';
import { GatewayError } from '../common/errors/gateway.error.js';
import type { EaselRequest } from '../common/http/request-context.js';
import { assertBodyType, routePolicy } from '../common/http/route-policy.js';
import { ApiKeyAuthenticator } from './api-key.authenticator.js';
import { bearerToken } from './api-key.guard.js';
import { type AuthFailureBlock, AuthFailureLimiter } from './auth-failure.limiter.js';
import type { Principal } from './principal.js';
import { KeyRateLimiter } from './throttling/key-rate-limiter.js';

/**
 * The checks that must come before a body is read (`RequestLifecycle` runs them at Fastify's
 * `preParsing`, after its `onRequest` step has started the request's exchange), in this order:
 * 1. who: on a route that needs a key (`routePolicy`), a missing, unknown, revoked or expired key
 *    is answered 401 (an address with too many failures 429, unless its key is one this instance
 *    knows), so an anonymous body is never read, however large;
 * 2. how often: the key's rate limit is counted (429 when over it);
 * 3. what: a body must be JSON, or a multipart form on image edits (415 otherwise).
 * The principal it resolves is what `ApiKeyGuard` then authorises and the usage record charges.
 */
@Injectable()
export class ApiKeyResolver {
  constructor(
    private readonly apiKeys: ApiKeyAuthenticator,
    private readonly failures: AuthFailureLimiter,
    private readonly rateLimiter: KeyRateLimiter,
  ) {}

  /** The three checks, in their order; on a route that needs a key, sets `request.principal`. */
  async admit(request: EaselRequest, reply: FastifyReply): Promise<void> {
    const path = request.routeOptions.url ?? request.url.split('?', 1)[0]!;
    if (routePolicy(path).needsKey) {
      const principal = await this.authenticate(request);
      request.principal = principal;
      if (!principal.isAdmin) await this.rateLimiter.count(principal, reply);
    }
    assertBodyType(request.method, path, request.headers);
  }

  private async authenticate(request: EaselRequest): Promise<Principal> {
    const token = bearerToken(request.headers.authorization);
    const block = this.failures.blocked(request.ip);
    if (block && !(token && this.apiKeys.knows(token))) throw tooManyFailures(block);
    try {
      return await this.apiKeys.authenticate(token);
    } catch (error) {
      if (error instanceof GatewayError && error.code === ErrorCode.InvalidApiKey)
        this.failures.recordFailure(request.ip);
      throw error;
    }
  }
}

function tooManyFailures(block: AuthFailureBlock): GatewayError {
  return new GatewayError(
    ErrorCode.RateLimitExceeded,
    `Too many requests with a missing or invalid API key from this address (${block.limit} a minute). Retry after ${block.retryAfterSeconds} s with a valid key.`,
    {
      headers: {
        'retry-after': String(block.retryAfterSeconds),
        'x-ratelimit-limit': String(block.limit),
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': String(block.retryAfterSeconds),
      },
    },
  );
}
