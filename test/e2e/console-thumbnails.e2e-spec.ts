import { randomUUID } from 'node:crypto';
import sharp, { type Metadata } from 'sharp';
import { DataSource } from 'typeorm';
import { DEFAULT_THUMBNAIL_LIMITS, ThumbnailRecorder } from '../../src/usage/thumbnails/thumbnail.recorder.js';
import { UsagePartitionMaintenance } from '../../src/usage/usage-partition.maintenance.js';
import { createApiKey } from '../factories/api-key.factory.js';
import { chatRequest, imageRequest, LOCAL_MODEL } from '../factories/request-body.factory.js';
import { createTeam } from '../factories/team.factory.js';
import { createTestApp, type TestApp } from '../utils/test-app.js';
import { waitFor } from '../utils/wait-for.js';

/**
 * CONSOLE_THUMBNAILS (issue 17): a 128 px WebP preview of each generated image, stored at
 * generation time off the request's path, served to the admin (any team) and to a key of the
 * request's team (another team's is 404 like a missing one), by bearer key or console cookie, and
 * deleted with the usage records by USAGE_RETENTION_MONTHS. Off: nothing is stored.
 */

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

const NOT_FOUND: ErrorBody = {
  error: {
    message: expect.stringContaining('No such preview') as unknown as string,
    type: 'invalid_request_error',
    param: null,
    code: 'resource_not_found',
  },
};

const adminPath = (requestId: string, index: number | string) =>
  `/admin/usage/records/${requestId}/thumbnails/${index}`;
const v1Path = (requestId: string, index: number | string) => `/v1/usage/records/${requestId}/thumbnails/${index}`;

