import { createHash, randomUUID } from 'node:crypto';
import { readdirSync, readlinkSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { type ClientRequest, type IncomingMessage, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { DataSource } from 'typeorm';
import { pngOfSize } from '../../bench/fake-upstream.js';
import { ByteSpool } from '../../src/common/spool/byte-spool.js';
import { DEFAULT_THUMBNAIL_LIMITS, ThumbnailRecorder } from '../../src/usage/thumbnails/thumbnail.recorder.js';
import { createApiKey } from '../factories/api-key.factory.js';
import { imageRequest } from '../factories/request-body.factory.js';
import { FakeAzureOpenAiServer } from '../fakes/fake-azure-openai.server.js';
import type { RecordedRequest, ScriptedResponse } from '../fakes/fake-http.server.js';
import { type S3rverHandle, startS3rver } from '../utils/s3rver.js';
import { createTestApp, type TestApp } from '../utils/test-app.js';
import { AZURE_KEY } from '../utils/upstream-apps.js';
import { waitFor } from '../utils/wait-for.js';

/**
 * Bursts of large upstream images through the `ByteSpool` (SPOOL_THRESHOLD_BYTES): the base64 an
 * upstream answers is held in memory up to the threshold, beyond it in unnamed temporary files
 * under `<EASEL_DATA_DIR>/spool`; `b64_json` replies stream from there, `url` replies are decoded
 * from there into the image store, and what a request spooled is let go of when its connection
 * closes (or, with CONSOLE_THUMBNAILS, once the preview worker has read it). Everything over real
 * HTTP on loopback; the app runs in this process, so its descriptors are this process's
 * (`/proc/self/fd`): a spooled file is one whose target is `…/spool/.spool-… (deleted)`.
 */

const GENERATIONS = '/v1/images/generations';
const MODEL = 'azure/openai/gpt-image-1.5';
/** Concurrent generations of a burst. */
const BURST = 8;
/** The PNG of each burst answer: 1,333,336 bytes of base64. */
const IMAGE_BYTES = 1_000_000;
/**
 * A reply too large for the loopback socket buffers (16 MB of base64): a client that stops reading
 * leaves the server in mid-reply, the rest of the image still in its spooled file.
 */
const LARGE_IMAGE_BYTES = 12_000_000;
const S3_PREFIX = 'images/';
/**
 * Consecutive failed calls that open a route's circuit for 30 s (`UpstreamExecutor`'s BREAKER): as
 * many failures, and one more, leave the route open only if none of them counted.
 */
const BREAKER_FAILURES = 5;
/**
 * Whitespace an upstream's base64 might carry between MIME-style lines: spaces, which the JSON
 * string holds as they are (its bytes kept raw), and line breaks, which it holds as escapes.
 */
const LINE_BREAKS: Array<[string, string]> = [
  ['spaces', ' '],
  ['escaped \\n line breaks', '\n'],
  ['escaped \\r\\n line breaks', '\r\n'],
];

/**
 * Fake Azure OpenAI, as strict as the shared one, that answers a generation whose prompt was
 * `register`ed with that prompt's image (else its own), and can hold answers until a whole burst
 * is waiting, then send them at the same moment.
 */
class BurstAzureServer extends FakeAzureOpenAiServer {
  /** The `b64_json` each registered prompt is answered with. */
  private readonly images = new Map<string, string>();
  private burst?: { size: number; waiting: number; open: () => void; opened: Promise<void> };

  /**
   * A new prompt answered with a new PNG of `bytes` bytes (random pixels, so distinct); with
   * `lineBreak`, its base64 in MIME-style lines of 76 characters, each followed by `lineBreak`
   * (JSON-escaped in the answer where it is a control character: `\n`, `\r\n`).
   */
  register(bytes = IMAGE_BYTES, lineBreak?: string): { prompt: string; image: Buffer } {
    const prompt = `burst ${randomUUID()}`;
    const image = pngOfSize(bytes);
    const base64 = image.toString('base64');
    this.images.set(prompt, lineBreak === undefined ? base64 : base64.replace(/.{76}/g, (line) => line + lineBreak));
    return { prompt, image };
  }

  /** The next `size` registered generations are answered together, once all of them have arrived. */
  holdForBurst(size: number): void {
    let open!: () => void;
    const opened = new Promise<void>((resolve) => (open = resolve));
    this.burst = { size, waiting: 0, open, opened };
  }

  protected override async respond(request: RecordedRequest): Promise<ScriptedResponse | undefined> {
    const answer = await super.respond(request);
    const prompt = (request.body as { prompt?: unknown } | undefined)?.prompt;
    const b64Json = typeof prompt === 'string' ? this.images.get(prompt) : undefined;
    if (!answer || answer.status !== 200 || b64Json === undefined) return answer;
    const burst = this.burst;
    if (burst) {
      if (++burst.waiting === burst.size) {
        this.burst = undefined;
        burst.open();
      }
      await burst.opened;
    }
    const body = answer.body as { data: Array<Record<string, unknown>> };
    return {
      ...answer,
      body: { ...body, data: body.data.map((item) => ({ ...item, b64_json: b64Json })) },
    };
  }
}

interface Upstream {
  azure: BurstAzureServer;
  sut: TestApp;
  key: string;
}

/**
 * A fake Azure with the gpt-image-1.5 deployment, and an app pointed at it with `env` besides (and
 * `dataDir` as its EASEL_DATA_DIR, else a fresh one).
 */
async function startUpstream(
  env: Record<string, string | undefined>,
  logs?: string[],
  dataDir?: string,
): Promise<Upstream> {
  const azure = await new BurstAzureServer({ apiKey: AZURE_KEY, deployments: ['gpt-image-1.5'] }).start();
  let sut: TestApp;
  try {
    sut = await createTestApp({
      env: { AZURE_OPENAI_ENDPOINT: azure.baseUrl, AZURE_OPENAI_API_KEY: AZURE_KEY, ...env },
      logs,
      dataDir,
    });
  } catch (error) {
    // An app that does not boot: its fake goes too, so that the failure ends the run.
    await azure.stop();
    throw error;
  }
  const { key } = await createApiKey(sut, { rpm: 100_000 });
  return { azure, sut, key };
}

function generation(prompt: string, responseFormat: 'b64_json' | 'url') {
  return { model: MODEL, prompt, size: '1024x1024', quality: 'low', response_format: responseFormat } as const;
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** The targets of this process's descriptors that are spooled files (unlinked: `… (deleted)`). */
function spoolDescriptors(): string[] {
  const targets: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      targets.push(readlinkSync(`/proc/self/fd/${fd}`));
    } catch {
      // Closed between the listing and the read.
    }
  }
  return targets.filter((target) => target.includes('/spool/.spool-'));
}

async function metric(sut: TestApp, name: string): Promise<number> {
  const text = await (await sut.http('/metrics')).text();
  const value = new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1];
  if (value === undefined) throw new Error(`no ${name} in /metrics`);
  return Number(value);
}

