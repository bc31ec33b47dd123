import { Readable } from 'node:stream';
import { inspect } from 'node:util';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { S3StoreConfig } from '../config/app.config.js';
import { type ByteRange, type ByteRangeSpec, resolveByteRange } from './byte-range.js';
import {
  IMAGE_KEY,
  type ImageBody,
  type ObjectStorage,
  type StoredObject,
  SWEPT_IMAGE_KEY,
} from './object-storage.interface.js';

/** Static keys for the client; without them the SDK's default chain finds its own. */
export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** `Content-Range: bytes 2-4/11` of a 206. */
const CONTENT_RANGE = /^bytes (\d+)-(\d+)\/(\d+)$/;
/** Tries of a streamed upload, as the client's `maxAttempts` for the others. */
const STREAMED_PUT_ATTEMPTS = 3;

/**
 * Images as objects of an S3-compatible bucket (`IMAGE_STORE=s3`), under `S3_PREFIX`. Loaded with
 * `import()` only when configured, so the local store never loads the AWS SDK.
 *
 * Each object carries its content type and an `Expires` at the end of its URL lifetime; a bucket
 * lifecycle rule removes old objects (docs/OPERATIONS.md), and `sweep` does the same for stores
 * without one.
 */
export class S3ObjectStorage implements ObjectStorage, OnApplicationShutdown {
  private readonly client: S3Client;

  constructor(
    private readonly config: S3StoreConfig,
    private readonly maxAgeMs: number,
    credentials?: S3Credentials,
  ) {
    this.client = new S3Client({
      endpoint: config.endpoint,
      region: config.region,
      forcePathStyle: config.forcePathStyle,
      credentials,
      // The first try and at most two retries of a transient failure (5xx, throttling, a broken
      // connection), with the SDK's short exponential backoff (100 ms base, jittered). An upload
      // retried here never calls the image's upstream again.
      maxAttempts: 3,
      // A bucket that stops answering must not hold a request for minutes.
      // (`throwOnRequestTimeout`: without it the SDK only logs a warning when the timeout passes.)
      requestHandler: { connectionTimeout: 3_000, requestTimeout: 30_000, throwOnRequestTimeout: true },
      // Checksums only where S3 requires them: many S3-compatible stores refuse the CRC headers the
      // SDK otherwise adds to every upload, and presigned URLs stay plain GETs.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // The SDK warns on the console when a streamed upload fails ("non-retryable streaming
      // request"), which `put` then retries itself: Easel's log, at debug level.
      logger: sdkLogger(new Logger(S3ObjectStorage.name)),
    });
  }