describe('Console thumbnails (CONSOLE_THUMBNAILS=true)', () => {
  let sut: TestApp;
  let dataSource: DataSource;
  let recorder: ThumbnailRecorder;
  /** Two keys of one team, and a key of another team. */
  let growth: { id: string; key: string; team: string };
  let growthOther: { key: string };
  let research: { key: string; team: string };

  beforeAll(async () => {
    sut = await createTestApp({
      env: { CONSOLE_THUMBNAILS: 'true', USAGE_RETENTION_MONTHS: '12', REDIS_URL: process.env.REDIS_URL },
    });
    dataSource = sut.app.get(DataSource);
    recorder = sut.app.get(ThumbnailRecorder);
    const growthTeam = (await createTeam(sut)).name;
    growth = await createApiKey(sut, { team: growthTeam, rpm: 100_000 });
    growthOther = await createApiKey(sut, { team: growthTeam, rpm: 100_000 });
    research = await createApiKey(sut, { team: (await createTeam(sut)).name, rpm: 100_000 });
  });

  afterAll(async () => {
    await sut.close();
  });

  /** POSTs with its own x-request-id; expects 200; resolves with the body and the id. */
  async function post(path: string, key: string, body: unknown): Promise<{ requestId: string; body: any }> {
    const requestId = `thumb-${randomUUID()}`;
    const response = await sut.http(path, { key, body, headers: { 'x-request-id': requestId } });
    const text = await response.text();
    expect({ status: response.status, text: response.status === 200 ? '' : text }).toEqual({ status: 200, text: '' });
    expect(response.headers.get('x-request-id')).toBe(requestId);
    return { requestId, body: text.startsWith('{') ? JSON.parse(text) : text };
  }

  async function previewOf(response: Response): Promise<Metadata> {
    expect(response.status).toBe(200);
    return sharp(Buffer.from(await response.arrayBuffer())).metadata();
  }

  async function storedIndexes(requestId: string): Promise<number[]> {
    const rows: Array<{ index: number }> = await dataSource.query(
      `SELECT "index" FROM usage_thumbnails WHERE request_id = $1 ORDER BY "index"`,
      [requestId],
    );
    return rows.map((row) => row.index);
  }

  async function usageRecordOf(requestId: string): Promise<{ endpoint: string; status: string; images: number }> {
    const [row] = await waitFor(
      () => dataSource.query(`SELECT endpoint, status, images FROM usage_records WHERE request_id = $1`, [requestId]),
      (rows: unknown[]) => rows.length === 1,
    );
    return row as { endpoint: string; status: string; images: number };
  }

  it('stores a 128 px WebP of each image of a generation (n=2), read by the admin and by any key of the team', async () => {
    const { requestId, body } = await post(
      '/v1/images/generations',
      growth.key,
      imageRequest({ n: 2, size: '1536x1024' }),
    );
    // The answer is the images, as without previews.
    expect(Object.keys(body).sort()).toEqual(
      ['background', 'created', 'data', 'model', 'output_format', 'quality', 'size', 'usage'].sort(),
    );
    expect(body.data).toHaveLength(2);
    await recorder.idle();

    expect(await storedIndexes(requestId)).toEqual([0, 1]);
    for (const index of [0, 1]) {
      for (const response of [
        await sut.http(adminPath(requestId, index), { key: sut.adminKey }),
        await sut.http(v1Path(requestId, index), { key: growth.key }),
        await sut.http(v1Path(requestId, index), { key: growthOther.key }),
      ]) {
        expect(response.headers.get('content-type')).toBe('image/webp');
        expect(response.headers.get('cache-control')).toBe('private, no-store');
        expect(response.headers.get('x-content-type-options')).toBe('nosniff');
        expect(await previewOf(response)).toMatchObject({ format: 'webp', width: 128, height: 85 });
      }
    }
    // The same id as the request's usage record.
    expect(await usageRecordOf(requestId)).toEqual({ endpoint: 'images', status: 'success', images: 2 });
  });

  it("answers another team's preview 404, exactly like a missing one", async () => {
    const { requestId } = await post('/v1/images/generations', growth.key, imageRequest());
    await recorder.idle();
    expect(await storedIndexes(requestId)).toEqual([0]);

    const otherTeams = await sut.http(v1Path(requestId, 0), { key: research.key });
    const missingIndex = await sut.http(v1Path(requestId, 1), { key: growth.key });
    const missingRequest = await sut.http(v1Path(`${requestId}-nope`, 0), { key: growth.key });
    const missingForAdmin = await sut.http(adminPath(`${requestId}-nope`, 0), { key: sut.adminKey });

    const bodies = [];
    for (const response of [otherTeams, missingIndex, missingRequest, missingForAdmin]) {
      expect(response.status).toBe(404);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(response.headers.get('cache-control')).toBe('no-store');
      bodies.push(await response.json());
    }
    expect(bodies[0]).toEqual(NOT_FOUND);
    expect(new Set(bodies.map((body) => JSON.stringify(body))).size).toBe(1);
  });

  it('stores previews of url answers and of streamed generations', async () => {
    const url = await post('/v1/images/generations', growth.key, imageRequest({ response_format: 'url', n: 2 }));
    const streamed = await post(
      '/v1/images/generations',
      growth.key,
      imageRequest({ stream: true, partial_images: 1, size: '1024x1536' }),
    );
    expect(streamed.body).toContain('image_generation.completed');
    await recorder.idle();

    expect(await storedIndexes(url.requestId)).toEqual([0, 1]);
    expect(await storedIndexes(streamed.requestId)).toEqual([0]);
    expect(await previewOf(await sut.http(v1Path(url.requestId, 1), { key: growth.key }))).toMatchObject({
      width: 128,
      height: 128,
    });
    expect(await previewOf(await sut.http(v1Path(streamed.requestId, 0), { key: growth.key }))).toMatchObject({
      width: 85,
      height: 128,
    });
  });

  it('keeps transparency: a transparent generation has a preview with transparent pixels, an opaque one none', async () => {
    const transparent = await post(
      '/v1/images/generations',
      growth.key,
      imageRequest({ background: 'transparent', output_format: 'png', size: '1024x1024' }),
    );
    const opaque = await post('/v1/images/generations', growth.key, imageRequest({ size: '1024x1024' }));
    await recorder.idle();

    const alphaRange = async (requestId: string) => {
      const response = await sut.http(v1Path(requestId, 0), { key: growth.key });
      const bytes = Buffer.from(await response.arrayBuffer());
      const { hasAlpha } = await sharp(bytes).metadata();
      const { data } = await sharp(bytes).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
      const alphas = data.filter((_, at) => at % 4 === 3);
      return { hasAlpha, min: Math.min(...alphas), max: Math.max(...alphas) };
    };
    expect(await alphaRange(transparent.requestId)).toEqual({ hasAlpha: true, min: 0, max: 255 });
    expect(await alphaRange(opaque.requestId)).toEqual({ hasAlpha: false, min: 255, max: 255 });
  });

  it('stores previews of an image edit, transparent where the edit is', async () => {
    // A blue square on a transparent background.
    const square = await sharp({ create: { width: 100, height: 100, channels: 4, background: '#3366cc' } })
      .png()
      .toBuffer();
    const input = await sharp({
      create: { width: 300, height: 200, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } },
    })
      .composite([{ input: square, left: 100, top: 50 }])
      .png()
      .toBuffer();
    const { requestId } = await post('/v1/images/edits', growth.key, {
      model: LOCAL_MODEL,
      prompt: 'add a moon',
      images: [{ image_url: `data:image/png;base64,${input.toString('base64')}` }],
      n: 2,
      size: '1536x1024',
      background: 'transparent',
      response_format: 'b64_json',
    });
    await recorder.idle();

    expect(await storedIndexes(requestId)).toEqual([0, 1]);
    expect(await previewOf(await sut.http(adminPath(requestId, 1), { key: sut.adminKey }))).toMatchObject({
      format: 'webp',
      width: 128,
      height: 85,
      hasAlpha: true,
    });
    expect(await usageRecordOf(requestId)).toMatchObject({ endpoint: 'images.edits', status: 'success' });
  });

  it('stores previews of the images of a chat completion (choices in order) and of a chat stream', async () => {
    const chat = await post('/v1/chat/completions', growth.key, chatRequest({ n: 2 }));
    const streamed = await post('/v1/chat/completions', growth.key, chatRequest({ stream: true }));
    const textOnly = await post('/v1/chat/completions', growth.key, chatRequest({ modalities: ['text'] }));
    expect(streamed.body).toContain('data: [DONE]');
    await recorder.idle();

    expect(await storedIndexes(chat.requestId)).toEqual([0, 1]);
    expect(await storedIndexes(streamed.requestId)).toEqual([0]);
    expect(await storedIndexes(textOnly.requestId)).toEqual([]);
    for (const [requestId, index] of [
      [chat.requestId, 1],
      [streamed.requestId, 0],
    ] as const) {
      expect(await previewOf(await sut.http(v1Path(requestId, index), { key: growth.key }))).toMatchObject({
        format: 'webp',
        width: 128,
        height: 128,
      });
    }
  });

  it('serves the previews to the console session cookie: a team session its team only, an admin session any', async () => {
    const { requestId } = await post('/v1/images/generations', growth.key, imageRequest());
    await recorder.idle();
    const cookieOf = async (key: string) => {
      const response = await sut.http('/console/api/session', { body: { key } });
      expect(response.status).toBe(201);
      return response.headers.getSetCookie()[0]!.split(';')[0]!;
    };
    const growthCookie = await cookieOf(growth.key);
    const researchCookie = await cookieOf(research.key);
    const adminCookie = await cookieOf(sut.adminKey!);

    const readId = `thumb-read-${randomUUID()}`;
    const own = await sut.http(v1Path(requestId, 0), { headers: { cookie: growthCookie, 'x-request-id': readId } });
    expect(await previewOf(own)).toMatchObject({ format: 'webp' });
    expect(
      await previewOf(await sut.http(adminPath(requestId, 0), { headers: { cookie: adminCookie } })),
    ).toMatchObject({ format: 'webp' });
    const other = await sut.http(v1Path(requestId, 0), { headers: { cookie: researchCookie } });
    expect({ status: other.status, body: await other.json() }).toEqual({ status: 404, body: NOT_FOUND });
    const teamOnAdmin = await sut.http(adminPath(requestId, 0), { headers: { cookie: growthCookie } });
    expect(teamOnAdmin.status).toBe(403);
    // Without a key or a cookie: 401.
    expect((await sut.http(v1Path(requestId, 0))).status).toBe(401);
    expect((await sut.http(adminPath(requestId, 0))).status).toBe(401);
    // A preview is part of reading a record, not a request of its own: no usage record (a missing
    // one would count as an error in the team's error rate).
    const [{ count }] = await dataSource.query(
      `SELECT count(*)::int AS count FROM usage_records WHERE request_id = $1`,
      [readId],
    );
    expect(count).toBe(0);
  });

  it.each([
    ['a request id with a space', `${encodeURIComponent('req 1')}`, '0', 'request_id'],
    ['a request id with a slash', encodeURIComponent('req/1'), '0', 'request_id'],
    ['a request id with a NUL', encodeURIComponent('req\u00001'), '0', 'request_id'],
    ['a negative index', 'req_1', '-1', 'index'],
    ['a fractional index', 'req_1', '1.5', 'index'],
    ['an exponent', 'req_1', '1e2', 'index'],
    ['a hexadecimal index', 'req_1', '0x1', 'index'],
    ['a word', 'req_1', 'first', 'index'],
    ['an index over 999', 'req_1', '1000', 'index'],
    ['a huge index', 'req_1', '99999999999999999999999', 'index'],
  ])('answers %s with 400 in OpenAI shape, on both routes', async (_, requestId, index, param) => {
    for (const [path, key] of [
      [v1Path(requestId, index), growth.key],
      [adminPath(requestId, index), sut.adminKey!],
    ] as const) {
      const response = await sut.http(path, { key });
      expect({ status: response.status, body: await response.json() }).toEqual({
        status: 400,
        body: {
          error: { message: expect.any(String), type: 'invalid_request_error', param, code: expect.any(String) },
        },
      });
    }
  });

  it("tells apart two teams' requests sent with one x-request-id: the admin names the team", async () => {
    const requestId = `thumb-shared-${randomUUID()}`;
    for (const [key, prompt] of [
      [growth.key, 'a red fox in the snow'],
      [research.key, 'a blue whale at night'],
    ] as const) {
      const response = await sut.http('/v1/images/generations', {
        key,
        body: imageRequest({ prompt }),
        headers: { 'x-request-id': requestId },
      });
      expect(response.status).toBe(200);
    }
    await recorder.idle();
    const bytesOf = async (response: Response) => {
      expect(response.status).toBe(200);
      return Buffer.from(await response.arrayBuffer());
    };
    const growthOwn = await bytesOf(await sut.http(v1Path(requestId, 0), { key: growth.key }));
    const researchOwn = await bytesOf(await sut.http(v1Path(requestId, 0), { key: research.key }));
    expect(growthOwn.equals(researchOwn)).toBe(false);
    const admin = (team: string) =>
      sut.http(`${adminPath(requestId, 0)}?team=${team}`, { key: sut.adminKey }).then(bytesOf);
    expect((await admin(growth.team)).equals(growthOwn)).toBe(true);
    expect((await admin(research.team)).equals(researchOwn)).toBe(true);
    const nobody = await sut.http(`${adminPath(requestId, 0)}?team=nobody`, { key: sut.adminKey });
    expect(nobody.status).toBe(404);
    for (const query of ['?team=a&team=b', `?team=${'x'.repeat(101)}`, '?other=1']) {
      expect((await sut.http(`${adminPath(requestId, 0)}${query}`, { key: sut.adminKey })).status).toBe(400);
    }
  });

  it('answers a query parameter (unknown, or repeated) with 400', async () => {
    for (const query of ['?size=large', '?v=1&v=2']) {
      const response = await sut.http(`${v1Path('req_1', 0)}${query}`, { key: growth.key });
      expect(response.status).toBe(400);
      expect(((await response.json()) as ErrorBody).error).toMatchObject({ type: 'invalid_request_error' });
    }
  });

  it('takes request ids up to 128 characters (any x-request-id), and answers a longer one 400', async () => {
    const longest = `t${'x'.repeat(90)}-${randomUUID()}`;
    expect(longest).toHaveLength(128);
    const response = await sut.http('/v1/images/generations', {
      key: growth.key,
      body: imageRequest(),
      headers: { 'x-request-id': longest },
    });
    expect(response.status).toBe(200);
    await recorder.idle();

    expect(await previewOf(await sut.http(v1Path(longest, 0), { key: growth.key }))).toMatchObject({ format: 'webp' });
    for (const tooLong of [`${longest}x`, 'y'.repeat(5000)]) {
      const response = await sut.http(v1Path(tooLong, 0), { key: growth.key });
      expect(response.status).toBe(400);
      expect(((await response.json()) as ErrorBody).error.type).toBe('invalid_request_error');
    }
  });

  it('drops previews the full queue cannot take, without delaying, failing or changing a response or losing a usage record', async () => {
    const { concurrency, maxQueued } = DEFAULT_THUMBNAIL_LIMITS;
    const locker = dataSource.createQueryRunner();
    await locker.connect();
    const requestIds: string[] = [];
    const metricsBefore = await droppedForQueue();
    try {
      // Every preview insert waits on this lock: the workers are held, the queue fills.
      await locker.startTransaction();
      await locker.query('LOCK TABLE usage_thumbnails IN ACCESS EXCLUSIVE MODE');
      for (let request = 0; request < 4; request++) {
        // Answered while the previews cannot be written: nothing waits for them.
        const { requestId, body } = await post('/v1/images/generations', growth.key, imageRequest({ n: 10 }));
        expect(body.data).toHaveLength(10);
        requestIds.push(requestId);
      }
      expect(recorder.depth).toBe(concurrency + maxQueued);
      for (const requestId of requestIds) {
        expect(await usageRecordOf(requestId)).toEqual({ endpoint: 'images', status: 'success', images: 10 });
      }
      await locker.commitTransaction();
    } finally {
      await locker.release();
    }
    await recorder.idle();

    const stored: Array<{ count: number }> = await dataSource.query(
      `SELECT count(*)::int AS count FROM usage_thumbnails WHERE request_id = ANY($1)`,
      [requestIds],
    );
    expect(stored[0]!.count).toBe(concurrency + maxQueued);
    expect((await droppedForQueue()) - metricsBefore).toBe(40 - concurrency - maxQueued);
  });

  async function droppedForQueue(): Promise<number> {
    const metrics = await (await sut.http('/metrics')).text();
    const line = metrics.split('\n').find((l) => l.startsWith('easel_thumbnails_dropped_total{reason="queue_full"}'));
    return line ? Number(line.split(' ').at(-1)) : 0;
  }

  it('deletes the previews of months past USAGE_RETENTION_MONTHS with the usage records, and keeps the others', async () => {
    const old = `thumb-old-${randomUUID()}`;
    const recent = `thumb-recent-${randomUUID()}`;
    const image = (
      await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } })
        .webp()
        .toBuffer()
    ).toString('hex');
    for (const [requestId, age] of [
      [old, '14 months'],
      [recent, '1 day'],
    ]) {
      await dataSource.query(
        `INSERT INTO usage_thumbnails (request_id, "index", team, created_at, content_type, bytes)
         VALUES ($1, 0, 'retention', now() - $2::interval, 'image/webp', decode($3, 'hex'))`,
        [requestId, age, image],
      );
    }
    expect((await sut.http(adminPath(old, 0), { key: sut.adminKey })).status).toBe(200);

    const maintenance = sut.app.get(UsagePartitionMaintenance);
    await maintenance.maintain();
    await maintenance.previewsExpired();

    expect((await sut.http(adminPath(old, 0), { key: sut.adminKey })).status).toBe(404);
    expect((await sut.http(adminPath(recent, 0), { key: sut.adminKey })).status).toBe(200);
  });

  it('documents both routes in Swagger as image/webp with 400 and 404', async () => {
    const document = (await (await sut.http('/docs-json')).json()) as {
      paths: Record<
        string,
        { get?: { responses: Record<string, { content?: Record<string, unknown> }>; security?: unknown } }
      >;
    };
    for (const path of [
      '/admin/usage/records/{request_id}/thumbnails/{index}',
      '/v1/usage/records/{request_id}/thumbnails/{index}',
    ]) {
      const get = document.paths[path]?.get;
      expect(Object.keys(get?.responses ?? {})).toEqual(expect.arrayContaining(['200', '400', '401', '404']));
      expect(Object.keys(get!.responses['200']!.content!)).toEqual(['image/webp']);
      expect(get!.security).toEqual(expect.arrayContaining([{ bearer: [] }, { console: [] }]));
    }
  });
});

