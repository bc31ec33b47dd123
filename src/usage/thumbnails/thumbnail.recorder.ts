import { type BeforeApplicationShutdown, Inject, Injectable, Logger, Optional } from '@nestjs/common';
import type { Counter } from 'prom-client';
import type { RequestContext } from '../../common/http/request-context.js';
import { AppConfig } from '../../config/app.config.js';
import { MetricsService } from '../../metrics/metrics.service.js';
import { makeThumbnail, THUMBNAIL_CONTENT_TYPE } from './thumbnail.image.js';
import type { ThumbnailSource } from './thumbnail.source.js';
import { THUMBNAIL_LIMITS } from './thumbnails.tokens.js';
import { UsageThumbnailRepository } from './usage-thumbnail.repository.js';

export interface ThumbnailLimits {
  /** Previews made and written at once (each holds a PostgreSQL connection while it writes, and a libuv thread while it resizes). */
  concurrency: number;
  /** Images waiting for a worker, at most: a request's images beyond it are dropped. */
  maxQueued: number;
  /** Their bytes together (as held: base64 counts as the bytes it encodes), at most. */
  maxQueuedBytes: number;
  /** At shutdown, how long the queue is given to drain before what is left is dropped. */
  drainMs: number;
}

export const DEFAULT_THUMBNAIL_LIMITS: ThumbnailLimits = {
  concurrency: 2,
  maxQueued: 32,
  maxQueuedBytes: 64 * 1024 * 1024,
  drainMs: 5_000,
};

/** The last image position kept: `usage_thumbnails.index` and the routes' `:index` go up to it. */
export const MAX_THUMBNAIL_INDEX = 999;

/** Why a preview was not stored (the `reason` of `easel_thumbnails_dropped_total`). */
export type ThumbnailDropReason = 'queue_full' | 'image' | 'database' | 'shutdown';

const REPEAT_LOG_INTERVAL_MS = 60_000;

interface ThumbnailJob {
  requestId: string;
  index: number;
  team: string;
  apiKeyId: string | null;
  createdAt: Date;
  source: ThumbnailSource;
  size: number;
  /** Lets go of the source (see `ThumbnailSource.hold`), once the worker has read it or the job is dropped. */
  release?: () => void;
}

/**
 * With CONSOLE_THUMBNAILS=true, a 128 px WebP preview of each image a request generated, stored in
 * `usage_thumbnails` under the request's id (its usage record's `request_id`), team and key, for
 * the console's request log. Best effort, and never on the request's path: `capture` only queues
 * the images as the answer already holds them (no decoding, no copy) and returns; workers, started
 * after the current turn of the event loop (so a response is on its way before any decoding),
 * decode, resize (sharp, in libuv's pool) and insert, `concurrency` at a time. The queue is bounded
 * in images and bytes: what does not fit is dropped, like a preview whose image sharp cannot read
 * or that PostgreSQL refuses; each drop is counted (`easel_thumbnails_dropped_total{reason}`) and
 * logged at most once a minute per reason. Nothing here can fail, delay or change a response, and
 * usage records are written by their own recorder whatever happens here. Off, `capture` returns at
 * once and sharp is never loaded.
 */
@Injectable()
export class ThumbnailRecorder implements BeforeApplicationShutdown {
  private readonly logger = new Logger(ThumbnailRecorder.name);
  private readonly queue: ThumbnailJob[] = [];
  private queuedBytes = 0;
  private active = 0;
  private scheduled = false;
  private closed = false;
  private idleWaiters: Array<() => void> = [];
  private readonly lastLogged = new Map<ThumbnailDropReason, { at: number; dropped: number }>();
  private readonly stored?: Counter;
  private readonly dropped?: Counter<'reason'>;

  constructor(
    private readonly config: AppConfig,
    private readonly repository: UsageThumbnailRepository,
    @Inject(THUMBNAIL_LIMITS) private readonly limits: ThumbnailLimits,
    @Optional() metrics?: MetricsService,
  ) {
    this.stored = metrics?.counter('easel_thumbnails_stored_total', 'Console previews of generated images stored');
    this.dropped = metrics?.counter(
      'easel_thumbnails_dropped_total',
      'Console previews not stored: queue_full (the queue was full), image (unreadable), database (PostgreSQL refused or was down), shutdown',
      ['reason'],
    );
    metrics?.gauge(
      'easel_thumbnail_queue_depth',
      'Console previews waiting to be made and stored, or being made',
      () => this.depth,
    );
  }

