import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { LRUCache } from 'lru-cache';
import { IsNull, Repository } from 'typeorm';
import { ErrorCode } from '../common/errors/error-code.enum.js';
import { GatewayError } from '../common/errors/gateway.error.js';
import { parseUsd } from '../common/money/usd.js';
import { AppConfig } from '../config/app.config.js';
import { ApiKeyEntity } from './api-key.entity.js';
import { hashApiKey, hashesEqual } from './api-key.secret.js';
import { KeyInvalidationBus } from './key-invalidation.bus.js';
import { KeyLastUsedTracker } from './key-last-used.tracker.js';
import type { Principal } from './principal.js';

const CACHE_TTL_MS = 5_000;
/** A key in use is re-read this long before its entry ages out, so its requests never wait for PostgreSQL. */
const CACHE_REFRESH_AHEAD_MS = 1_000;
const CACHE_MAX_ENTRIES = 10_000;
/** Hashes PostgreSQL did not know are remembered briefly, apart from known keys (which they cannot evict). */
const UNKNOWN_CACHE_TTL_MS = 5_000;
const UNKNOWN_CACHE_MAX_ENTRIES = 1_000;

interface CachedPrincipal {
  principal: Principal;
  expiresAt: number;
}

/**
 * Who is calling: a bearer token to its principal, on every request. `ADMIN_API_KEY` is compared
 * in memory; database keys are read once per key (however many requests ask at the same time),
 * cached for a few seconds and re-read ahead of expiry, served stale while PostgreSQL is down, and
 * dropped at once when `KeyInvalidationBus` announces a change.
 */
@Injectable()
export class ApiKeyAuthenticator {
  /**
   * key hash → principal of a known key: fresh for CACHE_TTL_MS, then served stale while PostgreSQL
   * is down; the least recently used go first when it is full.
   */
  private readonly cache = new LRUCache<string, CachedPrincipal>({ max: CACHE_MAX_ENTRIES });
  /** key hash → until when it is known to be unknown: a client retrying a wrong key does not cost a query each time. */
  private readonly unknown = new LRUCache<string, number>({ max: UNKNOWN_CACHE_MAX_ENTRIES });
  private readonly envAdminHash?: string;
  /** key hash → the query reading it: one at a time per key, however many requests ask. */
  private readonly reading = new Map<string, Promise<Principal | null>>();
  /** Bumped by every key change, so that a read begun before it does not fill the cache after it. */
  private changes = 0;

  constructor(
    @InjectRepository(ApiKeyEntity) private readonly keys: Repository<ApiKeyEntity>,
    config: AppConfig,
    invalidation: KeyInvalidationBus,
    private readonly lastUsed: KeyLastUsedTracker,
  ) {
    this.envAdminHash = config.adminApiKey ? hashApiKey(config.adminApiKey) : undefined;
    invalidation.onChange((keyHash) => {
      this.changes++;
      this.cache.delete(keyHash);
      this.unknown.delete(keyHash);
    });
  }

  /** Resolves a bearer token to its principal; throws 401 for a missing, unknown, revoked or expired key. */
  async authenticate(token: string | undefined): Promise<Principal> {
    if (!token) {
      throw new GatewayError(
        ErrorCode.InvalidApiKey,
        'Missing API key. Send it as "Authorization: Bearer sk-easel-…".',
      );
    }
    return this.authenticateHash(hashApiKey(token));
  }

  /**
   * The principal of the key whose hash (`hashApiKey`) is `hash`, with the checks and cache of
   * `authenticate`: what a console session, which keeps only the hash of its key, resolves on
   * every request.
   */
  async authenticateHash(hash: string): Promise<Principal> {
    const principal = this.isEnvAdmin(hash) ? envAdmin() : await this.lookup(hash);
    if (!principal) {
      throw new GatewayError(ErrorCode.InvalidApiKey, 'Incorrect API key provided.');
    }
    if (principal.expiresAt && principal.expiresAt.getTime() <= Date.now()) {
      throw new GatewayError(ErrorCode.InvalidApiKey, `API key ${principal.prefix}… has expired.`);
    }
    if (principal.keyId) this.lastUsed.noteUse(principal.keyId);
    return principal;
  }

  /**
   * Whether `token` is a key this instance knows to be valid (or knew, while PostgreSQL is down),
   * without asking PostgreSQL: what a client address throttled for failed authentications may
   * still use.
   */
  knows(token: string): boolean {
    const hash = hashApiKey(token);
    return this.isEnvAdmin(hash) || this.cache.has(hash);
  }

  private isEnvAdmin(hash: string): boolean {
    return this.envAdminHash !== undefined && hashesEqual(hash, this.envAdminHash);
  }

  private async lookup(hash: string): Promise<Principal | null> {
    const now = Date.now();
    const cached = this.cache.get(hash);
    if (cached && cached.expiresAt > now) {
      // Fire and forget: this request is answered from the cache; the refresh is for the next ones.
      if (cached.expiresAt - now < CACHE_REFRESH_AHEAD_MS) void this.read(hash).catch(() => undefined);
      return cached.principal;
    }
    if ((this.unknown.get(hash) ?? 0) > now) return null;
    try {
      return await this.read(hash);
    } catch (error) {
      // PostgreSQL is away: keep serving keys we knew (stale), refuse only keys we never saw.
      if (cached) return cached.principal;
      throw new GatewayError(ErrorCode.NotReady, 'Easel cannot verify API keys right now; retry shortly.', {
        cause: error,
      });
    }
  }

  private read(hash: string): Promise<Principal | null> {
    let pending = this.reading.get(hash);
    if (pending) return pending;
    const changes = this.changes;
    pending = this.keys
      .findOneBy({ keyHash: hash, revokedAt: IsNull() })
      .then((entity) => {
        const principal = entity ? toPrincipal(entity) : null;
        if (changes === this.changes) {
          if (principal) {
            this.cache.set(hash, { principal, expiresAt: Date.now() + CACHE_TTL_MS });
          } else {
            // Revoked (or never issued): no stale entry may serve it while PostgreSQL is down.
            this.cache.delete(hash);
            this.unknown.set(hash, Date.now() + UNKNOWN_CACHE_TTL_MS);
          }
        }
        return principal;
      })
      .finally(() => this.reading.delete(hash));
    this.reading.set(hash, pending);
    return pending;
  }
}

function envAdmin(): Principal {
  return {
    keyId: null,
    // Not a slice of the token: ADMIN_API_KEY may be short enough for a prefix to give it away.
    prefix: 'ADMIN_API_KEY',
    name: 'ADMIN_API_KEY',
    team: 'admin',
    isAdmin: true,
    allowedModels: null,
    expiresAt: null,
    rpm: null,
    monthlyBudget: null,
  };
}

function toPrincipal(entity: ApiKeyEntity): Principal {
  const { prefix, name, team, isAdmin, allowedModels, expiresAt, rpm } = entity;
  const monthlyBudget = entity.monthlyBudgetUsd === null ? null : parseUsd(entity.monthlyBudgetUsd);
  return { keyId: entity.id, prefix, name, team, isAdmin, allowedModels, expiresAt, rpm, monthlyBudget };
}
