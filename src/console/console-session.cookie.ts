import { Injectable } from '@nestjs/common';
import { hashesEqual } from '../auth/api-key.secret.js';
import { ErrorCode } from '../common/errors/error-code.enum.js';
import { GatewayError } from '../common/errors/gateway.error.js';
import { AppConfig } from '../config/app.config.js';

export const SESSION_COOKIE = 'easel_session';
/** The header a change made with the session cookie must carry: the session's `csrf_token`. */
export const CSRF_HEADER = 'x-csrf-token';
/** How long a console session lasts from sign-in (12 h, a working day); then sign in again. */
export const CONSOLE_SESSION_TTL_SECONDS = 12 * 60 * 60;

/** A session token: 32 random bytes, base64url (43 characters). */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/**
 * What a request's `Cookie` header says of the session: no `easel_session` cookie, one well-formed
 * token, or something that cannot be a session (malformed, or several `easel_session` cookies, as a
 * cookie planted by a sibling domain would make).
 */
export type SessionCookieValue = { kind: 'absent' } | { kind: 'token'; token: string } | { kind: 'invalid' };

/** Reads the `easel_session` cookie of a `Cookie` header (RFC 6265: `name=value` pairs split by `;`). */
export function readSessionCookie(header: string | undefined): SessionCookieValue {
  if (!header) return { kind: 'absent' };
  const values: string[] = [];
  for (const pair of header.split(';')) {
    const equals = pair.indexOf('=');
    if (equals === -1 || pair.slice(0, equals).trim() !== SESSION_COOKIE) continue;
    values.push(pair.slice(equals + 1).trim());
  }
  if (values.length === 0) return { kind: 'absent' };
  const [value] = values;
  return values.length === 1 && TOKEN_PATTERN.test(value!) ? { kind: 'token', token: value! } : { kind: 'invalid' };
}

const COOKIE_METHODS = new Set(['GET', 'HEAD', 'POST', 'PATCH', 'PUT', 'DELETE']);
const READ_METHODS = new Set(['GET', 'HEAD']);
/** Read-only routes of the caller's own data that the console calls besides /admin. */
const READ_ONLY_PREFIXES = ['/v1/models', '/v1/usage'];

/**
 * Whether a request may be authenticated by the session cookie (when it has no `Authorization`
 * header): the admin API, and reading `/v1/models` and `/v1/usage`. Never the generation routes,
 * whose callers are programs with keys, not browsers. `path` is the route's pattern or the request's path.
 */
export function acceptsSessionCookie(method: string, path: string): boolean {
  if (under(path, '/admin')) return COOKIE_METHODS.has(method);
  return READ_METHODS.has(method) && READ_ONLY_PREFIXES.some((prefix) => under(path, prefix));
}

/** Whether a request authenticated by the session cookie changes something, so needs the CSRF header. */
export function needsCsrfToken(method: string): boolean {
  return !READ_METHODS.has(method);
}

function under(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}/`);
}

/**
 * The `Set-Cookie` values of the session: HttpOnly (scripts cannot read it), SameSite=Strict (other
 * sites' pages cannot send it), Path=/ (the admin API and /v1 read it too), Secure when
 * PUBLIC_BASE_URL is https.
 */
@Injectable()
export class ConsoleSessionCookie {
  private readonly secure: string;

  constructor(config: AppConfig) {
    this.secure = new URL(config.http.publicBaseUrl).protocol === 'https:' ? '; Secure' : '';
  }

  /** The cookie holding `token`, for `maxAgeSeconds`. */
  issue(token: string, maxAgeSeconds: number): string {
    return `${SESSION_COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAgeSeconds}${this.secure}`;
  }

  /** Tells the browser to drop the cookie. */
  clear(): string {
    return this.issue('', 0);
  }
}

/**
 * A change made with the session cookie must carry the session's CSRF token in `x-csrf-token`
 * (another site can make a browser send the cookie, never this header): 403 otherwise. Compared
 * in constant time.
 */
export function assertCsrfToken(expected: string, header: string | string[] | undefined): void {
  const sent = typeof header === 'string' ? header : undefined;
  if (sent !== undefined && hashesEqual(sent, expected)) return;
  throw new GatewayError(
    ErrorCode.CsrfTokenInvalid,
    `${sent ? 'The x-csrf-token header does not match this console session' : 'The x-csrf-token header is missing'}: a change made with the session cookie needs the header "${CSRF_HEADER}" with the csrf_token of POST or GET /console/api/session.`,
  );
}
