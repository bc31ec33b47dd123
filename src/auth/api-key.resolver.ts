import { Injectable } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ErrorCode } from '../common/errors/error-code.enum.js';
import { GatewayError } from '../common/errors/gateway.error.js';
import type { EaselRequest } from '../common/http/request-context.js';
import { assertBodyType, routePolicy } from '../common/http/route-policy.js';
import {
  acceptsSessionCookie,
  assertCsrfToken,
  ConsoleSessionCookie,
  CSRF_HEADER,
  needsCsrfToken,
  readSessionCookie,
} from '../console/console-session.cookie.js';
import { type ConsoleSession, ConsoleSessionStore } from '../console/console-session.store.js';
import { ApiKeyAuthenticator } from './api-key.authenticator.js';
import { type AuthFailureBlock, AuthFailureLimiter } from './auth-failure.limiter.js';
import type { Principal } from './principal.js';
import { KeyRateLimiter } from './throttling/key-rate-limiter.js';

/** A console session and the principal of its key as it is now. */
export interface SessionPrincipal {
  session: ConsoleSession;
  principal: Principal;
}

/**
 * The checks that must come before a body is read (`RequestLifecycle` runs them at Fastify's
 * `preParsing`, after its `onRequest` step has started the request's exchange), in this order:
 * 1. who: on a route that needs a key (`routePolicy`), a missing, unknown, revoked or expired key
 *    is answered 401 (an address with too many failures 429, unless its key is one this instance
 *    knows), so an anonymous body is never read, however large;
 * 2. how often: the key's rate limit is counted (429 when over it);
 * 3. what: a body must be JSON, or a multipart form on image edits (415 otherwise).
 * The principal it resolves is what `ApiKeyGuard` then authorises and the usage record charges.
 *
 * Who is calling is the bearer key; a request without an `Authorization` header may instead carry
 * the console's session cookie on the routes the console calls (`acceptsSessionCookie`): its
 * session must be live, its key still valid (resolved again by its hash, so revoking the key ends
 * the session), and a change must carry the session's CSRF token (403 otherwise).
 */
@Injectable()
export class ApiKeyResolver {
  constructor(
    private readonly apiKeys: ApiKeyAuthenticator,
    private readonly failures: AuthFailureLimiter,
    private readonly rateLimiter: KeyRateLimiter,
    private readonly sessions: ConsoleSessionStore,
    private readonly cookie: ConsoleSessionCookie,
  ) {}

  /** The three checks, in their order; on a route that needs a key, sets `request.principal`. */
  async admit(request: EaselRequest, reply: FastifyReply): Promise<void> {
    const path = routePathOf(request);
    if (routePolicy(path).needsKey) {
      const principal = (await this.sessionPrincipal(request, path)) ?? (await this.authenticate(request));
      request.principal = principal;
      if (!principal.isAdmin) await this.rateLimiter.count(principal, reply);
    }
    assertBodyType(request.method, path, request.headers);
  }

  /**
   * The principal of a request authenticated by the console session cookie, or undefined when the
   * cookie does not count for it (an `Authorization` header, a route or method the cookie does not
   * serve, no cookie): then its bearer key decides.
   */
  async sessionPrincipal(request: EaselRequest, path = routePathOf(request)): Promise<Principal | undefined> {
    if (request.headers.authorization !== undefined || !acceptsSessionCookie(request.method, path)) return undefined;
    if (readSessionCookie(request.headers.cookie).kind === 'absent') return undefined;
    const { session, principal } = await this.consoleSession(request);
    if (needsCsrfToken(request.method)) assertCsrfToken(session.csrfToken, request.headers[CSRF_HEADER]);
    return principal;
  }

  /**
   * The console session of the request's cookie and its key's principal now; 401 (with the cookie
   * cleared) when there is none, it has ended, or its key was revoked or has expired. Failures
   * count against the address like bad bearer keys.
   */
  async consoleSession(request: EaselRequest): Promise<SessionPrincipal> {
    return this.findSession(request, async (session) => ({ session, principal: await this.keyOf(session) }));
  }

  /** The live console session of the request's cookie, whatever its key has become since (signing out). */
  liveSession(request: EaselRequest): Promise<ConsoleSession> {
    return this.findSession(request, (session) => Promise.resolve(session));
  }

  /** Signing in: the principal of `key`; a bad key counts against `address` like a bad bearer key. */
  authenticateKey(key: string, address: string): Promise<Principal> {
    return this.counted(address, this.apiKeys.knows(key), () => this.apiKeys.authenticate(key));
  }

  private authenticate(request: EaselRequest): Promise<Principal> {
    const token = bearerToken(request.headers.authorization);
    return this.counted(request.ip, token !== undefined && this.apiKeys.knows(token), () =>
      this.apiKeys.authenticate(token),
    );
  }

  private async findSession<T>(request: EaselRequest, then: (session: ConsoleSession) => Promise<T>): Promise<T> {
    const cookie = readSessionCookie(request.headers.cookie);
    if (cookie.kind === 'absent') {
      throw new GatewayError(ErrorCode.InvalidApiKey, 'Not signed in to the console: POST /console/api/session.');
    }
    const known = cookie.kind === 'token' && this.sessions.knows(cookie.token);
    return this.counted(request.ip, known, async () => {
      const session = cookie.kind === 'token' ? await this.sessions.find(cookie.token) : null;
      if (!session) throw this.ended('The console session has ended or is not valid');
      return then(session);
    });
  }

  private async keyOf(session: ConsoleSession): Promise<Principal> {
    try {
      return await this.apiKeys.authenticateHash(session.keyHash);
    } catch (error) {
      if (error instanceof GatewayError && error.code === ErrorCode.InvalidApiKey)
        throw this.ended('The key this console session signed in with has been revoked or has expired');
      throw error;
    }
  }

  private ended(why: string): GatewayError {
    return new GatewayError(ErrorCode.InvalidApiKey, `${why}: sign in again (POST /console/api/session).`, {
      headers: { 'set-cookie': this.cookie.clear() },
    });
  }

  /**
   * Runs an authentication for a client address: refused with 429 before it runs while the address
   * has too many failures (unless its credential is one this instance knows); a 401 is a failure.
   */
  private async counted<T>(address: string, known: boolean, attempt: () => Promise<T>): Promise<T> {
    const block = this.failures.blocked(address);
    if (block && !known) throw tooManyFailures(block);
    try {
      return await attempt();
    } catch (error) {
      if (error instanceof GatewayError && error.code === ErrorCode.InvalidApiKey) this.failures.recordFailure(address);
      throw error;
    }
  }
}

/** The route's pattern (`/admin/keys/:id`), or the request's path where no route matched. */
function routePathOf(request: EaselRequest): string {
  return request.routeOptions.url ?? request.url.split('?', 1)[0]!;
}

export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
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
