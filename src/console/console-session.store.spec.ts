import { jest } from '@jest/globals';
import { useMigratedDataSource } from '../../test/utils/migrated-data-source.js';
import { hashApiKey } from '../auth/api-key.secret.js';
import { ConsoleSessionEntity } from './console-session.entity.js';
import { ConsoleSessionStore, hashToken, type SessionOwner } from './console-session.store.js';

const OWNER: SessionOwner = {
  keyHash: hashApiKey('sk-easel-console-store-spec'),
  keyPrefix: 'sk-easel-console-',
  isAdmin: false,
  team: 'growth',
};
const TTL_SECONDS = 60;
/** How long a store trusts what it read (its CACHE_TTL_MS), and a little more. */
const CACHE_AGED_MS = 5_001;

/** Sessions on a real PostgreSQL: what a token finds, and how sign-outs and expiry end it. */
describe(ConsoleSessionStore.name, () => {
  const database = useMigratedDataSource();
  let sut: ConsoleSessionStore;

  const newStore = () => new ConsoleSessionStore(database.dataSource.getRepository(ConsoleSessionEntity));
  const rowOf = (token: string) =>
    database.dataSource.getRepository(ConsoleSessionEntity).findOneBy({ tokenSha256: hashToken(token) });

  beforeEach(() => {
    sut = newStore();
  });

  afterEach(() => jest.restoreAllMocks());

  it('creates a session its token finds, storing the token only as its hash', async () => {
    const before = Date.now();
    const { token, session } = await sut.create(OWNER, TTL_SECONDS);

    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(session.csrfToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(session.csrfToken).not.toBe(token);
    expect(session.expiresAt.getTime()).toBeGreaterThanOrEqual(before + TTL_SECONDS * 1000);
    expect(session.expiresAt.getTime()).toBeLessThanOrEqual(Date.now() + TTL_SECONDS * 1000);
    await expect(newStore().find(token)).resolves.toEqual(session);

    const row = await rowOf(token);
    expect(row).toMatchObject({ ...OWNER, tokenSha256: hashToken(token), revokedAt: null });
    expect(JSON.stringify(row)).not.toContain(token);
  });

  it('finds nothing for a token it never issued, and tells sessions apart', async () => {
    const first = await sut.create(OWNER, TTL_SECONDS);
    const second = await sut.create({ ...OWNER, team: 'design' }, TTL_SECONDS);

    await expect(sut.find('A'.repeat(43))).resolves.toBeNull();
    await expect(sut.find(first.token)).resolves.toMatchObject({ id: first.session.id });
    await expect(sut.find(second.token)).resolves.toMatchObject({ id: second.session.id });
    expect(first.session.id).not.toBe(second.session.id);
  });

  it('reads a token once however many requests ask at the same time, then answers from memory', async () => {
    const { token } = await newStore().create(OWNER, TTL_SECONDS);
    const reads = jest.spyOn(database.dataSource.getRepository(ConsoleSessionEntity), 'findOneBy');
    const store = new ConsoleSessionStore(database.dataSource.getRepository(ConsoleSessionEntity));

    const found = await Promise.all(Array.from({ length: 10 }, () => store.find(token)));
    await store.find(token);

    expect(found.every((session) => session !== null)).toBe(true);
    expect(reads).toHaveBeenCalledTimes(1);
  });

  it('ends a signed-out session at once on its store, and on another within its cache time', async () => {
    const { token, session } = await sut.create(OWNER, TTL_SECONDS);
    const elsewhere = newStore();
    await expect(elsewhere.find(token)).resolves.not.toBeNull();

    await sut.revoke(session);

    await expect(sut.find(token)).resolves.toBeNull();
    expect(sut.knows(token)).toBe(false);
    expect((await rowOf(token))!.revokedAt).toBeInstanceOf(Date);
    // The other instance trusts what it read for a few seconds, then reads the sign-out.
    await expect(elsewhere.find(token)).resolves.not.toBeNull();
    jest.spyOn(Date, 'now').mockReturnValue(Date.now() + CACHE_AGED_MS);
    await expect(elsewhere.find(token)).resolves.toBeNull();
  });

  it('ends a session at its expiry, even one it holds in memory', async () => {
    const { token, session } = await sut.create(OWNER, TTL_SECONDS);
    expect(sut.knows(token)).toBe(true);

    jest.spyOn(Date, 'now').mockReturnValue(session.expiresAt.getTime());

    await expect(sut.find(token)).resolves.toBeNull();
    expect(sut.knows(token)).toBe(false);
    await expect(newStore().find(token)).resolves.toBeNull();
  });

  it('deletes the rows of expired sessions, and only those', async () => {
    const expired = await sut.create(OWNER, TTL_SECONDS);
    const signedOutExpired = await sut.create(OWNER, TTL_SECONDS);
    const live = await sut.create(OWNER, TTL_SECONDS);
    await sut.revoke(signedOutExpired.session);
    await database.dataSource.query(
      `UPDATE console_sessions SET expires_at = now() - interval '1 second' WHERE id = ANY($1)`,
      [[expired.session.id, signedOutExpired.session.id]],
    );

    await expect(sut.deleteExpired()).resolves.toBeGreaterThanOrEqual(2);

    await expect(rowOf(expired.token)).resolves.toBeNull();
    await expect(rowOf(signedOutExpired.token)).resolves.toBeNull();
    await expect(rowOf(live.token)).resolves.not.toBeNull();
  });
});
