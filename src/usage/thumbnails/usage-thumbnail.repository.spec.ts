import { randomUUID } from 'node:crypto';
import { useMigratedDataSource } from '../../../test/utils/migrated-data-source.js';
import { UsageThumbnails1796415764925 } from '../../database/migrations/1796415764925-UsageThumbnails.js';
import { sqlState } from '../usage-record.writer.js';
import { UsageThumbnailRepository, type UsageThumbnailRow } from './usage-thumbnail.repository.js';

function row(overrides: Partial<UsageThumbnailRow> = {}): UsageThumbnailRow {
  return {
    requestId: `req_${randomUUID()}`,
    index: 0,
    team: 'growth',
    apiKeyId: null,
    createdAt: new Date(),
    contentType: 'image/webp',
    bytes: Buffer.from('RIFF....WEBP'),
    ...overrides,
  };
}

describe(UsageThumbnailRepository.name, () => {
  const database = useMigratedDataSource();
  let sut: UsageThumbnailRepository;

  beforeAll(() => {
    sut = new UsageThumbnailRepository(database.dataSource);
  });

  it('finds a preview by request id and index, its bytes as stored', async () => {
    const stored = row({ index: 3, bytes: Buffer.from([0, 1, 2, 255]) });
    await sut.insert(stored);

    await expect(sut.find(stored.requestId, 3)).resolves.toEqual({
      contentType: 'image/webp',
      bytes: Buffer.from([0, 1, 2, 255]),
    });
    await expect(sut.find(stored.requestId, 2)).resolves.toBeUndefined();
    await expect(sut.find(`${stored.requestId}x`, 3)).resolves.toBeUndefined();
  });

  it("finds a team's preview only for that team; without a team, any team's (the latest)", async () => {
    const requestId = `shared-${randomUUID()}`;
    await sut.insert(row({ requestId, team: 'growth', createdAt: new Date('2026-01-01Z'), bytes: Buffer.from('g') }));
    await sut.insert(row({ requestId, team: 'research', createdAt: new Date('2026-02-01Z'), bytes: Buffer.from('r') }));

    await expect(sut.find(requestId, 0, 'growth')).resolves.toMatchObject({ bytes: Buffer.from('g') });
    await expect(sut.find(requestId, 0, 'research')).resolves.toMatchObject({ bytes: Buffer.from('r') });
    await expect(sut.find(requestId, 0, 'other')).resolves.toBeUndefined();
    await expect(sut.find(requestId, 0)).resolves.toMatchObject({ bytes: Buffer.from('r') });
  });

  it('keeps the first preview stored under a key', async () => {
    const first = row({ bytes: Buffer.from('first') });
    await sut.insert(first);
    await sut.insert({ ...first, bytes: Buffer.from('second') });

    await expect(sut.find(first.requestId, 0, first.team)).resolves.toMatchObject({ bytes: Buffer.from('first') });
  });

  it('deletes previews made before a moment, a batch at a time', async () => {
    const team = `batch-${randomUUID()}`;
    const old = new Date('2001-03-01Z');
    for (let index = 0; index < 5; index++) await sut.insert(row({ team, index, createdAt: old }));
    const kept = row({ team, createdAt: new Date('2001-04-01Z') });
    await sut.insert(kept);

    await expect(sut.deleteBatchCreatedBefore(new Date('2001-04-01Z'), 3)).resolves.toBe(3);
    await expect(sut.deleteBatchCreatedBefore(new Date('2001-04-01Z'), 3)).resolves.toBe(2);
    await expect(sut.deleteBatchCreatedBefore(new Date('2001-04-01Z'), 3)).resolves.toBe(0);
    const left: Array<{ request_id: string }> = await database.dataSource.query(
      `SELECT request_id FROM usage_thumbnails WHERE team = $1`,
      [team],
    );
    expect(left).toEqual([{ request_id: kept.requestId }]);
  });

  it('gives up deleting (55P03) instead of waiting long for a lock someone holds on the table', async () => {
    await sut.insert(row({ createdAt: new Date('2000-01-01Z') }));
    const locker = database.dataSource.createQueryRunner();
    await locker.connect();
    try {
      await locker.startTransaction();
      await locker.query('LOCK TABLE usage_thumbnails IN SHARE MODE');
      const refusal = await sut.deleteBatchCreatedBefore(new Date('2000-02-01Z'), 10).catch((error: unknown) => error);
      expect(sqlState(refusal)).toBe('55P03');
      await locker.commitTransaction();
    } finally {
      await locker.release();
    }
    await expect(sut.deleteBatchCreatedBefore(new Date('2000-02-01Z'), 10)).resolves.toBe(1);
  });
});

describe(UsageThumbnails1796415764925.name, () => {
  const database = useMigratedDataSource();

  it('down() drops the table and its index; up() makes them again', async () => {
    const { dataSource } = database;
    const migration = new UsageThumbnails1796415764925();
    const tables = async () =>
      (
        (await dataSource.query(
          `SELECT relname FROM pg_class WHERE relname IN ('usage_thumbnails', 'idx_usage_thumbnails_created_at', 'pk_usage_thumbnails') ORDER BY 1`,
        )) as Array<{ relname: string }>
      ).map((row) => row.relname);
    const runner = dataSource.createQueryRunner();
    try {
      await migration.down(runner);
      expect(await tables()).toEqual([]);
      await migration.up(runner);
      expect(await tables()).toEqual(['idx_usage_thumbnails_created_at', 'pk_usage_thumbnails', 'usage_thumbnails']);
    } finally {
      await runner.release();
    }
    await new UsageThumbnailRepository(dataSource).insert(row());
    await expect(
      dataSource.query(
        `INSERT INTO usage_thumbnails (request_id, "index", team, content_type, bytes) VALUES ('x', -1, 't', 'image/webp', '\\x00')`,
      ),
    ).rejects.toThrow(/chk_usage_thumbnails_index/);
  });
});
