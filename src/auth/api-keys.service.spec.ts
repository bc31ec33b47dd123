import { jest } from '@jest/globals';
import type { Repository } from 'typeorm';
import { AppConfig } from '../config/app.config.js';
import { RedisService } from '../redis/redis.service.js';
import type { TeamsService } from '../teams/teams.service.js';
import type { ApiKeyEntity } from './api-key.entity.js';
import { generateApiKeySecret } from './api-key.secret.js';
import { ApiKeysService } from './api-keys.service.js';
import { KeyInvalidationBus } from './key-invalidation.bus.js';

/** The key cache in front of PostgreSQL: how often it reads, not what it stores (e2e tests do that). */
describe(`${ApiKeysService.name} key cache`, () => {
  const secret = generateApiKeySecret();
  const entity = {
    id: '9f1c1f36-0c5e-4a4e-9a39-5d8a1c1d2e01', prefix: secret.prefix, name: 'app', team: 'default', isAdmin: false,
    allowedModels: null, expiresAt: null, rpm: null, monthlyBudgetUsd: null, keyHash: secret.hash,
  } as unknown as ApiKeyEntity;
  let reads: Array<(value: ApiKeyEntity | null) => void>;
  let bus: KeyInvalidationBus;
  let sut: ApiKeysService;

  beforeEach(() => {
    reads = [];
    const keys = {
      findOneBy: () => new Promise<ApiKeyEntity | null>((resolve) => reads.push(resolve)),
      update: () => Promise.resolve(),
    } as unknown as Repository<ApiKeyEntity>;
    const config = AppConfig.fromEnv({});
    bus = new KeyInvalidationBus(new RedisService(config));
    sut = new ApiKeysService(keys, config, {} as TeamsService, bus);
  });

  afterEach(() => jest.restoreAllMocks());

  const answer = async (value: ApiKeyEntity | null) => {
    reads.shift()!(value);
    await new Promise((resolve) => setImmediate(resolve));
  };

  it('reads a key once however many requests ask for it at the same time', async () => {
    const requests = Array.from({ length: 20 }, () => sut.authenticate(secret.key));

    expect(reads).toHaveLength(1);
    await answer(entity);
    await expect(Promise.all(requests)).resolves.toHaveLength(20);
  });

  it('answers from the cache and re-reads in the background a second before the entry ages out', async () => {
    const now = jest.spyOn(Date, 'now').mockReturnValue(1_000_000);
    const first = sut.authenticate(secret.key);
    await answer(entity);
    await first;

    now.mockReturnValue(1_003_000);
    await expect(sut.authenticate(secret.key)).resolves.toMatchObject({ keyId: entity.id });
    expect(reads).toHaveLength(0);

    now.mockReturnValue(1_004_500);
    await expect(sut.authenticate(secret.key)).resolves.toMatchObject({ keyId: entity.id });
    await expect(sut.authenticate(secret.key)).resolves.toMatchObject({ keyId: entity.id });
    expect(reads).toHaveLength(1);
  });

  it('does not cache a read that a key change overtook', async () => {
    const first = sut.authenticate(secret.key);
    await bus.publish(secret.hash);
    await answer(entity);
    await first;

    const second = sut.authenticate(secret.key);

    expect(reads).toHaveLength(1);
    const refused = expect(second).rejects.toMatchObject({ code: 'invalid_api_key' });
    await answer(null);
    await refused;
  });
});
