import { hash, randomBytes } from 'node:crypto';
import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { LRUCache } from 'lru-cache';
import { IsNull, Repository } from 'typeorm';
import { ErrorCode } from '../common/errors/error-code.enum.js';
import { GatewayError } from '../common/errors/gateway.error.js';
import { ConsoleSessionEntity } from './console-session.entity.js';

/** A session is re-read after this long: how late another instance learns of a sign-out. */
const CACHE_TTL_MS = 5_000;
const CACHE_MAX_ENTRIES = 10_000;
const SWEEP_EVERY_MS = 10 * 60_000;

/** A live session, as a request needs it. */
export interface ConsoleSession {
  id: string;
  tokenSha256: string;
  /** The key to resolve on every request (`ApiKeyAuthenticator.authenticateHash`). */
  keyHash: string;
  csrfToken: string;
  expiresAt: Date;
}

/** Who signs in: what the row keeps of the key. */
export interface SessionOwner {
  keyHash: string;
  keyPrefix: string;
  isAdmin: boolean;
  team: string;
}

interface CachedSession {
  /** null: no live session has this token (unknown, signed out, expired). */
  session: ConsoleSession | null;
  until: number;
}

/**
 * Console sessions in PostgreSQL (`console_sessions`), by the SHA-256 of their cookie's token.
 * A token is read once per few seconds (live or not), so a cookie request does not cost a query;
 * a sign-out here takes effect at once, on other instances within CACHE_TTL_MS. Expired rows are
 * deleted every ten minutes.
 */
@Injectable()
export class ConsoleSessionStore implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(ConsoleSessionStore.name);
  private readonly cache = new LRUCache<string, CachedSession>({ max: CACHE_MAX_ENTRIES });
  /** token hash → the query reading it: one at a time per token. */
  private readonly reading = new Map<string, Promise<ConsoleSession | null>>();
  /** Bumped by every sign-out, so that a read begun before it does not cache the session after it. */
  private changes = 0;
  private sweeper?: NodeJS.Timeout;

  constructor(@InjectRepository(ConsoleSessionEntity) private readonly sessions: Repository<ConsoleSessionEntity>) {}

  onModuleInit(): void {
    this.sweeper = setInterval(
      () =>
        void this.deleteExpired().catch((error: unknown) =>
          this.logger.warn(`Expired console sessions not deleted: ${String(error)}`),
        ),
      SWEEP_EVERY_MS,
    );
    this.sweeper.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
  }

  /** A new session for `owner`, lasting `ttlSeconds`; the token is returned this once (it goes in the cookie). */
  async create(owner: SessionOwner, ttlSeconds: number): Promise<{ token: string; session: ConsoleSession }> {
    const token = randomBytes(32).toString('base64url');
    const entity = await this.sessions.save(
      this.sessions.create({
        ...owner,
        tokenSha256: hashToken(token),
        csrfToken: randomBytes(32).toString('base64url'),
        expiresAt: new Date(Date.now() + ttlSeconds * 1000),
        revokedAt: null,
      }),
    );
    const session = toSession(entity);
    this.cache.set(session.tokenSha256, { session, until: Date.now() + CACHE_TTL_MS });
    return { token, session };
  }

  /**
   * The live session of `token`, or null (unknown, signed out, expired). While PostgreSQL is away,
   * a session read before is still served; an unknown token is 503 `not_ready`.
   */
  async find(token: string): Promise<ConsoleSession | null> {
    const tokenSha256 = hashToken(token);
    const now = Date.now();
    const cached = this.cache.get(tokenSha256);
    if (cached && cached.until > now) return live(cached.session, now);
    try {
      return live(await this.read(tokenSha256), Date.now());
    } catch (error) {
      if (cached?.session) return live(cached.session, now);
      throw new GatewayError(ErrorCode.NotReady, 'Easel cannot verify console sessions right now; retry shortly.', {
        cause: error,
      });
    }
  }

  /** Whether `token` is a live session this instance has read (no query): what a throttled address may still use. */
  knows(token: string): boolean {
    const cached = this.cache.get(hashToken(token));
    return live(cached?.session ?? null, Date.now()) !== null;
  }

  /** Signs the session out: its cookie stops working here at once, elsewhere within seconds. */
  async revoke(session: ConsoleSession): Promise<void> {
    await this.sessions.update({ id: session.id, revokedAt: IsNull() }, { revokedAt: () => 'now()' });
    // After the update: a read that began before it may have seen the session live.
    this.changes++;
    this.cache.set(session.tokenSha256, { session: null, until: Date.now() + CACHE_TTL_MS });
  }

  /** Deletes the rows of sessions past their expiry (signed out or not); returns how many. */
  async deleteExpired(): Promise<number> {
    const result = await this.sessions.createQueryBuilder().delete().where('expires_at < now()').execute();
    return result.affected ?? 0;
  }

  private read(tokenSha256: string): Promise<ConsoleSession | null> {
    let pending = this.reading.get(tokenSha256);
    if (pending) return pending;
    const changes = this.changes;
    pending = this.sessions
      .findOneBy({ tokenSha256, revokedAt: IsNull() })
      .then((entity) => {
        const session = entity ? toSession(entity) : null;
        if (changes === this.changes) this.cache.set(tokenSha256, { session, until: Date.now() + CACHE_TTL_MS });
        return session;
      })
      .finally(() => this.reading.delete(tokenSha256));
    this.reading.set(tokenSha256, pending);
    return pending;
  }
}

/** Tokens are 256-bit random, so one SHA-256 is enough; hex. */
export function hashToken(token: string): string {
  return hash('sha256', token, 'hex');
}

function live(session: ConsoleSession | null, now: number): ConsoleSession | null {
  return session && session.expiresAt.getTime() > now ? session : null;
}

function toSession(entity: ConsoleSessionEntity): ConsoleSession {
  const { id, tokenSha256, keyHash, csrfToken, expiresAt } = entity;
  return { id, tokenSha256, keyHash, csrfToken, expiresAt };
}
