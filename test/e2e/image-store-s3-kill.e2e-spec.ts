import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { generateApiKeySecret } from '../../src/auth/api-key.secret.js';
import { AppConfig } from '../../src/config/app.config.js';
import { ImageUrlSigner } from '../../src/storage/image-url.signer.js';
import { imageRequest } from '../factories/request-body.factory.js';
import { S3RVER_CREDENTIALS, type S3rverHandle, startS3rver } from '../utils/s3rver.js';
import { type ServerProcess, startServerProcess } from '../utils/server-process.js';
import { createTestDatabase, type TestDatabase } from '../utils/test-database.js';
import { waitFor } from '../utils/wait-for.js';

const PREFIX = 'images/';
/**
 * Short, so that the restarted instance's sweep (every URL lifetime) runs within the test; long
 * enough for a URL to be downloaded right after it is made.
 */
const URL_TTL_SECONDS = 10;

/** A PutObject the proxy holds: its key, its declared size, and the bytes of it that went on to the bucket. */
interface HeldUpload {
  key: string;
  declaredBytes: number;
  forwardedBytes: number;
  /** Resolves when the connection to the bucket that carried it has closed. */
  closed: Promise<void>;
}

/**
 * An HTTP proxy on loopback between Easel and the bucket. It forwards everything, except that
 * once armed it holds the next PutObject: it forwards the headers and half of the body to the
 * bucket, then nothing more, and answers nothing. When the client's connection dies, the
 * bucket's goes too, as it would over a network.
 */
class UploadHoldingProxy {
  /** Keys of the PutObjects that reached the proxy, in order. */
  readonly uploads: string[] = [];
  private readonly server: Server;
  private holding?: (upload: HeldUpload) => void;

