import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { useMigratedDataSource } from '../../test/utils/migrated-data-source.js';
import { createTestDatabase } from '../../test/utils/test-database.js';
import { AppConfig } from '../config/app.config.js';
import { runMigrationsExclusively } from '../database/migration-runner.js';
import { UsagePartitionsAndRollups1796400000000 } from '../database/migrations/1796400000000-UsagePartitionsAndRollups.js';
import { migrations } from '../database/migrations/index.js';
import { withSchemaLock } from '../database/schema-lock.js';
import { buildDataSourceOptions } from '../database/typeorm.options.js';
import { UsageThumbnailRepository } from './thumbnails/usage-thumbnail.repository.js';
import { UsagePartitionMaintenance } from './usage-partition.maintenance.js';
import {
  dropExpiredUsagePartitions,
  ensureUsagePartitions,
  MONTHS_AHEAD,
  monthsAround,
  partitionName,
} from './usage-partitions.js';
import { sqlState } from './usage-record.writer.js';

async function partitionsOf(dataSource: DataSource): Promise<string[]> {
  const rows: Array<{ name: string }> = await dataSource.query(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'usage_records'::regclass ORDER BY 1`,
  );
  return rows.map((row) => row.name);
}

/** The columns a test record needs; the rest take their defaults. */
function insertRecord(dataSource: DataSource, createdAt: string, costUsd = '0.010000000000', team = 'default') {
  return dataSource.query(
    `INSERT INTO usage_records (id, created_at, request_id, team, endpoint, model, status, http_status, latency_ms, images, cost_usd)
     VALUES ($1, $2, $3, $4, 'images', 'local/easel-draw', 'success', 200, 5, 1, $5)`,
    [randomUUID(), createdAt, `partitions-${randomUUID()}`, team, costUsd],
  );
}

describe('usage_records partitions', () => {
  const database = useMigratedDataSource();

  it('has last month, this month and the next ones after the migrations', async () => {
    const expected = monthsAround(new Date()).map(partitionName);
    expect(expected).toHaveLength(MONTHS_AHEAD + 2);
    expect(await partitionsOf(database.dataSource)).toEqual(expect.arrayContaining(expected));
  });

  it('names a partition by its UTC month, whatever the time of day or zone offset', () => {
    expect(partitionName(new Date('2026-12-31T23:59:59.999Z'))).toBe('usage_records_y2026m12');
    expect(monthsAround(new Date('2027-01-31T23:00:00-05:00')).map(partitionName)).toEqual([
      'usage_records_y2027m01',
      'usage_records_y2027m02',
      'usage_records_y2027m03',
      'usage_records_y2027m04',
      'usage_records_y2027m05',
    ]);
  });

  it('creates a missing month once, even when two connections ask at the same time', async () => {
    const { dataSource } = database;
    const month = new Date('2019-03-15T00:00:00Z');
    const created = await Promise.all(
      [1, 2, 3].map(() => withSchemaLock(dataSource, (runner) => ensureUsagePartitions(runner, [month]))),
    );
    expect(created.flat()).toEqual(['usage_records_y2019m03']);
    await insertRecord(dataSource, '2019-03-01T00:00:00.000Z');
    await insertRecord(dataSource, '2019-03-31T23:59:59.999Z');
    const [{ count }] = await dataSource.query(`SELECT count(*)::int AS count FROM usage_records_y2019m03`);
    expect(count).toBe(2);
    // The next month's first instant belongs to the next month, which has no partition.
    await expect(insertRecord(dataSource, '2019-04-01T00:00:00.000Z')).rejects.toThrow(/no partition/);
  });

  it('gives a new partition the indexes and key of the table', async () => {
    const { dataSource } = database;
    await withSchemaLock(dataSource, (runner) => ensureUsagePartitions(runner, [new Date('2018-07-02Z')]));
    const indexes: Array<{ indexdef: string }> = await dataSource.query(
      `SELECT indexdef FROM pg_indexes WHERE tablename = 'usage_records_y2018m07' ORDER BY 1`,
    );
    expect(indexes.map((index) => index.indexdef.replace(/^.* USING btree /, ''))).toEqual(
      expect.arrayContaining(['(api_key_id, created_at)', '(created_at, id)', '(request_id)']),
    );
    expect(indexes).toHaveLength(5);
  });

  it('drops only whole months past retention, with their days in the rollups, and leaves other tables alone', async () => {
    const { dataSource } = database;
    const now = new Date('2031-06-15T12:00:00Z');
    await withSchemaLock(dataSource, (runner) =>
      ensureUsagePartitions(
        runner,
        ['2030-04-01', '2030-05-31', '2030-06-01', '2031-06-01'].map((d) => new Date(d)),
      ),
    );
    // A table an operator attached under a name of their own is not Easel's to drop.
    await dataSource.query(`CREATE TABLE usage_records_archive (LIKE usage_records INCLUDING DEFAULTS)`);
    await dataSource.query(
      `ALTER TABLE usage_records ATTACH PARTITION usage_records_archive FOR VALUES FROM ('2010-01-01Z') TO ('2011-01-01Z')`,
    );
    await dataSource.query(
      `INSERT INTO usage_daily_rollups VALUES ('2010-03-01', NULL, 'default', 'images', 'm', NULL, 'success', 1, 1, 0, 0, 1),
                                              ('2030-05-31', NULL, 'default', 'images', 'm', NULL, 'success', 1, 1, 0, 0, 1),
                                              ('2030-06-01', NULL, 'default', 'images', 'm', NULL, 'success', 1, 1, 0, 0, 1)`,
    );
    const dropped = await withSchemaLock(dataSource, (runner) => dropExpiredUsagePartitions(runner, 12, now));
    // Kept: June 2030 (12 months before June 2031) and later.
    expect(dropped).toEqual(expect.arrayContaining(['usage_records_y2030m04', 'usage_records_y2030m05']));
    expect(dropped).not.toContain('usage_records_y2030m06');
    const left = await partitionsOf(dataSource);
    expect(left).toEqual(
      expect.arrayContaining(['usage_records_archive', 'usage_records_y2030m06', 'usage_records_y2031m06']),
    );
    expect(left.filter((name) => name < 'usage_records_y2030m06' && name.startsWith('usage_records_y'))).toEqual([]);
    const days: Array<{ day: string }> = await dataSource.query(
      `SELECT to_char(day, 'YYYY-MM-DD') AS day FROM usage_daily_rollups WHERE day < '2031-01-01' ORDER BY 1`,
    );
    // The archive's month keeps its rollups: only the dropped months lose theirs.
    expect(days.map((row) => row.day)).toEqual(['2010-03-01', '2030-06-01']);
    await dataSource.query(`DELETE FROM usage_daily_rollups WHERE day = '2010-03-01'`);
    await dataSource.query(`ALTER TABLE usage_records DETACH PARTITION usage_records_archive`);
    await dataSource.query(`DROP TABLE usage_records_archive`);
  });

  it('gives up dropping a month a reader holds, instead of holding every writer behind it', async () => {
    const { dataSource } = database;
    await withSchemaLock(dataSource, (runner) => ensureUsagePartitions(runner, [new Date('2002-05-01Z')]));
    const reader = dataSource.createQueryRunner();
    await reader.connect();
    try {
      await reader.startTransaction();
      await reader.query('SELECT count(*) FROM usage_records_y2002m05');
      const refusal = await withSchemaLock(dataSource, (runner) =>
        dropExpiredUsagePartitions(runner, 12, new Date('2004-01-01Z')),
      ).catch((error: unknown) => error);
      expect(sqlState(refusal)).toBe('55P03');
      await reader.commitTransaction();
    } finally {
      await reader.release();
    }
    expect(await partitionsOf(dataSource)).toContain('usage_records_y2002m05');
    await withSchemaLock(dataSource, (runner) => dropExpiredUsagePartitions(runner, 12, new Date('2004-01-01Z')));
    expect(await partitionsOf(dataSource)).not.toContain('usage_records_y2002m05');
  });

  it('never adopts a table of a month that is not attached (a month detached by hand)', async () => {
    const { dataSource } = database;
    await dataSource.query(`CREATE TABLE usage_records_y2003m03 (LIKE usage_records INCLUDING DEFAULTS)`);
    await expect(
      withSchemaLock(dataSource, (runner) => ensureUsagePartitions(runner, [new Date('2003-03-09Z')])),
    ).rejects.toThrow(/usage_records_y2003m03 exists but is not a partition/);
    expect(await partitionsOf(dataSource)).not.toContain('usage_records_y2003m03');
    await dataSource.query(`DROP TABLE usage_records_y2003m03`);
  });

  it('maintains the partitions at start with the retention the config gives', async () => {
    const { dataSource } = database;
    await withSchemaLock(dataSource, (runner) => ensureUsagePartitions(runner, [new Date('2001-01-01Z')]));
    const maintenance = new UsagePartitionMaintenance(
      dataSource,
      AppConfig.fromEnv({ EASEL_DATA_DIR: '/tmp/unused', USAGE_RETENTION_MONTHS: '24' }),
      new UsageThumbnailRepository(dataSource),
    );
    await maintenance.maintain(new Date());
    const left = await partitionsOf(dataSource);
    expect(left).not.toContain('usage_records_y2001m01');
    expect(left).toEqual(expect.arrayContaining(monthsAround(new Date()).map(partitionName)));
  });

  it('deletes the console previews made before the first kept month, in the same round, and leaves the others', async () => {
    const { dataSource } = database;
    const now = new Date('2031-06-15T12:00:00Z');
    const insertPreview = (requestId: string, createdAt: string) =>
      dataSource.query(
        `INSERT INTO usage_thumbnails (request_id, "index", team, created_at, content_type, bytes) VALUES ($1, 0, 'default', $2, 'image/webp', '\\x00')`,
        [requestId, createdAt],
      );
    // 12 months kept before June 2031: June 2030 is the first kept month.
    await insertPreview('expired-1', '2030-04-30T23:59:59.999Z');
    await insertPreview('expired-2', '2030-05-31T23:59:59.999Z');
    await insertPreview('kept-1', '2030-06-01T00:00:00.000Z');
    await insertPreview('kept-2', '2031-06-15T00:00:00.000Z');
    const maintenance = new UsagePartitionMaintenance(
      dataSource,
      AppConfig.fromEnv({ EASEL_DATA_DIR: '/tmp/unused', USAGE_RETENTION_MONTHS: '12' }),
      new UsageThumbnailRepository(dataSource),
    );

    await maintenance.maintain(now);
    await maintenance.previewsExpired();

    const left: Array<{ request_id: string }> = await dataSource.query(
      `SELECT request_id FROM usage_thumbnails WHERE request_id LIKE 'expired-%' OR request_id LIKE 'kept-%' ORDER BY 1`,
    );
    expect(left.map((row) => row.request_id)).toEqual(['kept-1', 'kept-2']);
    await dataSource.query(`DELETE FROM usage_thumbnails WHERE request_id LIKE 'kept-%'`);
  });

  it('keeps every console preview without USAGE_RETENTION_MONTHS', async () => {
    const { dataSource } = database;
    await dataSource.query(
      `INSERT INTO usage_thumbnails (request_id, "index", team, created_at, content_type, bytes) VALUES ('ancient', 0, 'default', '1999-01-01Z', 'image/webp', '\\x00')`,
    );
    const maintenance = new UsagePartitionMaintenance(
      dataSource,
      AppConfig.fromEnv({ EASEL_DATA_DIR: '/tmp/unused' }),
      new UsageThumbnailRepository(dataSource),
    );

    await maintenance.maintain(new Date());
    await maintenance.previewsExpired();

    const [{ count }] = await dataSource.query(
      `SELECT count(*)::int AS count FROM usage_thumbnails WHERE request_id = 'ancient'`,
    );
    expect(count).toBe(1);
    await dataSource.query(`DELETE FROM usage_thumbnails WHERE request_id = 'ancient'`);
  });
});

describe('the migration to partitions', () => {
  it('moves existing records into monthly partitions and builds their rollups; down() restores the table', async () => {
    const database = await createTestDatabase();
    const before = migrations.filter((migration) => migration !== UsagePartitionsAndRollups1796400000000);
    const dataSource = await new DataSource({
      ...buildDataSourceOptions(database.url),
      migrations: before,
    }).initialize();
    try {
      await dataSource.runMigrations({ transaction: 'each' });
      const stamps = [
        '2025-11-30T23:59:59.999Z',
        '2025-12-01T00:00:00.000Z',
        '2025-12-01T10:00:00.000Z',
        '2026-02-10T08:00:00Z',
      ];
      for (const stamp of stamps) await insertRecord(dataSource, stamp, '0.100000000001', 'default');
      await dataSource.destroy();

      const migrated = await new DataSource(buildDataSourceOptions(database.url)).initialize();
      try {
        await runMigrationsExclusively(migrated);
        const partitions = await partitionsOf(migrated);
        expect(partitions).toEqual(
          expect.arrayContaining(['usage_records_y2025m11', 'usage_records_y2025m12', 'usage_records_y2026m02']),
        );
        // Only months that hold records: none for the empty month between.
        expect(partitions).not.toContain('usage_records_y2026m01');
        const [{ count }] = await migrated.query(`SELECT count(*)::int AS count FROM usage_records_y2025m12`);
        expect(count).toBe(2);
        const rollups: Array<{ day: string; requests: string; cost_usd: string }> = await migrated.query(
          `SELECT to_char(day, 'YYYY-MM-DD') AS day, requests, cost_usd::text FROM usage_daily_rollups ORDER BY day`,
        );
        expect(rollups).toEqual([
          { day: '2025-11-30', requests: '1', cost_usd: '0.100000000001' },
          { day: '2025-12-01', requests: '2', cost_usd: '0.200000000002' },
          { day: '2026-02-10', requests: '1', cost_usd: '0.100000000001' },
        ]);

        await migrated.undoLastMigration({ transaction: 'each' });
        const [{ kind }] = await migrated.query(`SELECT relkind AS kind FROM pg_class WHERE relname = 'usage_records'`);
        expect(kind).toBe('r');
        const [{ total }] = await migrated.query(`SELECT count(*)::int AS total FROM usage_records`);
        expect(total).toBe(stamps.length);
        const indexes: Array<{ indexname: string }> = await migrated.query(
          `SELECT indexname FROM pg_indexes WHERE tablename = 'usage_records' ORDER BY 1`,
        );
        expect(indexes.map((index) => index.indexname)).toEqual([
          'PK_e511cf9f7dc53851569f87467a5',
          'idx_usage_records_api_key_created_at',
          'idx_usage_records_created_at',
          'idx_usage_records_model_created_at',
          'idx_usage_records_request_id',
          'idx_usage_records_team_created_at',
        ]);

        // And up again, from the table down() left.
        await runMigrationsExclusively(migrated);
        const [{ again }] = await migrated.query(`SELECT sum(requests)::int AS again FROM usage_daily_rollups`);
        expect(again).toBe(stamps.length);
      } finally {
        await migrated.destroy();
      }
    } finally {
      if (dataSource.isInitialized) await dataSource.destroy();
      await database.drop();
    }
  });
});
