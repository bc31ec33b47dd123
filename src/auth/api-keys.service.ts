import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { IsNull, Repository } from 'typeorm';
import { ErrorCode } from '../common/errors/error-code.enum.js';
import { GatewayError, InvalidRequestError } from '../common/errors/gateway.error.js';
import { TeamsService } from '../teams/teams.service.js';
import { ApiKeyEntity } from './api-key.entity.js';
import { generateApiKeySecret } from './api-key.secret.js';
import { KeyInvalidationBus } from './key-invalidation.bus.js';

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

/**
 * Managing keys (admin API and `npm run keys`): create, list, get, edit, revoke. Every change is
 * announced on `KeyInvalidationBus`, so that each instance's `ApiKeyAuthenticator` drops the key
 * it cached at once.
 */
@Injectable()
export class ApiKeysService {
  constructor(
    @InjectRepository(ApiKeyEntity) private readonly keys: Repository<ApiKeyEntity>,
    private readonly teams: TeamsService,
    private readonly invalidation: KeyInvalidationBus,
  ) {}

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
}
