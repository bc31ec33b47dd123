import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { ErrorCode } from '../common/errors/error-code.enum.js';
import { GatewayError } from '../common/errors/gateway.error.js';
import { RequestResources, runWithRequestResources } from '../common/http/request-resources.js';
import { RawJsonScanner, RawJsonString } from '../common/json/raw-json.js';
import { ByteSpool, type SpoolWriter } from '../common/spool/byte-spool.js';
import { AppConfig } from '../config/app.config.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { ImagePayload } from '../providers/image-provider.interface.js';
import type { UpstreamExecutor } from '../providers/upstream-executor.js';
import { ImageStore } from './image.store.js';
import { ImageUrlSigner } from './image-url.signer.js';
import { LocalObjectStorage } from './local.storage.js';

/** Stands for an image: only its bytes matter here. Past a spooled file's 256 KB reads. */
const IMAGE = randomBytes(600_000);
const BASE64 = IMAGE.toString('base64');
/** Base64 that ends in `==`. */
const PADDED = randomBytes(300_001).toString('base64');

/** MIME-style base64: lines of 76 characters. */
const lines = (value: string, separator: string) => value.replace(/.{76}/g, `$&${separator}`);

describe(ImageStore.name, () => {
  let dir: string;
  let config: AppConfig;
  let spool: ByteSpool;
  let sut: ImageStore;
  const writers: SpoolWriter[] = [];

  function imageStore(imagesDir = join(config.dataDir, 'images')): ImageStore {
    return new ImageStore(
      new LocalObjectStorage(imagesDir, config.storage.urlTtlSeconds * 1000),
      new ImageUrlSigner(config),
      config,
      new MetricsService({ states: () => [] } as unknown as UpstreamExecutor),
    );
  }

  beforeEach(async () => {
    dir = await realpath(await mkdtemp(join(tmpdir(), 'easel-image-store-spec-')));
    config = AppConfig.fromEnv({
      EASEL_DATA_DIR: dir,
      URL_SIGNING_SECRET: 'an-url-signing-secret-of-32-chars-or-more',
      PUBLIC_BASE_URL: 'https://easel.example.com',
    });
    // Every value goes to a file.
    spool = new ByteSpool({ memoryBytes: 0, dir: config.spool.dir });
    sut = imageStore();
  });

  afterEach(async () => {
    for (const writer of writers.splice(0)) writer.release();
    await rm(dir, { recursive: true, force: true });
  });

  /** An upstream answer's base64, as the scanner keeps it: raw, in a spooled file. */
  async function spooledAnswer(text: string): Promise<RawJsonString> {
    const scanner = new RawJsonScanner(['b64_json'], spool);
    await scanner.write(Buffer.from(JSON.stringify({ data: [{ b64_json: text }] })));
    const { data } = (await scanner.end()) as { data: Array<{ b64_json: RawJsonString }> };
    const base64 = data[0]!.b64_json;
    expect(base64).toBeInstanceOf(RawJsonString);
    expect(base64.spooled).toBe(true);
    return base64;
  }

  /** `text` written to a spooled file as it is (JSON would not let its control characters through). */
  async function spooledText(text: string): Promise<RawJsonString> {
    const writer = spool.writer();
    writers.push(writer);
    await writer.write(Buffer.from(text, 'latin1'));
    const held = await writer.finish();
    return new RawJsonString(held.parts, held.lease);
  }

  /** The bytes behind an image URL, read back through the store. */
  async function storedAt(url: string): Promise<Buffer> {
    const parsed = new URL(url);
    const file = parsed.pathname.replace('/v1/images/files/', '');
    const opened = await sut.open(file, Number(parsed.searchParams.get('expires')), parsed.searchParams.get('sig')!);
    return buffer(opened.body);
  }

  describe('save', () => {
    it('stores a spooled image whole when its request ends while it is being stored', async () => {
      const resources = new RequestResources();
      const base64 = await runWithRequestResources(resources, () => spooledAnswer(BASE64));

      const saving = sut.save(ImagePayload.fromBase64(base64), 'png');
      // The client leaves: the request lets go of what it holds, before the image is stored.
      resources.release();
      const url = await saving;

      expect((await storedAt(url)).equals(IMAGE)).toBe(true);
      expect(await readdir(join(dir, 'images'))).toEqual([new URL(url).pathname.split('/').pop()]);
      // Its hold let go of once stored: the request's end closed the file.
      expect(() => base64.toString()).toThrow('the spooled file is closed');
    });

    it.each([
      ['a string with a newline every 76 characters', () => lines(BASE64, '\n')],
      [
        'a raw string in memory with CRLF every 76 characters',
        () => new RawJsonString([Buffer.from(lines(BASE64, '\r\n'))]),
      ],
      ['a spooled raw string with a tab every 76 characters', () => spooledText(lines(BASE64, '\t'))],
      ['a spooled raw string from an answer, with spaces every 76 characters', () => spooledAnswer(lines(BASE64, ' '))],
      ['a spooled raw string with whitespace after its padding', () => spooledText(`${PADDED}\r\n`)],
    ])('stores exactly the bytes base64 with whitespace decodes to: %s', async (_what, base64) => {
      const text = await base64();

      const url = await sut.save(ImagePayload.fromBase64(text), 'webp');

      expect((await storedAt(url)).equals(Buffer.from(text.toString(), 'base64'))).toBe(true);
    });

    it('lets go of the image when the store fails', async () => {
      const blocker = join(dir, 'not-a-directory');
      await writeFile(blocker, '');
      const failing = imageStore(join(blocker, 'images'));
      const resources = new RequestResources();
      const base64 = await runWithRequestResources(resources, () => spooledAnswer(BASE64));

      const error = await failing.save(ImagePayload.fromBase64(base64), 'png').catch((thrown: unknown) => thrown);

      expect(error).toBeInstanceOf(GatewayError);
      expect(error).toMatchObject({ code: ErrorCode.StorageUnavailable });
      resources.release();
      expect(() => base64.toString()).toThrow('the spooled file is closed');
    });
  });
});