describe('Console thumbnails off (the default)', () => {
  let sut: TestApp;

  beforeAll(async () => {
    sut = await createTestApp();
  });

  afterAll(async () => {
    await sut.close();
  });

  it('stores nothing and answers 404', async () => {
    const { key } = await createApiKey(sut);
    const requestId = `thumb-off-${randomUUID()}`;
    const response = await sut.http('/v1/images/generations', {
      key,
      body: imageRequest({ n: 2 }),
      headers: { 'x-request-id': requestId },
    });
    expect(response.status).toBe(200);
    const dataSource = sut.app.get(DataSource);
    await waitFor(
      () => dataSource.query(`SELECT 1 FROM usage_records WHERE request_id = $1`, [requestId]),
      (rows: unknown[]) => rows.length === 1,
    );

    expect(sut.app.get(ThumbnailRecorder).depth).toBe(0);
    const [{ count }] = await dataSource.query(`SELECT count(*)::int AS count FROM usage_thumbnails`);
    expect(count).toBe(0);
    const preview = await sut.http(`/v1/usage/records/${requestId}/thumbnails/0`, { key });
    expect(preview.status).toBe(404);
    expect(
      (await sut.http('/metrics').then((r) => r.text())).match(/^easel_thumbnails_stored_total 0$/m),
    ).not.toBeNull();
  });
});
