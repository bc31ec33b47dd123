import { randomUUID } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import sharp from 'sharp';
import { DataSource } from 'typeorm';
import { useMigratedDataSource } from '../../../test/utils/migrated-data-source.js';
import type { Principal } from '../../auth/principal.js';
import { RequestContext } from '../../common/http/request-context.js';
import { AppConfig } from '../../config/app.config.js';
import { buildDataSourceOptions } from '../../database/typeorm.options.js';
import { MetricsService } from '../../metrics/metrics.service.js';
import { ImagePayload } from '../../providers/image-provider.interface.js';
import type { UpstreamExecutor } from '../../providers/upstream-executor.js';
import { DEFAULT_THUMBNAIL_LIMITS, type ThumbnailLimits, ThumbnailRecorder } from './thumbnail.recorder.js';
import { inlineSources, payloadSources, type ThumbnailSource } from './thumbnail.source.js';
import { UsageThumbnailRepository } from './usage-thumbnail.repository.js';

const KEY_ID = '0b1f5a5e-5a8e-4c38-9a0e-6f7c2b0f4b0e';

function contextOf(requestId: string, team = 'growth'): RequestContext {
  const principal = { keyId: KEY_ID, team, isAdmin: false } as Principal;
  return new RequestContext(requestId, { request: { principal } } as unknown as FastifyReply);
}

function png(width: number, height: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 10, g: 120, b: 200 } } })
    .png()
    .toBuffer();
}

/** A source that counts what is read of it: nothing must be, while previews are off or before a worker runs. */
function counted(bytes: Buffer): ThumbnailSource & { reads: { size: number; bytes: number } } {
  const reads = { size: 0, bytes: 0 };
  return {
    reads,
    size: () => (reads.size++, bytes.length),
    bytes: () => (reads.bytes++, bytes),
  };
}

interface StoredRow {
  request_id: string;
  index: number;
  team: string;
  api_key_id: string | null;
  content_type: string;
  bytes: Buffer;
  created_at: Date;
}

