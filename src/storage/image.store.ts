import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { Counter } from 'prom-client';
import { ConcurrencyLimit } from '../common/async/concurrency-limit.js';
import { ErrorCode } from '../common/errors/error-code.enum.js';
import { GatewayError } from '../common/errors/gateway.error.js';
import { AppConfig } from '../config/app.config.js';
import { MetricsService } from '../metrics/metrics.service.js';
import type { ImageFormat, ImagePayload } from '../providers/image-provider.interface.js';
import { SPAN, traced } from '../tracing/tracing.js';
import type { ByteRangeSpec } from './byte-range.js';
import { ImageUrlSigner } from './image-url.signer.js';
import { OBJECT_STORAGE, type ObjectStorage, type StoredObject } from './object-storage.interface.js';

export const CONTENT_TYPES: Record<ImageFormat, string> = {
  png: 'image/png',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
};

export interface OpenedImage extends StoredObject {
  contentType: string;
}

/** See `ImageStore.uploads`. */
const MAX_CONCURRENT_UPLOADS = 16;

type StorageOperation = 'put' | 'get' | 'presign' | 'sweep';

/**
 * Stores generated images and hands out expiring URLs for them: Easel's own signed URLs, or with
 * `IMAGE_URL_MODE=presigned` the store's. A store that fails is counted and answered with 503
 * `storage_unavailable`; images older than the URL lifetime are swept periodically.
 */
@Injectable()
export class ImageStore implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(ImageStore.name);
  private readonly failures: Counter<'operation'>;
  private sweeper?: NodeJS.Timeout;
  /**
   * Uploads decoding at once: in a burst the others wait their turn with their image on disk
   * (spooled) rather than each holding its decoding buffers; the CPU decodes no faster for more.
   */
  private readonly uploads = new ConcurrencyLimit(MAX_CONCURRENT_UPLOADS);

  constructor(
    @Inject(OBJECT_STORAGE) private readonly storage: ObjectStorage,
    private readonly signer: ImageUrlSigner,
    private readonly config: AppConfig,
    metrics: MetricsService,
  ) {
    this.failures = metrics.counter(
      'easel_storage_failures_total',
      'Image store operations that failed (after the store client retries), by operation',
      ['operation'],
    );
  }

  /**
   * Stores the image and answers its URL. Called after the upstream was charged: a failure here
   * fails the request (503) but never calls the upstream again. Traced as `easel.storage.put` (its
   * size and format, never its bytes).
   */
  save(image: ImagePayload, format: ImageFormat): Promise<string> {
    const attributes = { 'easel.image.format': format, 'easel.image.bytes': image.byteLength };
    return traced(SPAN.storagePut, attributes, () => this.store(image, format));
  }

  /**
   * The image goes to the store as it is decoded, a slice at a time: never whole in memory when it
   * came as base64. Held meanwhile, so that the request's end (its client gone) does not close a
   * spooled image under the upload.
   */
  private async store(image: ImagePayload, format: ImageFormat): Promise<string> {
    const file = `${randomBytes(16).toString('base64url')}.${format}`;
    const release = image.hold();
    try {
      await this.uploads.run(() =>
        this.guard('put', async () => {
          const body = { size: await image.exactByteLength(), chunks: () => image.byteChunks() };
          await this.storage.put(file, body, CONTENT_TYPES[format]);
        }),
      );
    } finally {
      release();
    }
    const { urlMode, urlTtlSeconds } = this.config.storage;
    if (urlMode === 'presigned' && this.storage.presignedUrl) {
      return this.guard('presign', () => this.storage.presignedUrl!(file, urlTtlSeconds));
    }
    return this.signer.urlFor(file);
  }

  /** The image behind a signed URL (only `range` of it, when given); 403 for a bad or expired URL, 404 once it is gone. */
  async open(file: string, expires: number, signature: string, range?: ByteRangeSpec): Promise<OpenedImage> {
    switch (this.signer.check(file, expires, signature)) {
      case 'bad_signature':
        throw new GatewayError(ErrorCode.PermissionDenied, 'The image URL signature is not valid.', { param: 'sig' });
      case 'expired':
        throw new GatewayError(ErrorCode.PermissionDenied, 'The image URL has expired.', { param: 'expires' });
      case 'valid':
        break;
    }
    const stored = await this.guard('get', () => this.storage.get(file, range));
    if (!stored) throw new GatewayError(ErrorCode.ResourceNotFound, 'The image no longer exists.');
    const format = file.slice(file.lastIndexOf('.') + 1) as ImageFormat;
    return { ...stored, contentType: CONTENT_TYPES[format] };
  }

  /** Throws unless the store answers (readiness); a store that cannot be unreachable always answers. */
  async ping(): Promise<void> {
    await this.storage.ping?.();
  }

  /** Deletes the images no URL can reach any more; how many (0 when the store failed: logged and counted). */
  async sweep(now = Date.now()): Promise<number> {
    try {
      return await this.storage.sweep(now);
    } catch (error) {
      this.failures.inc({ operation: 'sweep' });
      this.logger.warn(`Image sweep failed: ${String(error)}`);
      return 0;
    }
  }

  onModuleInit(): void {
    this.sweeper = setInterval(
      () => void this.sweep(),
      Math.min(this.config.storage.urlTtlSeconds * 1000, 10 * 60_000),
    );
    this.sweeper.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.sweeper);
  }

  /** Runs one store operation; a failure of the store (not a refusal such as 416) becomes 503, counted. */
  private async guard<T>(operation: StorageOperation, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof GatewayError) throw error;
      this.failures.inc({ operation });
      throw new GatewayError(
        ErrorCode.StorageUnavailable,
        operation === 'get'
          ? 'The image store is unavailable; try the URL again later.'
          : 'The image store is unavailable, so no image URL could be made; try again, or ask for response_format b64_json.',
        { cause: error },
      );
    }
  }
}
