import { jest } from '@jest/globals';
import type { Repository } from 'typeorm';
import { AppConfig } from '../config/app.config.js';
import { RedisService } from '../redis/redis.service.js';
import { ApiKeyAuthenticator } from './api-key.authenticator.js';
import type { ApiKeyEntity } from './api-key.entity.js';
import { generateApiKeySecret, hashApiKey, type NewApiKeySecret } from './api-key.secret.js';
import { KeyInvalidationBus } from './key-invalidation.bus.js';
import { KeyLastUsedTracker } from './key-last-used.tracker.js';

/** The row of a valid key, with what the authenticator reads of it. */
function keyEntity(id: string, secret: NewApiKeySecret): ApiKeyEntity {
  return {
    id,
    prefix: secret.prefix,
    name: 'app',
    team: 'default',
    isAdmin: false,
    allowedModels: null,
    expiresAt: null,
    rpm: null,
    monthlyBudgetUsd: null,
    keyHash: secret.hash,
  } as unknown as ApiKeyEntity;
}

/** The key cache in front of PostgreSQL: how often it reads, not what it stores (e2e tests do that). */
describe(`${ApiKeyAuthenticator.name} key cache`, () => {
  const secret = generateApiKeySecret();
  const entity = keyEntity('9f1c1f36-0c5e-4a4e-9a39-5d8a1c1d2e01', secret);
  let reads: Array<(value: ApiKeyEntity | null) => void>;
  let bus: KeyInvalidationBus;
  let sut: ApiKeyAuthenticator;

  beforeEach(() => {
    reads = [];
    const keys = {
      findOneBy: () => new Promise<ApiKeyEntity | null>((resolve) => reads.push(resolve)),
      update: () => Promise.resolve(),
    } as unknown as Repository<ApiKeyEntity>;
    const config = AppConfig.fromEnv({});
    bus = new KeyInvalidationBus(new RedisService(config));
    sut = new ApiKeyAuthenticator(keys, config, bus, new KeyLastUsedTracker(keys));
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

/** Unknown keys (random, well-formed) against the cache: they must not push known keys out of it. */
describe(`${ApiKeyAuthenticator.name} key cache under a flood of unknown keys`, () => {
  const secret = generateApiKeySecret();
  const entity = keyEntity('9f1c1f36-0c5e-4a4e-9a39-5d8a1c1d2e02', secret);
  let reads: Map<string, number>;
  let databaseDown: boolean;
  let revoked: boolean;
  let now: ReturnType<typeof jest.spyOn>;
  let sut: ApiKeyAuthenticator;

  beforeEach(() => {
    reads = new Map();
    databaseDown = false;
    revoked = false;
    const keys = {
      findOneBy: ({ keyHash }: { keyHash: string }) => {
        reads.set(keyHash, (reads.get(keyHash) ?? 0) + 1);
        if (databaseDown) return Promise.reject(new Error('connect ECONNREFUSED'));
        return Promise.resolve(keyHash === secret.hash && !revoked ? entity : null);
      },
      update: () => Promise.resolve(),
    } as unknown as Repository<ApiKeyEntity>;
    const config = AppConfig.fromEnv({});
    const bus = new KeyInvalidationBus(new RedisService(config));
    sut = new ApiKeyAuthenticator(keys, config, bus, new KeyLastUsedTracker(keys));
    now = jest.spyOn(Date, 'now').mockReturnValue(1_000_000);
  });

  afterEach(() => jest.restoreAllMocks());

  const flood = async (count: number) => {
    for (let i = 0; i < count; i++) {
      await expect(sut.authenticate(generateApiKeySecret().key)).rejects.toMatchObject({ code: 'invalid_api_key' });
    }
  };

  it('keeps a valid key cached through 20,000 unknown keys', async () => {
    await sut.authenticate(secret.key);

    await flood(20_000);

    await expect(sut.authenticate(secret.key)).resolves.toMatchObject({ keyId: entity.id });
    expect(reads.get(secret.hash)).toBe(1);
    expect(sut.knows(secret.key)).toBe(true);
  });

  it('still serves a valid key it knew while PostgreSQL is down after the flood', async () => {
    await sut.authenticate(secret.key);
    await flood(20_000);

    databaseDown = true;
    now.mockReturnValue(1_000_000 + 60_000);

    await expect(sut.authenticate(secret.key)).resolves.toMatchObject({ keyId: entity.id });
    await expect(sut.authenticate(generateApiKeySecret().key)).rejects.toMatchObject({ code: 'not_ready' });
  });

  it('remembers an unknown key for a few seconds only', async () => {
    const wrong = generateApiKeySecret();
    await expect(sut.authenticate(wrong.key)).rejects.toMatchObject({ code: 'invalid_api_key' });
    await expect(sut.authenticate(wrong.key)).rejects.toMatchObject({ code: 'invalid_api_key' });
    expect(reads.get(wrong.hash)).toBe(1);
    expect(sut.knows(wrong.key)).toBe(false);

    now.mockReturnValue(1_000_000 + 5_000);
    await expect(sut.authenticate(wrong.key)).rejects.toMatchObject({ code: 'invalid_api_key' });
    expect(reads.get(wrong.hash)).toBe(2);
  });

  it('forgets a key PostgreSQL no longer has (revoked elsewhere), so that it is not served stale', async () => {
    await sut.authenticate(secret.key);
    revoked = true;
    now.mockReturnValue(1_000_000 + 10_000);
    await expect(sut.authenticate(secret.key)).rejects.toMatchObject({ code: 'invalid_api_key' });

    databaseDown = true;
    now.mockReturnValue(1_000_000 + 20_000);

    await expect(sut.authenticate(secret.key)).rejects.toMatchObject({ code: 'not_ready' });
    expect(sut.knows(secret.key)).toBe(false);
  });
});

/** By hash (what a console session keeps of its key): the same principal, checks and cache as by the key. */
describe(`${ApiKeyAuthenticator.name}.authenticateHash`, () => {
  const secret = generateApiKeySecret();
  const adminKey = generateApiKeySecret().key;
  let rows: Map<string, ApiKeyEntity>;
  let reads: number;
  let sut: ApiKeyAuthenticator;

  beforeEach(() => {
    rows = new Map([[secret.hash, keyEntity('9f1c1f36-0c5e-4a4e-9a39-5d8a1c1d2e03', secret)]]);
    reads = 0;
    const keys = {
      findOneBy: ({ keyHash }: { keyHash: string }) => {
        reads++;
        return Promise.resolve(rows.get(keyHash) ?? null);
      },
      update: () => Promise.resolve(),
    } as unknown as Repository<ApiKeyEntity>;
    const config = AppConfig.fromEnv({ ADMIN_API_KEY: adminKey });
    sut = new ApiKeyAuthenticator(
      keys,
      config,
      new KeyInvalidationBus(new RedisService(config)),
      new KeyLastUsedTracker(keys),
    );
  });

  it('resolves a key by its hash to the principal its secret gets, sharing the cache', async () => {
    const byKey = await sut.authenticate(secret.key);

    await expect(sut.authenticateHash(secret.hash)).resolves.toEqual(byKey);
    expect(reads).toBe(1);
  });

  it('resolves the hash of ADMIN_API_KEY to the admin, without a row', async () => {
    await expect(sut.authenticateHash(hashApiKey(adminKey))).resolves.toMatchObject({
      keyId: null,
      isAdmin: true,
      prefix: 'ADMIN_API_KEY',
    });
    expect(reads).toBe(0);
  });

  it('refuses the hash of an unknown or expired key with 401 invalid_api_key', async () => {
    await expect(sut.authenticateHash(hashApiKey('sk-easel-unknown'))).rejects.toMatchObject({
      code: 'invalid_api_key',
    });
    const expired = generateApiKeySecret();
    rows.set(expired.hash, {
      ...keyEntity('9f1c1f36-0c5e-4a4e-9a39-5d8a1c1d2e04', expired),
      expiresAt: new Date(Date.now() - 1000),
    } as ApiKeyEntity);

    await expect(sut.authenticateHash(expired.hash)).rejects.toMatchObject({
      code: 'invalid_api_key',
      message: expect.stringMatching(/expired/),
    });
  });
});