/** The usage record of a request (`columns` of it), once written. */
async function usageRecordOf(
  sut: TestApp,
  requestId: string,
  columns = 'status, http_status, endpoint, model, images',
): Promise<Record<string, unknown>> {
  const rows = await waitFor(
    () =>
      sut.app
        .get(DataSource)
        .query(`SELECT ${columns} FROM usage_records WHERE request_id = $1`, [requestId]) as Promise<
        Array<Record<string, unknown>>
      >,
    (found) => found.length > 0,
  );
  return rows[0]!;
}

const SUCCESS = { status: 'success', http_status: 200, endpoint: 'images', model: MODEL, images: 1 };

/**
 * Nothing of the requests so far is held: no descriptor of a spooled file (let go of when the
 * connection closes, hence the polling), no file left in the spool dir, no memory counted.
 */
async function expectNothingLeftBehind(sut: TestApp): Promise<void> {
  await waitFor(
    async () => spoolDescriptors(),
    (open) => open.length === 0,
    5_000,
  );
  expect(spoolDescriptors()).toEqual([]);
  expect(await readdir(join(sut.dataDir, 'spool'))).toEqual([]);
  expect(await metric(sut, 'easel_spool_memory_bytes')).toBe(0);
}

/** A b64_json generation through fetch: its status, Content-Length and the bytes it decoded to. */
async function generateB64(upstream: Upstream, prompt: string, requestId: string) {
  const response = await upstream.sut.http(GENERATIONS, {
    key: upstream.key,
    body: generation(prompt, 'b64_json'),
    headers: { 'x-request-id': requestId },
  });
  const raw = Buffer.from(await response.arrayBuffer());
  const body = JSON.parse(raw.toString('utf8')) as { data?: Array<{ b64_json: string }> };
  return {
    status: response.status,
    contentLength: response.headers.get('content-length'),
    length: raw.length,
    images: (body.data ?? []).map((item) => sha256(Buffer.from(item.b64_json, 'base64'))),
  };
}

