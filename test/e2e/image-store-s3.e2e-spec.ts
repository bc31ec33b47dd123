import { randomBytes } from 'node:crypto';
import { DeleteObjectCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../src/config/app.config.js';
import { InvalidEnvironmentError } from '../../src/config/env.validation.js';
import { createApiKey } from '../factories/api-key.factory.js';
import { imageRequest } from '../factories/request-body.factory.js';
import { FakeAzureOpenAiServer } from '../fakes/fake-azure-openai.server.js';
import { S3RVER_CREDENTIALS, type S3rverHandle, startS3rver } from '../utils/s3rver.js';
import { createTestApp, type TestApp } from '../utils/test-app.js';
import { errorThrownBy } from '../utils/thrown-error.js';
import { AZURE_KEY } from '../utils/upstream-apps.js';
import { waitFor } from '../utils/wait-for.js';

/**
 * `IMAGE_STORE=s3` against s3rver, a real S3-protocol server on loopback (SigV4 with its own
 * credentials, which each app gets in its env: the S3 store takes AWS keys from Easel's config).
 */
const GENERATIONS = '/v1/images/generations';
const PREFIX = 'images/';
const URL_REQUEST = imageRequest({ response_format: 'url', prompt: 'a kite over the bay' });

describe('IMAGE_STORE=s3', () => {
  let s3: S3rverHandle;
  let bucket: S3Client;

  beforeAll(async () => {
    s3 = await startS3rver();
    bucket = new S3Client({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: S3RVER_CREDENTIALS,
    });
  });

  afterAll(async () => {
    bucket?.destroy();
    await s3?.close();
  });

  /** The object behind an image URL (its key is the URL's last path segment, under the prefix). */
  async function objectOf(url: string) {
    const file = new URL(url).pathname.split('/').pop()!;
    const object = await bucket.send(new GetObjectCommand({ Bucket: s3.bucket, Key: `${PREFIX}${file}` }));
    return { contentType: object.ContentType, bytes: Buffer.from(await object.Body!.transformToByteArray()) };
  }

  async function generateUrl(app: TestApp, key: string): Promise<string> {
    const response = await app.http(GENERATIONS, { key, body: URL_REQUEST });
    expect(response.status).toBe(200);
    return ((await response.json()) as { data: { url: string }[] }).data[0]!.url;
  }

  describe('with gateway URLs (the default)', () => {
    let azure: FakeAzureOpenAiServer;
    let sut: TestApp;
    let key: string;

    beforeAll(async () => {
      azure = await new FakeAzureOpenAiServer({ apiKey: AZURE_KEY, deployments: ['gpt-image-1.5'] }).start();
      sut = await createTestApp({
        env: { ...s3.env, S3_PREFIX: PREFIX, AZURE_OPENAI_ENDPOINT: azure.baseUrl, AZURE_OPENAI_API_KEY: AZURE_KEY },
      });
      ({ key } = await createApiKey(sut));
    });

    afterAll(async () => {
      await s3.start();
      await sut?.close();
      await azure?.stop();
    });

    it('puts the image in the bucket with its content type and serves it through Easel: whole, by range, to HEAD', async () => {
      const url = await generateUrl(sut, key);
      const stored = await objectOf(url);

      expect(url.startsWith(`${sut.baseUrl}/v1/images/files/`)).toBe(true);
      expect(stored.contentType).toBe('image/png');
      const whole = await fetch(url);
      expect(whole.status).toBe(200);
      expect(whole.headers.get('content-type')).toBe('image/png');
      expect(Buffer.from(await whole.arrayBuffer())).toEqual(stored.bytes);

      const size = stored.bytes.length;
      for (const [range, first, last] of [
        ['bytes=10-99', 10, 99],
        ['bytes=-50', size - 50, size - 1],
        ['bytes=100-', 100, size - 1],
      ] as const) {
        const part = await fetch(url, { headers: { range } });
        expect(part.status).toBe(206);
        expect(part.headers.get('content-range')).toBe(`bytes ${first}-${last}/${size}`);
        expect(Buffer.from(await part.arrayBuffer())).toEqual(stored.bytes.subarray(first, last + 1));
      }

      const outside = await fetch(url, { headers: { range: `bytes=${size}-` } });
      expect(outside.status).toBe(416);
      expect(outside.headers.get('content-range')).toBe(`bytes */${size}`);

      const head = await fetch(url, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-length')).toBe(String(size));
      expect(head.headers.get('content-type')).toBe('image/png');
      expect((await head.arrayBuffer()).byteLength).toBe(0);
    });

    it('answers the 404 of any vanished image for an object the bucket no longer has', async () => {
      const url = new URL(await generateUrl(sut, key));
      const file = url.pathname.split('/').pop()!;
      await bucket.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: `${PREFIX}${file}` }));

      const response = await fetch(url);

      expect(response.status).toBe(404);
      expect(await response.json()).toMatchObject({ error: { code: 'resource_not_found' } });
    });

    it('reports the bucket in readiness', async () => {
      const response = await sut.http('/health/ready');

      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ info: { image_store: { status: 'up' } } });
    });

    it('answers 503 storage_unavailable when the bucket is down, charging what the upstream billed, once', async () => {
      const url = await generateUrl(sut, key);
      await s3.stop();
      try {
        const response = await sut.http(GENERATIONS, {
          key,
          headers: { 'x-request-id': 'bucket-down' },
          body: imageRequest({
            model: 'azure/openai/gpt-image-1.5',
            prompt: 'abcd',
            size: '1024x1024',
            quality: 'low',
            response_format: 'url',
          }),
        });

        expect(response.status).toBe(503);
        expect(await response.json()).toEqual({
          error: {
            type: 'server_error',
            code: 'storage_unavailable',
            param: null,
            message: expect.stringContaining('b64_json') as string,
          },
        });
        expect(azure.generationRequests).toHaveLength(1);
        const cost = response.headers.get('x-easel-cost-usd');
        expect(Number(cost)).toBeGreaterThan(0);
        const { cost_usd: recorded, ...record } = await usageRecord(sut, 'bucket-down');
        expect(record).toEqual({ status: 'error', http_status: 503, error_code: 'storage_unavailable' });
        expect(String(recorded).replace(/\.?0+$/, '')).toBe(cost);

        const download = await fetch(url);
        expect(download.status).toBe(503);
        expect(await download.json()).toMatchObject({ error: { code: 'storage_unavailable' } });

        const ready = await sut.http('/health/ready');
        expect(ready.status).toBe(503);
        expect(await ready.json()).toMatchObject({
          error: { code: 'not_ready', message: expect.stringContaining('image store unreachable') as string },
        });
        const metrics = await (await sut.http('/metrics')).text();
        expect(metrics).toMatch(/easel_storage_failures_total\{operation="put"\} 1\b/);
        expect(metrics).toMatch(/easel_storage_failures_total\{operation="get"\} 1\b/);
      } finally {
        await s3.start();
      }
      expect((await sut.http('/health/ready')).status).toBe(200);
      expect((await fetch(url)).status).toBe(200);
    });
  });

  describe('with IMAGE_URL_MODE=presigned', () => {
    let sut: TestApp;
    let key: string;

    beforeAll(async () => {
      sut = await createTestApp({
        env: { ...s3.env, S3_PREFIX: PREFIX, IMAGE_URL_MODE: 'presigned', IMAGE_URL_TTL_SECONDS: '600' },
      });
      ({ key } = await createApiKey(sut));
    });

    afterAll(() => sut?.close());

    it("answers the bucket's own URL, valid as long as an Easel URL, which downloads the bytes directly", async () => {
      const url = new URL(await generateUrl(sut, key));
      const response = await fetch(url);

      expect(url.origin).toBe(s3.endpoint);
      expect(url.pathname).toMatch(new RegExp(`^/${s3.bucket}/${PREFIX}[A-Za-z0-9_-]+\\.png$`));
      expect(url.searchParams.get('X-Amz-Expires')).toBe('600');
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('image/png');
      expect(Buffer.from(await response.arrayBuffer())).toEqual((await objectOf(url.href)).bytes);
    });
  });

  it('refuses to start without a bucket, or with presigned URLs and no bucket to sign them, naming the variable', () => {
    const refusals = (env: Record<string, string>) =>
      errorThrownBy(() => AppConfig.fromEnv(env), InvalidEnvironmentError).problems;

    expect(refusals({ IMAGE_STORE: 's3' })).toEqual(['S3_BUCKET: must be set when IMAGE_STORE=s3']);
    expect(refusals({ IMAGE_URL_MODE: 'presigned' })).toEqual([
      expect.stringMatching(/^IMAGE_URL_MODE: presigned needs IMAGE_STORE=s3 .*\(got "presigned"\)$/),
    ]);
  });

  describe('with two instances sharing PostgreSQL, the signing secret and the bucket', () => {
    let a: TestApp;
    let b: TestApp;

    beforeAll(async () => {
      // Nothing of this needs Redis (keys are in PostgreSQL); it is shared too when the run has one.
      const env = {
        ...s3.env,
        S3_PREFIX: PREFIX,
        URL_SIGNING_SECRET: randomBytes(32).toString('base64url'),
        ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
      };
      a = await createTestApp({ env });
      b = await createTestApp({ env: { ...env, ADMIN_API_KEY: a.adminKey }, database: a.database });
    });

    afterAll(async () => {
      await b?.close({ keep: true });
      await a?.close();
    });

    it('serves from B an image generated on A, whole and by range', async () => {
      const { key } = await createApiKey(a);
      const fromA = new URL(await generateUrl(a, key));
      const onB = new URL(`${fromA.pathname}${fromA.search}`, b.baseUrl);
      const stored = await objectOf(fromA.href);

      const whole = await fetch(onB);
      const part = await fetch(onB, { headers: { range: 'bytes=0-15' } });

      expect(whole.status).toBe(200);
      expect(Buffer.from(await whole.arrayBuffer())).toEqual(stored.bytes);
      expect(part.status).toBe(206);
      expect(Buffer.from(await part.arrayBuffer())).toEqual(stored.bytes.subarray(0, 16));
    });
  });
});

/** The usage record of the request (waits for the batch insert). */
async function usageRecord(app: TestApp, requestId: string): Promise<Record<string, unknown>> {
  const dataSource = app.app.get(DataSource);
  const rows = await waitFor(
    () =>
      dataSource.query(
        `SELECT status, http_status, error_code, cost_usd::text AS cost_usd FROM usage_records WHERE request_id = $1`,
        [requestId],
      ) as Promise<Record<string, unknown>[]>,
    (found) => found.length > 0,
  );
  return rows[0]!;
}