  /**
   * One PUT, with its length declared (a streamed source that yields another number of bytes fails
   * it). The SDK cannot send a stream twice, so a streamed upload that fails in a transient way
   * (no answer, 5xx, throttling) is tried again here with the image read afresh, as the SDK's own
   * retries do for a `Buffer`: at most three tries, 100 ms then 200 ms apart (jittered).
   */
  async put(key: string, body: Buffer | ImageBody, contentType: string): Promise<void> {
    if (!IMAGE_KEY.test(key)) throw new Error(`unsafe storage key ${key}`);
    if (Buffer.isBuffer(body)) return this.send(key, body, body.length, contentType);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.sendStreamed(key, body, contentType);
      } catch (error) {
        if (attempt >= STREAMED_PUT_ATTEMPTS || !isTransient(error)) throw error;
        await sleep(100 * 2 ** (attempt - 1) * (0.5 + Math.random()));
      }
    }
  }

  private async send(
    key: string,
    body: Buffer | Readable,
    length: number,
    contentType: string,
    abortSignal?: AbortSignal,
  ): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.config.bucket,
        Key: this.objectKey(key),
        Body: body,
        ContentLength: length,
        ContentType: contentType,
        Expires: new Date(Date.now() + this.maxAgeMs),
      }),
      { abortSignal },
    );
  }

  /**
   * One try of a streamed upload. The SDK pipes the body without listening for its errors: a
   * source that fails (a read error, another size than announced) aborts the request here, and
   * its error is the one thrown.
   */
  private async sendStreamed(key: string, body: ImageBody, contentType: string): Promise<void> {
    const abort = new AbortController();
    let failure: unknown;
    const stream = Readable.from(exactly(body), { objectMode: false });
    stream.on('error', (error) => {
      failure = error;
      abort.abort(error);
    });
    try {
      await this.send(key, stream, body.size, contentType, abort.signal);
    } catch (error) {
      throw failure ?? error;
    } finally {
      stream.destroy();
    }
  }

  async get(key: string, rangeSpec?: ByteRangeSpec): Promise<StoredObject | undefined> {
    if (!IMAGE_KEY.test(key)) return undefined;
    let object: StoredObject | undefined;
    try {
      object = await this.fetch(key, rangeSpec);
    } catch (error) {
      if (!rangeSpec || nameOf(error) !== 'InvalidRange') throw error;
      // S3's refusal does not reliably state the object's size, which the 416 must.
      const size = await this.sizeOf(key);
      if (size === undefined) return undefined;
      const wanted = resolveByteRange(rangeSpec, size);
      return this.fetch(key, { first: wanted.start, last: wanted.end });
    }
    if (!object || !rangeSpec) return object;
    // The bytes served must be those the range selects as Easel (and its local store) reads it,
    // RFC 9110's way: not every S3-compatible store agrees (s3rver takes `bytes=-5` for `bytes=0-5`).
    let wanted: ByteRange;
    try {
      wanted = resolveByteRange(rangeSpec, object.size);
    } catch (error) {
      object.body.destroy();
      throw error;
    }
    if (object.range?.start === wanted.start && object.range.end === wanted.end) return object;
    object.body.destroy();
    return this.fetch(key, { first: wanted.start, last: wanted.end });
  }

  async sweep(now = Date.now()): Promise<number> {
    const prefix = this.config.prefix;
    let removed = 0;
    let continuationToken: string | undefined;
    do {
      // The delimiter keeps the listing to Easel's level of the prefix: nothing in "folders" below it.
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.config.bucket,
          Prefix: prefix,
          Delimiter: '/',
          ContinuationToken: continuationToken,
        }),
      );
      const expired = (page.Contents ?? []).filter(
        ({ Key, LastModified }) =>
          Key !== undefined &&
          SWEPT_IMAGE_KEY.test(Key.slice(prefix.length)) &&
          LastModified !== undefined &&
          now - LastModified.getTime() > this.maxAgeMs,
      );
      if (expired.length > 0) {
        const result = await this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.config.bucket,
            Delete: { Objects: expired.map(({ Key }) => ({ Key })), Quiet: true },
          }),
        );
        removed += expired.length - (result.Errors?.length ?? 0);
      }
      continuationToken = page.NextContinuationToken;
    } while (continuationToken);
    return removed;
  }

  presignedUrl(key: string, expiresInSeconds: number): Promise<string> {
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.config.bucket, Key: this.objectKey(key) }), {
      expiresIn: expiresInSeconds,
    });
  }

  async ping(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.config.bucket }));
  }

  onApplicationShutdown(): void {
    this.client.destroy();
  }

  private objectKey(key: string): string {
    return this.config.prefix + key;
  }

  /** One GetObject; undefined for no such object. */
  private async fetch(key: string, rangeSpec?: ByteRangeSpec): Promise<StoredObject | undefined> {
    try {
      const object = await this.client.send(
        new GetObjectCommand({
          Bucket: this.config.bucket,
          Key: this.objectKey(key),
          Range: rangeSpec && rangeHeader(rangeSpec),
        }),
      );
      // In Node the SDK's body is the response stream itself.
      const body = object.Body as Readable;
      const served = CONTENT_RANGE.exec(object.ContentRange ?? '');
      if (!served) return { body, size: object.ContentLength ?? 0 };
      return { body, size: Number(served[3]), range: { start: Number(served[1]), end: Number(served[2]) } };
    } catch (error) {
      if (nameOf(error) === 'NoSuchKey') return undefined;
      throw error;
    }
  }

  private async sizeOf(key: string): Promise<number | undefined> {
    try {
      const head = await this.client.send(
        new HeadObjectCommand({ Bucket: this.config.bucket, Key: this.objectKey(key) }),
      );
      return head.ContentLength ?? 0;
    } catch (error) {
      if (nameOf(error) === 'NotFound') return undefined;
      throw error;
    }
  }
}

function rangeHeader(spec: ByteRangeSpec): string {
  return 'suffix' in spec ? `bytes=-${spec.suffix}` : `bytes=${spec.first}-${spec.last ?? ''}`;
}

function nameOf(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

/**
 * The body's chunks, failing at once when they come to other than `size` bytes: S3 would wait for
 * the bytes declared (a request timeout), or refuse the extra ones.
 */
async function* exactly(body: ImageBody): AsyncGenerator<Buffer> {
  let bytes = 0;
  // The last chunk is held back until the source has ended: S3 must not have every byte it was
  // told of (and store the object) before extra ones are found.
  let last: Buffer | undefined;
  for await (const chunk of body.chunks()) {
    bytes += chunk.length;
    if (bytes > body.size) throw new BodySizeError(`the image is more than the ${body.size} bytes announced`);
    if (last) yield last;
    last = chunk;
  }
  if (bytes !== body.size) throw new BodySizeError(`the image was ${bytes} bytes, not the ${body.size} announced`);
  if (last) yield last;
}

/** A streamed image that was not the size announced: trying again would not change it. */
class BodySizeError extends Error {}

/** A failure worth another try: no answer (a network error, a timeout), a 5xx, or throttling. */
function isTransient(error: unknown): boolean {
  if (error instanceof BodySizeError) return false;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return status === undefined || status >= 500 || status === 429;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The SDK's log lines, to Easel's log at debug level. */
function sdkLogger(logger: Logger) {
  const log = (...content: unknown[]) =>
    logger.debug(content.map((item) => (typeof item === 'string' ? item : inspect(item))).join(' '));
  return { trace: () => undefined, debug: () => undefined, info: () => undefined, warn: log, error: log };
}