describe(ThumbnailRecorder.name, () => {
  const database = useMigratedDataSource();
  const enabled = AppConfig.fromEnv({ EASEL_DATA_DIR: '/tmp/unused', CONSOLE_THUMBNAILS: 'true' });
  let metrics: MetricsService;

  beforeEach(() => {
    metrics = new MetricsService({ states: () => [] } as unknown as UpstreamExecutor);
  });

  function recorder(config = enabled, limits: Partial<ThumbnailLimits> = {}, dataSource = database.dataSource) {
    return new ThumbnailRecorder(
      config,
      new UsageThumbnailRepository(dataSource),
      { ...DEFAULT_THUMBNAIL_LIMITS, ...limits },
      metrics,
    );
  }

  async function rowsOf(requestId: string): Promise<StoredRow[]> {
    return database.dataSource.query(`SELECT * FROM usage_thumbnails WHERE request_id = $1 ORDER BY "index"`, [
      requestId,
    ]);
  }

  async function counter(name: string): Promise<Record<string, number>> {
    const metric = metrics.registry.getSingleMetric(name);
    const { values } = await metric!.get();
    return Object.fromEntries(values.map(({ labels, value }) => [String(labels.reason ?? ''), value]));
  }

  it('stores a 128 px WebP preview of each image, in answer order, under the request id, team and key', async () => {
    const sut = recorder();
    const requestId = `req_${randomUUID()}`;
    const images = [ImagePayload.fromBytes(await png(1536, 1024)), ImagePayload.fromBytes(await png(512, 1024))];
    const before = Date.now();

    sut.capture(contextOf(requestId), payloadSources(images));
    await sut.idle();

    const rows = await rowsOf(requestId);
    expect(
      rows.map(({ index, team, api_key_id, content_type }) => ({ index, team, api_key_id, content_type })),
    ).toEqual([
      { index: 0, team: 'growth', api_key_id: KEY_ID, content_type: 'image/webp' },
      { index: 1, team: 'growth', api_key_id: KEY_ID, content_type: 'image/webp' },
    ]);
    expect(await sharp(rows[0]!.bytes).metadata()).toMatchObject({ format: 'webp', width: 128, height: 85 });
    expect(await sharp(rows[1]!.bytes).metadata()).toMatchObject({ format: 'webp', width: 64, height: 128 });
    expect(rows[0]!.created_at.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(await counter('easel_thumbnails_stored_total')).toEqual({ '': 2 });
  });

  it('decodes base64 images (b64_json answers, chat data URLs) off the request path', async () => {
    const sut = recorder();
    const requestId = `req_${randomUUID()}`;
    const base64 = (await png(256, 128)).toString('base64');

    sut.capture(
      contextOf(requestId),
      inlineSources([
        { mimeType: 'image/png', base64 },
        { mimeType: 'image/png', base64 },
      ]),
    );
    await sut.idle();

    const rows = await rowsOf(requestId);
    expect(rows).toHaveLength(2);
    expect(await sharp(rows[1]!.bytes).metadata()).toMatchObject({ format: 'webp', width: 128, height: 64 });
  });

  it('returns before reading an image: the bytes are read by a worker, after the current turn of the event loop', async () => {
    const sut = recorder();
    const source = counted(await png(64, 64));

    sut.capture(contextOf(`req_${randomUUID()}`), [source]);

    expect(source.reads.bytes).toBe(0);
    expect(sut.depth).toBe(1);
    await sut.idle();
    expect(source.reads.bytes).toBe(1);
  });

  it('does nothing when CONSOLE_THUMBNAILS is off: no image is read, nothing is stored', async () => {
    const sut = recorder(AppConfig.fromEnv({ EASEL_DATA_DIR: '/tmp/unused' }));
    const requestId = `req_${randomUUID()}`;
    const source = counted(await png(64, 64));

    sut.capture(contextOf(requestId), [source]);
    await new Promise((resolve) => setImmediate(resolve));
    await sut.idle();

    expect(sut.enabled).toBe(false);
    expect(source.reads).toEqual({ size: 0, bytes: 0 });
    expect(sut.depth).toBe(0);
    expect(await rowsOf(requestId)).toEqual([]);
  });

  it('drops what does not fit in the queue, counting it, while PostgreSQL is slow', async () => {
    const sut = recorder(enabled, { concurrency: 1, maxQueued: 2 });
    const requestId = `req_${randomUUID()}`;
    const image = await png(64, 64);
    const locker = database.dataSource.createQueryRunner();
    await locker.connect();
    try {
      // Every insert waits for this lock: the worker is held, the queue fills.
      await locker.startTransaction();
      await locker.query('LOCK TABLE usage_thumbnails IN ACCESS EXCLUSIVE MODE');

      // Five images: two fit in the queue, three are dropped at once.
      sut.capture(
        contextOf(requestId),
        Array.from({ length: 5 }, () => counted(image)),
      );
      expect(await counter('easel_thumbnails_dropped_total')).toEqual({ queue_full: 3 });
      // The worker takes one (and waits on the lock): room for one more of the next two.
      await new Promise((resolve) => setImmediate(resolve));
      sut.capture(contextOf(`${requestId}-b`), [counted(image), counted(image)]);
      expect(await counter('easel_thumbnails_dropped_total')).toEqual({ queue_full: 4 });
      expect(sut.depth).toBe(3);

      await locker.commitTransaction();
    } finally {
      await locker.release();
    }
    await sut.idle();
    expect((await rowsOf(requestId)).map((row) => row.index)).toEqual([0, 1]);
    expect((await rowsOf(`${requestId}-b`)).map((row) => row.index)).toEqual([0]);
    expect(await counter('easel_thumbnails_stored_total')).toEqual({ '': 3 });
  });

  it('bounds the queue by bytes too', async () => {
    const sut = recorder(enabled, { concurrency: 1, maxQueued: 100, maxQueuedBytes: 10_000 });
    const requestId = `req_${randomUUID()}`;
    const small = await png(16, 16);
    const large = { size: () => 20_000, bytes: () => small };

    sut.capture(contextOf(requestId), [counted(small), large, counted(small)]);
    await sut.idle();

    expect((await rowsOf(requestId)).map((row) => row.index)).toEqual([0, 2]);
    expect(await counter('easel_thumbnails_dropped_total')).toEqual({ queue_full: 1 });
  });

  it('drops an image it cannot read, counting it, and goes on with the others', async () => {
    const sut = recorder();
    const requestId = `req_${randomUUID()}`;

    sut.capture(contextOf(requestId), [counted(Buffer.from('not an image')), counted(await png(32, 32))]);
    await sut.idle();

    expect((await rowsOf(requestId)).map((row) => row.index)).toEqual([1]);
    expect(await counter('easel_thumbnails_dropped_total')).toEqual({ image: 1 });
  });

  it('drops the previews PostgreSQL does not take, counting them, without throwing', async () => {
    const gone = await new DataSource(
      buildDataSourceOptions((database.dataSource.options as { url: string }).url),
    ).initialize();
    await gone.destroy();
    const sut = recorder(enabled, {}, gone);

    expect(() =>
      sut.capture(contextOf(`req_${randomUUID()}`), [counted(Buffer.alloc(0)), counted(Buffer.alloc(0))]),
    ).not.toThrow();
    sut.capture(contextOf(`req_${randomUUID()}`), [counted(await png(32, 32))]);
    await sut.idle();

    expect(await counter('easel_thumbnails_dropped_total')).toEqual({ image: 2, database: 1 });
  });

  it('keeps one preview per team for a request id two teams used (a client-chosen x-request-id)', async () => {
    const sut = recorder();
    const requestId = `shared-${randomUUID()}`;

    sut.capture(contextOf(requestId, 'growth'), [counted(await png(32, 32))]);
    sut.capture(contextOf(requestId, 'research'), [counted(await png(64, 32))]);
    sut.capture(contextOf(requestId, 'growth'), [counted(await png(16, 32))]);
    await sut.idle();

    const rows = await rowsOf(requestId);
    expect(rows.map((row) => row.team).sort()).toEqual(['growth', 'research']);
    // The first of a team stays: a later request reusing the id does not replace it.
    const growth = rows.find((row) => row.team === 'growth')!;
    expect(await sharp(growth.bytes).metadata()).toMatchObject({ width: 32, height: 32 });
  });

  it('stores what is queued at shutdown, and drops what comes after', async () => {
    const sut = recorder();
    const requestId = `req_${randomUUID()}`;
    const image = await png(32, 32);

    sut.capture(contextOf(requestId), [counted(image), counted(image), counted(image)]);
    await sut.beforeApplicationShutdown();
    sut.capture(contextOf(`${requestId}-late`), [counted(image)]);

    expect(sut.depth).toBe(0);
    expect(await rowsOf(requestId)).toHaveLength(3);
    expect(await counter('easel_thumbnails_dropped_total')).toEqual({ shutdown: 1 });
  });
});
