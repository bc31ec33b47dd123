import { createHash, randomUUID } from 'node:crypto';
import { useMigratedDataSource } from '../../test/utils/migrated-data-source.js';
import { type IdempotencyId, IdempotencyStore } from './idempotency.store.js';
import { IdempotencyRecordEntity } from './idempotency-record.entity.js';

const LEASE_MS = 30_000;
const hash = (body: string) => createHash('sha256').update(body).digest('hex');

/** The claims, leases and answers on a real PostgreSQL: who wins a key, and who may write to it. */
describe(IdempotencyStore.name, () => {
  const database = useMigratedDataSource();
  let sut: IdempotencyStore;
  let id: IdempotencyId;

  beforeAll(() => {
    sut = new IdempotencyStore(database.dataSource.getRepository(IdempotencyRecordEntity));
  });

  beforeEach(() => {
    id = { apiKeyId: randomUUID(), idempotencyKey: `key-${randomUUID()}` };
  });

  it('lets one of the requests racing for a new key claim it', async () => {
    const owners = Array.from({ length: 8 }, () => randomUUID());

    const claimed = await Promise.all(owners.map((owner) => sut.claim(id, hash('a'), owner, LEASE_MS)));

    expect(claimed.filter(Boolean)).toHaveLength(1);
    await expect(sut.find(id)).resolves.toEqual({ requestHash: hash('a'), state: 'pending', responseBody: null });
  });

  it('keeps a key whose lease still runs, and hands one whose lease ran out to the same request only', async () => {
    await expect(sut.claim(id, hash('a'), randomUUID(), LEASE_MS)).resolves.toBe(true);
    await expect(sut.claim(id, hash('a'), randomUUID(), LEASE_MS)).resolves.toBe(false);

    const other = { ...id, idempotencyKey: `${id.idempotencyKey}-gone` };
    await expect(sut.claim(other, hash('a'), randomUUID(), -1)).resolves.toBe(true);

    await expect(sut.claim(other, hash('b'), randomUUID(), LEASE_MS)).resolves.toBe(false);
    await expect(sut.claim(other, hash('a'), randomUUID(), LEASE_MS)).resolves.toBe(true);
  });

  it('renews and completes a lease for its owner only, and keeps the answer', async () => {
    const owner = randomUUID();
    await sut.claim(id, hash('a'), owner, LEASE_MS);

    await expect(sut.renewLease(id, randomUUID(), LEASE_MS)).resolves.toBe(false);
    await expect(sut.renewLease(id, owner, LEASE_MS)).resolves.toBe(true);
    await expect(sut.complete(id, randomUUID(), { data: 'theirs' })).resolves.toBe(false);
    await expect(sut.complete(id, owner, { data: 'mine' })).resolves.toBe(true);

    await expect(sut.find(id)).resolves.toEqual({
      requestHash: hash('a'),
      state: 'done',
      responseBody: { data: 'mine' },
    });
    await expect(sut.renewLease(id, owner, LEASE_MS)).resolves.toBe(false);
    await expect(sut.claim(id, hash('a'), randomUUID(), LEASE_MS)).resolves.toBe(false);
  });

  it("forgets a failed request's claim when its owner releases it, and no one else's", async () => {
    const owner = randomUUID();
    await sut.claim(id, hash('a'), owner, LEASE_MS);

    await sut.release(id, randomUUID());
    await expect(sut.find(id)).resolves.not.toBeNull();
    await sut.release(id, owner);

    await expect(sut.find(id)).resolves.toBeNull();
  });

  it('lets a key be claimed anew once its answer is past its 24 h, and deletes such answers', async () => {
    const expire = () =>
      database.dataSource.query(
        `UPDATE idempotency_records SET expires_at = now() - interval '1 second' WHERE api_key_id = $1`,
        [id.apiKeyId],
      );
    const owner = randomUUID();
    await sut.claim(id, hash('a'), owner, LEASE_MS);
    await sut.complete(id, owner, { data: 'old' });
    await expire();

    await expect(sut.claim(id, hash('b'), randomUUID(), LEASE_MS)).resolves.toBe(true);
    await expire();
    await sut.deleteExpired();

    await expect(sut.find(id)).resolves.toBeNull();
  });
});