  get enabled(): boolean {
    return this.config.consoleThumbnails;
  }

  /** Images waiting or being made. */
  get depth(): number {
    return this.queue.length + this.active;
  }

  /**
   * Queues a preview of each of `images` (in answer order: image `i` is preview `i`) for the
   * request of `context`. Returns at once; never throws.
   */
  capture(context: RequestContext, images: readonly ThumbnailSource[]): void {
    if (!this.enabled || images.length === 0) return;
    const owner = this.ownerOf(context);
    if (!owner) return;
    const createdAt = new Date();
    images.slice(0, MAX_THUMBNAIL_INDEX + 1).forEach((source, index) => {
      try {
        this.enqueue({ ...owner, index, createdAt, source });
      } catch (error) {
        this.drop('image', error, 1);
      }
    });
    this.schedule();
  }

  /** Whose request it is, as its usage record says (a generation route always has a key). */
  private ownerOf(context: RequestContext): Pick<ThumbnailJob, 'requestId' | 'team' | 'apiKeyId'> | undefined {
    try {
      const { team, keyId } = context.principal;
      return { requestId: context.requestId, team, apiKeyId: keyId };
    } catch (error) {
      this.logger.error(`No preview for request ${context.requestId}: ${(error as Error).message}`);
      return undefined;
    }
  }

  /** Resolves once nothing is queued or being made (at once when idle). */
  idle(): Promise<void> {
    if (this.depth === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Gives the queue `drainMs` to be stored; drops what is left. Previews captured from now on are dropped. */
  async beforeApplicationShutdown(): Promise<void> {
    if (this.depth > 0) {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.limits.drainMs);
        timer.unref();
      });
      await Promise.race([this.idle(), deadline]);
      clearTimeout(timer);
    }
    this.closed = true;
    const left = this.queue.splice(0);
    for (const job of left) job.release?.();
    this.queuedBytes = 0;
    if (left.length > 0) this.drop('shutdown', undefined, left.length);
  }

  private enqueue(job: Omit<ThumbnailJob, 'size' | 'release'>): void {
    if (this.closed) {
      this.drop('shutdown', undefined, 1);
      return;
    }
    const size = job.source.size();
    if (this.queue.length >= this.limits.maxQueued || this.queuedBytes + size > this.limits.maxQueuedBytes) {
      this.drop('queue_full', undefined, 1);
      return;
    }
    this.queue.push({ ...job, size, release: job.source.hold?.() });
    this.queuedBytes += size;
  }

  /** Workers start after the current turn of the event loop: the response is written first. */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    while (this.active < this.limits.concurrency && this.queue.length > 0) {
      const job = this.queue.shift()!;
      this.queuedBytes -= job.size;
      this.active++;
      void this.store(job).finally(() => {
        this.active--;
        this.pump();
        if (this.depth === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
      });
    }
  }

  private async store(job: ThumbnailJob): Promise<void> {
    let bytes: Buffer;
    try {
      const source = job.source.bytes();
      job.release?.();
      bytes = (await makeThumbnail(source)).bytes;
    } catch (error) {
      job.release?.();
      this.drop('image', error, 1);
      return;
    }
    try {
      await this.repository.insert({
        requestId: job.requestId,
        index: job.index,
        team: job.team,
        apiKeyId: job.apiKeyId,
        createdAt: job.createdAt,
        contentType: THUMBNAIL_CONTENT_TYPE,
        bytes,
      });
      this.stored?.inc();
    } catch (error) {
      this.drop('database', error, 1);
    }
  }

  /** Counts dropped previews; logs a reason at most once a minute, with how many went since. */
  private drop(reason: ThumbnailDropReason, error: unknown, count: number): void {
    this.dropped?.inc({ reason }, count);
    const now = Date.now();
    const last = this.lastLogged.get(reason) ?? { at: -Infinity, dropped: 0 };
    last.dropped += count;
    if (now - last.at < REPEAT_LOG_INTERVAL_MS) {
      this.lastLogged.set(reason, last);
      return;
    }
    const cause = error instanceof Error ? `: ${error.message}` : '';
    this.logger.warn(
      `${last.dropped} console preview${last.dropped === 1 ? '' : 's'} not stored (${reason}${cause}); responses and usage records are not affected`,
    );
    this.lastLogged.set(reason, { at: now, dropped: 0 });
  }
}
