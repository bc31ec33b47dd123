import { Injectable } from '@nestjs/common';
import { ApiKeyResolver } from '../auth/api-key.resolver.js';
import { hashApiKey } from '../auth/api-key.secret.js';
import type { EaselRequest } from '../common/http/request-context.js';
import {
  assertCsrfToken,
  CONSOLE_SESSION_TTL_SECONDS,
  ConsoleSessionCookie,
  CSRF_HEADER,
} from './console-session.cookie.js';
import { ConsoleSessionStore } from './console-session.store.js';
import { ConsoleSessionResponse } from './dto/console-session.dto.js';

/** What a sign-in answers: the session, and the `Set-Cookie` value carrying its token. */
export interface SignedIn {
  session: ConsoleSessionResponse;
  cookie: string;
}

/** Signing in to the console with a key, reading the session, signing out. */
@Injectable()
export class ConsoleSessionService {
  constructor(
    private readonly resolver: ApiKeyResolver,
    private readonly sessions: ConsoleSessionStore,
    private readonly cookie: ConsoleSessionCookie,
  ) {}

  /**
   * Exchanges `key` for a session of CONSOLE_SESSION_TTL_SECONDS (less if the key expires sooner);
   * a wrong key is 401 and counts against `address` like a wrong bearer key.
   */
  async signIn(key: string, address: string): Promise<SignedIn> {
    const principal = await this.resolver.authenticateKey(key, address);
    const untilKeyExpires = principal.expiresAt
      ? Math.floor((principal.expiresAt.getTime() - Date.now()) / 1000)
      : Infinity;
    const ttlSeconds = Math.max(1, Math.min(CONSOLE_SESSION_TTL_SECONDS, untilKeyExpires));
    const { token, session } = await this.sessions.create(
      { keyHash: hashApiKey(key), keyPrefix: principal.prefix, isAdmin: principal.isAdmin, team: principal.team },
      ttlSeconds,
    );
    return { session: ConsoleSessionResponse.from(session, principal), cookie: this.cookie.issue(token, ttlSeconds) };
  }

  /** The session of the request's cookie, as its key is now; 401 when it has ended. */
  async current(request: EaselRequest): Promise<ConsoleSessionResponse> {
    const { session, principal } = await this.resolver.consoleSession(request);
    return ConsoleSessionResponse.from(session, principal);
  }

  /** Ends the session of the request's cookie (its CSRF token required); returns the `Set-Cookie` that clears it. */
  async signOut(request: EaselRequest): Promise<string> {
    const session = await this.resolver.liveSession(request);
    assertCsrfToken(session.csrfToken, request.headers[CSRF_HEADER]);
    await this.sessions.revoke(session);
    return this.cookie.clear();
  }
}
