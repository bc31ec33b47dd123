import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { LRUCache } from 'lru-cache';
import { IsNull, Repository } from 'typeorm';
import { AppConfig } from '../config/app.config.js';
import { ErrorCode } from '../common/errors/error-code.enum.js';
import { GatewayError, InvalidRequestError } from '../common/errors/gateway.error.js';
import { ApiKeyEntity } from './api-key.entity.js';
import { generateApiKeySecret, hashApiKey, hashesEqual } from './api-key.secret.js';
import type { Principal } from './principal.js';
import { KeyInvalidationBus } from './key-invalidation.bus.js';
import { parseUsd } from '../common/money/usd.js';
import { TeamsService } from '../teams/teams.service.js';

export interface CreateApiKeyInput {
  name: string;
  team: string;
  isAdmin?: boolean;
  allowedModels?: string[] | null;
  expiresAt?: Date | null;
  rpm?: number | null;
  monthlyBudgetUsd?: string | null;
}

/** Fields a PATCH may change; `null` clears a limit, `undefined` leaves it. */
export type UpdateApiKeyInput = Partial<Omit<CreateApiKeyInput, 'isAdmin'>>;

/** last_used_at is written at most this often per key (a write per request would be waste). */
const LAST_USED_RESOLUTION_MS = 60_000;

const CACHE_TTL_MS = 5_000;
/** A key in use is re-read this long before its entry ages out, so its requests never wait for PostgreSQL. */
const CACHE_REFRESH_AHEAD_MS = 1_000;
const CACHE_MAX_ENTRIES = 10_000;
/** Hashes PostgreSQL did not know are remembered briefly, apart from known keys (which they cannot evict). */
const UNKNOWN_CACHE_TTL_MS = 5_000;
const UNKNOWN_CACHE_MAX_ENTRIES = 1_000;
/** Seeded by the migration that created teams. */
export const DEFAULT_TEAM = 'default';

interface CachedPrincipal {
  principal: Principal;
  expiresAt: number;
}

@Injectable()
export class ApiKeysService {
  /**
   * key hash → principal of a known key: fresh for CACHE_TTL_MS, then served stale while PostgreSQL
   * is down; the least recently used go first when it is full.
   */
  private readonly cache = new LRUCache<string, CachedPrincipal>({ max: CACHE_MAX_ENTRIES });
  /** key hash → until when it is known to be unknown: a client retrying a wrong key does not cost a query each time. */
  private readonly unknown = new LRUCache<string, number>({ max: UNKNOWN_CACHE_MAX_ENTRIES });
  private readonly envAdminHash?: string;
  /** key id → when last_used_at was last written by this instance. */
  private readonly lastUsedWrites = new LRUCache<string, number>({ max: CACHE_MAX_ENTRIES });
  /** key hash → the query reading it: one at a time per key, however many requests ask. */
  private readonly reading = new Map<string, Promise<Principal | null>>();
  /** Bumped by every key change, so that a read begun before it does not fill the cache after it. */
  private changes = 0;

  constructor(
    @InjectRepository(ApiKeyEntity) private readonly keys: Repository<ApiKeyEntity>,
    private readonly config: AppConfig,
    private readonly teams: TeamsService,
    private readonly invalidation: KeyInvalidationBus,
  ) {
    this.envAdminHash = config.adminApiKey ? hashApiKey(config.adminApiKey) : undefined;
    invalidation.onChange((keyHash) => {
      this.changes++;
      this.cache.delete(keyHash);
      this.unknown.delete(keyHash);
    });
  }

  async create(input: CreateApiKeyInput): Promise<{ entity: ApiKeyEntity; key: string }> {
    await this.teams.assertExists(input.team);
    const secret = generateApiKeySecret();
    const entity = await this.keys.save(
      this.keys.create({
        name: input.name,
        team: input.team,
        prefix: secret.prefix,
        keyHash: secret.hash,
        isAdmin: input.isAdmin ?? false,
        allowedModels: input.allowedModels ?? null,
        expiresAt: input.expiresAt ?? null,
        rpm: input.rpm ?? null,
        monthlyBudgetUsd: input.monthlyBudgetUsd ?? null,
      }),
    );
    return { entity, key: secret.key };
  }