/** A url generation through the OpenAI SDK, its image downloaded from the URL answered. */
async function generateUrl(upstream: Upstream, prompt: string, requestId: string) {
  const result = await upstream.sut
    .openai(upstream.key)
    .images.generate(generation(prompt, 'url'), { headers: { 'x-request-id': requestId } });
  expect(result.data).toHaveLength(1);
  const download = await fetch(result.data![0]!.url!);
  const bytes = Buffer.from(await download.arrayBuffer());
  return { status: download.status, contentType: download.headers.get('content-type'), image: sha256(bytes) };
}

/**
 * A burst of url generations (every image spooled), each downloaded and compared with its
 * upstream's image; a usage record each, one temporary file each, nothing left behind.
 */
async function expectUrlBurst(upstream: Upstream, idPrefix: string): Promise<void> {
  const { azure, sut } = upstream;
  const filesBefore = await metric(sut, 'easel_spool_files_total');
  const burst = Array.from({ length: BURST }, () => ({ ...azure.register(), id: `${idPrefix}-${randomUUID()}` }));
  azure.holdForBurst(BURST);

  const answers = await Promise.all(burst.map(({ prompt, id }) => generateUrl(upstream, prompt, id)));

  expect(answers).toEqual(burst.map(({ image }) => ({ status: 200, contentType: 'image/png', image: sha256(image) })));
  for (const { id } of burst) expect(await usageRecordOf(sut, id)).toEqual(SUCCESS);
  await expectNothingLeftBehind(sut);
  expect(await metric(sut, 'easel_spool_files_total')).toBe(filesBefore + BURST);
}

/** A url generation whose upstream base64 comes in lines broken by `lineBreak`: stored as exactly its image. */
async function expectLinesStored(upstream: Upstream, lineBreak: string, idPrefix: string): Promise<void> {
  const { prompt, image } = upstream.azure.register(IMAGE_BYTES, lineBreak);
  const requestId = `${idPrefix}-${randomUUID()}`;

  const answer = await generateUrl(upstream, prompt, requestId);

  expect(answer).toEqual({ status: 200, contentType: 'image/png', image: sha256(image) });
  expect(await usageRecordOf(upstream.sut, requestId)).toEqual(SUCCESS);
}

/** The connections `firstChunkOf` opened: each test's are cut after it, whatever happened. */
const clients = new Set<ClientRequest>();

/** A POST on a connection of its own, answered up to its headers and first body chunk, then paused. */
async function firstChunkOf(
  upstream: Upstream,
  body: unknown,
  requestId: string,
): Promise<{ response: IncomingMessage; first: Buffer; destroy: () => void }> {
  const client = httpRequest(`${upstream.sut.baseUrl}${GENERATIONS}`, {
    method: 'POST',
    agent: false,
    headers: {
      authorization: `Bearer ${upstream.key}`,
      'content-type': 'application/json',
      'x-request-id': requestId,
    },
  });
  clients.add(client);
  client.on('error', () => undefined);
  client.end(JSON.stringify(body));
  const response = await new Promise<IncomingMessage>((resolve) => client.once('response', resolve));
  response.on('error', () => undefined);
  const first = await new Promise<Buffer>((resolve) =>
    response.once('data', (chunk: Buffer) => {
      response.pause();
      resolve(chunk);
    }),
  );
  return { response, first, destroy: () => client.destroy() };
}