  constructor(
    private readonly target: URL,
    private readonly bucket: string,
  ) {
    this.server = createServer((req, res) => this.forward(req, res));
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  /** Resolves once half of the next upload's body has been handed to the bucket's connection. */
  holdNextUpload(): Promise<HeldUpload> {
    return new Promise((resolve) => (this.holding = resolve));
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private forward(req: IncomingMessage, res: ServerResponse): void {
    // Hop-by-hop headers stay here (none of them is signed); the Host header, which is, goes on as sent.
    const { connection: _connection, 'keep-alive': _keepAlive, expect: _expect, ...headers } = req.headers;
    const upstream = request(this.target, { method: req.method, path: req.url, headers, agent: false });
    upstream.on('response', (answer) => {
      res.writeHead(answer.statusCode!, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });

    const path = new URL(req.url!, 'http://proxy').pathname;
    const hold = this.holding;
    if (req.method !== 'PUT' || !path.startsWith(`/${this.bucket}/`)) {
      req.pipe(upstream);
      return;
    }
    const key = decodeURIComponent(path.slice(this.bucket.length + 2));
    this.uploads.push(key);
    if (!hold) {
      req.pipe(upstream);
      return;
    }
    this.holding = undefined;
    const declaredBytes = Number(req.headers['content-length']);
    const part = Math.floor(declaredBytes / 2);
    const closed = new Promise<void>((resolve) => upstream.once('close', resolve));
    let forwardedBytes = 0;
    req.on('data', (chunk: Buffer) => {
      const piece = chunk.subarray(0, part - forwardedBytes);
      if (piece.length === 0) return;
      forwardedBytes += piece.length;
      upstream.write(piece, () => {
        if (forwardedBytes === part) hold({ key, declaredBytes, forwardedBytes, closed });
      });
    });
  }
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

/** Every file of the usage journal and spool, as text. */
async function usageFiles(dataDir: string): Promise<string> {
  const texts: string[] = [];
  for (const dir of ['usage-journal', 'usage-spool']) {
    const names = await readdir(join(dataDir, dir)).catch(() => [] as string[]);
    for (const name of names) texts.push(await readFile(join(dataDir, dir, name), 'utf8').catch(() => ''));
  }
  return texts.join('\n');
}

/**
 * Easel as its own process with `IMAGE_STORE=s3`, killed (SIGKILL: the OOM killer, a node drained
 * past its grace period) while it uploads an image, then restarted on the same database and data
 * dir. The bucket is s3rver on loopback, reached through a proxy that holds the upload half-sent,
 * so the kill provably lands during the PutObject; the bucket is checked directly, not through
 * the proxy.
 */
describe('Easel killed (SIGKILL) during an image upload to the bucket', () => {
  let s3: S3rverHandle;
  let bucket: S3Client;
  let proxy: UploadHoldingProxy;
  let database: TestDatabase;
  let dataDir: string;

  beforeAll(async () => {
    s3 = await startS3rver();
    bucket = new S3Client({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: S3RVER_CREDENTIALS,
    });
    proxy = await new UploadHoldingProxy(new URL(s3.endpoint), s3.bucket).start();
    database = await createTestDatabase();
    dataDir = await mkdtemp(join(tmpdir(), 'easel-s3-kill-'));
  });

  afterAll(async () => {
    await proxy?.stop();
    bucket?.destroy();
    await s3?.close();
    await database?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  /** The objects under Easel's prefix, listed by the bucket itself. */
  async function imagesInBucket(): Promise<Array<{ key: string; size: number }>> {
    const page = await bucket.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: PREFIX }));
    return (page.Contents ?? []).map((object) => ({ key: object.Key!, size: object.Size! }));
  }

  it('gives the client no URL and leaves no image behind one; a restarted instance sweeps what the store kept and serves URLs again', async () => {
    const adminKey = generateApiKeySecret().key;
    const signingSecret = randomBytes(32).toString('base64url');
    const env = {
      ...s3.env,
      S3_ENDPOINT: proxy.endpoint,
      S3_PREFIX: PREFIX,
      IMAGE_URL_TTL_SECONDS: String(URL_TTL_SECONDS),
      URL_SIGNING_SECRET: signingSecret,
      DATABASE_URL: database.url,
      EASEL_DATA_DIR: dataDir,
      ADMIN_API_KEY: adminKey,
      LOG_LEVEL: 'warn',
    };
    const generate = (server: ServerProcess, key: string, requestId: string) =>
      fetch(`${server.baseUrl}/v1/images/generations`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'x-request-id': requestId },
        body: JSON.stringify(imageRequest({ response_format: 'url', prompt: requestId })),
      });

    let server = await startServerProcess(env, 120_000);
    try {
      const created = await fetch(`${server.baseUrl}/admin/keys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 's3-kill', team: 'default' }),
      });
      expect(created.status).toBe(201);
      const { key } = (await created.json()) as { key: string };

      // Through the proxy, forwarding as it does until it is told to hold: an image, a record.
      const before = await generate(server, key, 'before-kill');
      expect(before.status).toBe(200);
      await waitFor(
        () => query(database.url, `SELECT 1 FROM usage_records WHERE request_id = 'before-kill'`),
        (rows) => rows.length === 1,
      );
      const earlier = await imagesInBucket();
      expect(earlier).toHaveLength(1);
      const first = earlier[0]!.key;

      const held = proxy.holdNextUpload();
      const killed = server;
      const answer = generate(killed, key, 'killed-mid-upload').then(async (response) => ({
        status: response.status,
        body: await response.text(),
      }));
      const upload = await held;
      killed.child.kill('SIGKILL');

      // No answer at all (a URL given before its upload completed would be a 200 here).
      await expect(answer).rejects.toThrow('fetch failed');
      expect(await killed.exited).toEqual({ code: null, signal: 'SIGKILL' });
      expect(proxy.uploads).toEqual([first, upload.key]); // one PutObject, not retried before the kill
      expect(upload.key).toMatch(new RegExp(`^${PREFIX}[A-Za-z0-9_-]{22}\\.png$`));
      expect(upload.forwardedBytes).toBeLessThan(upload.declaredBytes);
      await upload.closed;
      // Nothing new in the bucket but, at most, the bytes of the upload that reached it before the
      // kill: S3 and MinIO keep nothing of a PUT whose body never arrived whole, while s3rver
      // writes the body as it reads it and keeps what came, as an object.
      expect(
        (await imagesInBucket()).filter(
          (object) => object.key !== first && (object.key !== upload.key || object.size > upload.forwardedBytes),
        ),
      ).toEqual([]);
      // A record is made when its request finishes, and this one never did: the dead process's
      // journal, which the next start replays, holds none.
      expect(await usageFiles(dataDir)).not.toContain('killed-mid-upload');

      server = await startServerProcess(env, 120_000);

      // A URL lifetime later, its sweep has deleted the expired image and whatever the store kept of the upload.
      expect(await waitFor(imagesInBucket, (objects) => objects.length === 0, 6 * URL_TTL_SECONDS * 1000)).toEqual([]);
      const signer = new ImageUrlSigner(
        AppConfig.fromEnv({ URL_SIGNING_SECRET: signingSecret, PUBLIC_BASE_URL: server.baseUrl }),
      );
      const forKilled = await fetch(signer.urlFor(upload.key.slice(PREFIX.length)));
      expect(forKilled.status).toBe(404);
      expect(await forKilled.json()).toMatchObject({ error: { code: 'resource_not_found' } });

      const after = await generate(server, key, 'after-restart');
      expect(after.status).toBe(200);
      const url = new URL(((await after.json()) as { data: { url: string }[] }).data[0]!.url);
      expect(url.href.startsWith(`${server.baseUrl}/v1/images/files/`)).toBe(true);
      const file = url.pathname.split('/').pop()!;
      const download = await fetch(url);
      expect(download.status).toBe(200);
      expect(download.headers.get('content-type')).toBe('image/png');
      const bytes = Buffer.from(await download.arrayBuffer());
      const object = await bucket.send(new GetObjectCommand({ Bucket: s3.bucket, Key: `${PREFIX}${file}` }));
      expect(Buffer.from(await object.Body!.transformToByteArray())).toEqual(bytes);
      expect(proxy.uploads).toEqual([first, upload.key, `${PREFIX}${file}`]);
      expect(await imagesInBucket()).toEqual([{ key: `${PREFIX}${file}`, size: bytes.length }]);

      const records = await waitFor(
        () =>
          query<{ request_id: string; status: string; http_status: number }>(
            database.url,
            `SELECT request_id, status, http_status FROM usage_records ORDER BY created_at`,
          ),
        (rows) => rows.length > 1,
      );
      expect(records).toEqual([
        { request_id: 'before-kill', status: 'success', http_status: 200 },
        { request_id: 'after-restart', status: 'success', http_status: 200 },
      ]);
    } finally {
      if (server.child.exitCode === null && server.child.signalCode === null) {
        server.child.kill('SIGTERM');
        await server.exited;
      }
    }
  }, 240_000);
});