  /** Changes a key's name, team or limits; every instance sees it within seconds. */
  async update(id: string, input: UpdateApiKeyInput): Promise<ApiKeyEntity> {
    const entity = await this.get(id);
    for (const field of ['name', 'team'] as const) {
      if (input[field] === null) throw new InvalidRequestError(`${field} cannot be null.`, field);
    }
    if (input.team !== undefined && input.team !== entity.team) await this.teams.assertExists(input.team);
    const changes = Object.fromEntries(
      Object.entries({
        name: input.name,
        team: input.team,
        allowedModels: input.allowedModels,
        expiresAt: input.expiresAt,
        rpm: input.rpm,
        monthlyBudgetUsd: input.monthlyBudgetUsd,
      }).filter(([, value]) => value !== undefined),
    ) as Partial<ApiKeyEntity>;
    if (Object.keys(changes).length > 0) {
      await this.keys.update({ id }, changes);
      await this.invalidation.publish(entity.keyHash);
    }
    return this.get(id);
  }

  list(): Promise<ApiKeyEntity[]> {
    return this.keys.find({ order: { createdAt: 'DESC' } });
  }

  async get(id: string): Promise<ApiKeyEntity> {
    const entity = await this.keys.findOneBy({ id });
    if (!entity) throw new GatewayError(ErrorCode.ResourceNotFound, `No API key with id '${id}'.`, { param: 'id' });
    return entity;
  }

  /** Revokes a key; idempotent. Takes effect here at once and on other instances within the cache TTL. */
  async revoke(id: string): Promise<ApiKeyEntity> {
    const entity = await this.get(id);
    if (!entity.revokedAt) {
      entity.revokedAt = new Date();
      await this.keys.update({ id, revokedAt: IsNull() }, { revokedAt: entity.revokedAt });
    }
    await this.invalidation.publish(entity.keyHash);
    return entity;
  }

  /** Resolves a bearer token to its principal; throws 401 for a missing, unknown, revoked or expired key. */
  async authenticate(token: string | undefined): Promise<Principal> {
    if (!token) {
      throw new GatewayError(
        ErrorCode.InvalidApiKey,
        'Missing API key. Send it as "Authorization: Bearer sk-easel-…".',
      );
    }
    const hash = hashApiKey(token);
    const principal = this.envAdminHash && hashesEqual(hash, this.envAdminHash) ? this.envAdmin() : await this.lookup(hash);
    if (!principal) {
      throw new GatewayError(ErrorCode.InvalidApiKey, 'Incorrect API key provided.');
    }
    if (principal.expiresAt && principal.expiresAt.getTime() <= Date.now()) {
      throw new GatewayError(ErrorCode.InvalidApiKey, `API key ${principal.prefix}… has expired.`);
    }
    this.noteUse(principal);
    return principal;
  }

  /** Updates last_used_at off the request path, at most once a minute per key and instance. */
  private noteUse(principal: Principal): void {
    if (!principal.keyId) return;
    const now = Date.now();
    if ((this.lastUsedWrites.get(principal.keyId) ?? 0) > now - LAST_USED_RESOLUTION_MS) return;
    this.lastUsedWrites.set(principal.keyId, now);
    void this.keys.update({ id: principal.keyId }, { lastUsedAt: new Date(now) }).catch(() => this.lastUsedWrites.delete(principal.keyId!));
  }

  private envAdmin(): Principal {
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

  /**
   * Whether `token` is a key this instance knows to be valid (or knew, while PostgreSQL is down),
   * without asking PostgreSQL: what a client address throttled for failed authentications may
   * still use.
   */
  knows(token: string): boolean {
    const hash = hashApiKey(token);
    return (this.envAdminHash !== undefined && hashesEqual(hash, this.envAdminHash)) || this.cache.has(hash);
  }

  private async lookup(hash: string): Promise<Principal | null> {
    const now = Date.now();
    const cached = this.cache.get(hash);
    if (cached && cached.expiresAt > now) {
      if (cached.expiresAt - now < CACHE_REFRESH_AHEAD_MS) void this.read(hash).catch(() => undefined);
      return cached.principal;
    }
    if ((this.unknown.get(hash) ?? 0) > now) return null;
    try {
      return await this.read(hash);
    } catch (error) {
      // PostgreSQL is away: keep serving keys we knew (stale), refuse only keys we never saw.
      if (cached) return cached.principal;
      throw new GatewayError(ErrorCode.NotReady, 'Easel cannot verify API keys right now; retry shortly.', { cause: error });
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

function toPrincipal(entity: ApiKeyEntity): Principal {
  return {
    keyId: entity.id,
    prefix: entity.prefix,
    name: entity.name,
    team: entity.team,
    isAdmin: entity.isAdmin,
    allowedModels: entity.allowedModels,
    expiresAt: entity.expiresAt,
    rpm: entity.rpm,
    monthlyBudget: entity.monthlyBudgetUsd === null ? null : parseUsd(entity.monthlyBudgetUsd),
  };
}