describe(ByteSpool.name, () => {
  afterEach(() => {
    for (const client of clients) client.destroy();
    clients.clear();
  });

  describe('with SPOOL_THRESHOLD_BYTES=0 (every image spooled) and the local image store', () => {
    let upstream: Upstream;
    const logs: string[] = [];

    beforeAll(async () => {
      upstream = await startUpstream({ SPOOL_THRESHOLD_BYTES: '0' }, logs);
    });

    beforeEach(() => upstream.azure.reset());

    afterEach(() => {
      expect(upstream.azure.unexpected).toEqual([]);
    });

    afterAll(async () => {
      await upstream?.sut.close();
      await upstream?.azure.stop();
    });

    it('answers a burst of b64_json generations with exactly the upstream images, their Content-Length and a usage record each', async () => {
      const { azure, sut } = upstream;
      const filesBefore = await metric(sut, 'easel_spool_files_total');
      const burst = Array.from({ length: BURST }, () => ({ ...azure.register(), id: `spool-b64-${randomUUID()}` }));
      azure.holdForBurst(BURST);

      const answers = await Promise.all(burst.map(({ prompt, id }) => generateB64(upstream, prompt, id)));

      expect(azure.generationRequests).toHaveLength(BURST);
      answers.forEach((answer, index) => {
        expect(answer).toEqual({
          status: 200,
          contentLength: String(answer.length),
          length: expect.any(Number) as number,
          images: [sha256(burst[index]!.image)],
        });
        expect(answer.length).toBeGreaterThan(Math.ceil(IMAGE_BYTES / 3) * 4);
      });
      for (const { id } of burst) expect(await usageRecordOf(sut, id)).toEqual(SUCCESS);
      await expectNothingLeftBehind(sut);
      // One temporary file a generation: each image went through the disk.
      expect(await metric(sut, 'easel_spool_files_total')).toBe(filesBefore + BURST);
    });

    it('stores a burst of url generations byte for byte from their spooled base64', async () => {
      await expectUrlBurst(upstream, 'spool-url');
      // The stored images, and nothing half-written beside them.
      expect((await readdir(join(upstream.sut.dataDir, 'images'))).filter((name) => name.startsWith('.'))).toEqual([]);
    });

    it.each(LINE_BREAKS)(
      'stores a url generation whose upstream base64 is in 76-character lines with %s as exactly its image',
      async (_lineBreaks, lineBreak) => {
        const { sut } = upstream;
        await expectLinesStored(upstream, lineBreak, 'spool-lines-url');
        expect((await readdir(join(sut.dataDir, 'images'))).filter((name) => name.startsWith('.'))).toEqual([]);
        await expectNothingLeftBehind(sut);
      },
    );

    it.each(LINE_BREAKS)(
      'answers a b64_json generation whose upstream base64 is in 76-character lines with %s with base64 of exactly its image',
      async (_lineBreaks, lineBreak) => {
        const { azure, sut } = upstream;
        const { prompt, image } = azure.register(IMAGE_BYTES, lineBreak);
        const requestId = `spool-lines-b64-${randomUUID()}`;

        const answer = await generateB64(upstream, prompt, requestId);

        expect(answer).toEqual({
          status: 200,
          contentLength: String(answer.length),
          length: expect.any(Number) as number,
          images: [sha256(image)],
        });
        expect(await usageRecordOf(sut, requestId)).toEqual(SUCCESS);
        await expectNothingLeftBehind(sut);
      },
    );

    it('holds spooled files only while the requests are in flight: none, no memory and no file in the spool dir after a mixed burst', async () => {
      const { azure, sut } = upstream;
      const filesBefore = await metric(sut, 'easel_spool_files_total');
      const burst = Array.from({ length: BURST }, (_, index) => ({
        ...azure.register(),
        id: `spool-mixed-${randomUUID()}`,
        format: index % 2 === 0 ? ('b64_json' as const) : ('url' as const),
      }));
      azure.holdForBurst(BURST);

      const statuses = await Promise.all(
        burst.map(async ({ prompt, id, format }) =>
          format === 'url'
            ? (await generateUrl(upstream, prompt, id)).status
            : (await generateB64(upstream, prompt, id)).status,
        ),
      );

      expect(statuses).toEqual(burst.map(() => 200));
      // The files were made in the spool dir (it exists: readdir succeeds) and unlinked at once.
      await expectNothingLeftBehind(sut);
      const files = await metric(sut, 'easel_spool_files_total');
      expect(files).toBeGreaterThan(0);
      expect(files).toBe(filesBefore + BURST);
    });

    it('lets go of the spooled image of a client that leaves in mid-reply, and serves the next request', async () => {
      const { azure, sut } = upstream;
      const leaving = azure.register(LARGE_IMAGE_BYTES);
      const leavingId = `spool-leaving-${randomUUID()}`;

      const { response, first, destroy } = await firstChunkOf(
        upstream,
        generation(leaving.prompt, 'b64_json'),
        leavingId,
      );

      expect(response.statusCode).toBe(200);
      expect(Number(response.headers['content-length'])).toBeGreaterThan(Math.ceil(LARGE_IMAGE_BYTES / 3) * 4);
      expect(first.length).toBeGreaterThan(0);
      expect(first.length).toBeLessThan(Number(response.headers['content-length']));
      // In mid-reply: the rest of the image is read from its spooled file, held open.
      expect(spoolDescriptors()).toHaveLength(1);
      expect(spoolDescriptors()[0]).toMatch(/\/spool\/\.spool-[A-Za-z0-9_-]+ \(deleted\)$/);
      expect(await metric(sut, 'easel_spool_memory_bytes')).toBe(0);

      destroy();

      await expectNothingLeftBehind(sut);
      // Its connection closed with the reply incomplete (499 in its log line); the generation is charged.
      expect(logs.some((line) => line.includes(`"requestId":"${leavingId}"`) && line.includes('"status":499'))).toBe(
        true,
      );
      expect(await usageRecordOf(sut, leavingId)).toMatchObject({ endpoint: 'images', model: MODEL, images: 1 });
      const next = azure.register();
      const nextId = `spool-next-${randomUUID()}`;
      const answer = await generateB64(upstream, next.prompt, nextId);
      expect(answer).toMatchObject({ status: 200, contentLength: String(answer.length), images: [sha256(next.image)] });
      expect(await usageRecordOf(sut, nextId)).toEqual(SUCCESS);
      await expectNothingLeftBehind(sut);
    });
  });

  describe('with SPOOL_THRESHOLD_BYTES=0 and a spool dir that cannot be made (a regular file at <EASEL_DATA_DIR>/spool)', () => {
    let upstream: Upstream;
    let spoolPath: string;

    beforeAll(async () => {
      const dataDir = await mkdtemp(join(tmpdir(), 'easel-test-data-'));
      spoolPath = join(dataDir, 'spool');
      await writeFile(spoolPath, 'not a directory');
      upstream = await startUpstream({ SPOOL_THRESHOLD_BYTES: '0' }, undefined, dataDir);
    });

    afterAll(async () => {
      await upstream?.sut.close();
      await upstream?.azure.stop();
    });

    it('boots, its start-up sweep of the spool dir leaving the file in its place alone', async () => {
      const { sut } = upstream;

      expect((await sut.http('/health/live')).status).toBe(200);
      expect((await stat(spoolPath)).isFile()).toBe(true);
      expect(await readFile(spoolPath, 'utf8')).toBe('not a directory');
    });

    it('answers 503 overloaded with a Retry-After, calling the upstream once and counting no upstream failure, then serves the route again once the dir can be made', async () => {
      const { azure, sut, key } = upstream;
      azure.reset();

      // One more than opens a circuit, were they counted as upstream failures.
      for (let index = 0; index <= BREAKER_FAILURES; index++) {
        const { prompt } = azure.register();
        const requestId = `spool-unusable-${randomUUID()}`;
        const response = await sut.http(GENERATIONS, {
          key,
          body: generation(prompt, index % 2 === 0 ? 'b64_json' : 'url'),
          headers: { 'x-request-id': requestId },
        });

        expect(response.status).toBe(503);
        expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
        expect(((await response.json()) as { error: { code: string } }).error.code).toBe('overloaded');
        // Not the upstream's fault: neither tried again nor sent to another route.
        expect(azure.generationRequests).toHaveLength(index + 1);
        expect(await usageRecordOf(sut, requestId, 'status, http_status, error_code, endpoint, model')).toEqual({
          status: 'error',
          http_status: 503,
          error_code: 'overloaded',
          endpoint: 'images',
          model: MODEL,
        });
      }
      expect(spoolDescriptors()).toEqual([]);
      expect(await metric(sut, 'easel_spool_memory_bytes')).toBe(0);

      // The dir can be made again: the route's circuit is still closed.
      await rm(spoolPath);
      const { prompt, image } = azure.register();
      const requestId = `spool-usable-${randomUUID()}`;
      const answer = await generateB64(upstream, prompt, requestId);

      expect(answer).toMatchObject({ status: 200, contentLength: String(answer.length), images: [sha256(image)] });
      expect(azure.generationRequests).toHaveLength(BREAKER_FAILURES + 2);
      expect(await usageRecordOf(sut, requestId)).toEqual(SUCCESS);
      expect((await stat(spoolPath)).isDirectory()).toBe(true);
      await expectNothingLeftBehind(sut);
      expect(azure.unexpected).toEqual([]);
    });
  });

  describe('with SPOOL_THRESHOLD_BYTES=0 and IMAGE_STORE=s3', () => {
    let s3: S3rverHandle;
    let upstream: Upstream;

    beforeAll(async () => {
      s3 = await startS3rver();
      upstream = await startUpstream({ ...s3.env, S3_PREFIX, SPOOL_THRESHOLD_BYTES: '0' });
    });

    afterAll(async () => {
      await upstream?.sut.close();
      await upstream?.azure.stop();
      await s3?.close();
    });

    it('uploads a burst of url generations byte for byte from their spooled base64, leaving nothing behind', async () => {
      await expectUrlBurst(upstream, 'spool-s3');
      expect(upstream.azure.unexpected).toEqual([]);
    });
  });

  describe('with the default SPOOL_THRESHOLD_BYTES (64 MiB)', () => {
    let upstream: Upstream;

    beforeAll(async () => {
      upstream = await startUpstream({});
    });

    afterAll(async () => {
      await upstream?.sut.close();
      await upstream?.azure.stop();
    });

    it('holds a single large image in memory, in no file, until its reply is done', async () => {
      const { azure, sut } = upstream;
      const { prompt, image } = azure.register(LARGE_IMAGE_BYTES);
      const requestId = `spool-memory-${randomUUID()}`;

      const { response, first } = await firstChunkOf(upstream, generation(prompt, 'b64_json'), requestId);

      expect(response.statusCode).toBe(200);
      // In mid-reply: the base64 is in memory, all of it, and in no file.
      expect(await metric(sut, 'easel_spool_memory_bytes')).toBe(image.toString('base64').length);
      expect(spoolDescriptors()).toEqual([]);
      const chunks = [first];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      const ended = new Promise((resolve) => response.once('end', resolve));
      response.resume();
      await ended;
      const raw = Buffer.concat(chunks);
      expect(raw.length).toBe(Number(response.headers['content-length']));
      const body = JSON.parse(raw.toString('utf8')) as { data: Array<{ b64_json: string }> };
      expect(body.data.map((item) => sha256(Buffer.from(item.b64_json, 'base64')))).toEqual([sha256(image)]);

      expect(await usageRecordOf(sut, requestId)).toEqual(SUCCESS);
      await waitFor(
        () => metric(sut, 'easel_spool_memory_bytes'),
        (bytes) => bytes === 0,
        5_000,
      );
      expect(await metric(sut, 'easel_spool_files_total')).toBe(0);
      expect(azure.unexpected).toEqual([]);
    });

    it.each(LINE_BREAKS)(
      'stores a url generation whose upstream base64 is in 76-character lines with %s as exactly its image',
      async (_lineBreaks, lineBreak) => {
        const { azure, sut } = upstream;
        await expectLinesStored(upstream, lineBreak, 'memory-lines-url');
        await waitFor(
          () => metric(sut, 'easel_spool_memory_bytes'),
          (bytes) => bytes === 0,
          5_000,
        );
        expect(await metric(sut, 'easel_spool_files_total')).toBe(0);
        expect(azure.unexpected).toEqual([]);
      },
    );
  });

  describe('with SPOOL_THRESHOLD_BYTES=0 and CONSOLE_THUMBNAILS=true', () => {
    let upstream: Upstream;
    const logs: string[] = [];

    beforeAll(async () => {
      upstream = await startUpstream({ SPOOL_THRESHOLD_BYTES: '0', CONSOLE_THUMBNAILS: 'true' }, logs);
    });

    afterAll(async () => {
      await upstream?.sut.close();
      await upstream?.azure.stop();
    });

    it("stores the preview of a url generation whose spooled image the worker reads after the request's connection closed", async () => {
      const { azure, sut, key } = upstream;
      const dataSource = sut.app.get(DataSource);
      const recorder = sut.app.get(ThumbnailRecorder);
      const { prompt } = azure.register();
      const requestId = `spool-thumb-${randomUUID()}`;
      const locker = dataSource.createQueryRunner();
      await locker.connect();
      try {
        // Every preview insert waits on this lock: the workers, busy with the previews of a local
        // generation, take no other job until it is lifted.
        await locker.startTransaction();
        await locker.query('LOCK TABLE usage_thumbnails IN ACCESS EXCLUSIVE MODE');
        const local = await sut.http(GENERATIONS, {
          key,
          body: imageRequest({ n: DEFAULT_THUMBNAIL_LIMITS.concurrency }),
        });
        expect(local.status).toBe(200);

        const answer = await generateUrl(upstream, prompt, requestId);
        expect(answer.status).toBe(200);
        // The request is over: its connection closed (its log line) and its usage record written.
        await waitFor(
          async () => logs.some((line) => line.includes(`"requestId":"${requestId}"`) && line.includes('"status":200')),
          (logged) => logged,
        );
        expect(await usageRecordOf(sut, requestId)).toEqual(SUCCESS);
        expect(recorder.depth).toBe(DEFAULT_THUMBNAIL_LIMITS.concurrency + 1);
        // Its spooled image is still open: held by the preview waiting in the queue.
        expect(spoolDescriptors()).toHaveLength(1);
        await locker.commitTransaction();
      } finally {
        if (locker.isTransactionActive) await locker.rollbackTransaction();
        await locker.release();
      }
      await recorder.idle();

      const preview = await sut.http(`/v1/usage/records/${requestId}/thumbnails/0`, { key });
      expect(preview.status).toBe(200);
      expect(await sharp(Buffer.from(await preview.arrayBuffer())).metadata()).toMatchObject({
        format: 'webp',
        width: 128,
        height: 128,
      });
      expect(
        (await (await sut.http('/metrics')).text()).match(/^easel_thumbnails_dropped_total\{reason="image"\} [1-9]/m),
      ).toBeNull();
      await expectNothingLeftBehind(sut);
    });
  });
});
