import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';

/** A full garbage collection: `globalThis.gc` under `node --expose-gc` (`npm start`, the image), else none. */
export const GARBAGE_COLLECTOR = Symbol('GARBAGE_COLLECTOR');
export type GarbageCollector = (() => void) | undefined;

/** A burst whose answers counted at least this many bytes in flight is worth a collection after it. */
export const BURST_BYTES = 256 * 1024 * 1024;
/** How long the bytes in flight must stay at 0 before the collection (a new request cancels it). */
export const QUIET_MS = 1_000;

/**
 * Hands a burst's memory back. The answers of a burst are Node buffers outside V8's heap; V8
 * collects those only when more is allocated, so once a burst has drained and nothing allocates,
 * gigabytes of garbage stay in the process's memory (measured: `url` 2.4 GB, `b64_json` 1.4 GB 30 s
 * after 200 answers of 5.6 MB; docs/BENCHMARKS.md#bursts-of-large-images-issue-18). So when the
 * bytes in flight (`InFlightBytes`) fall to 0 from a peak of at least `BURST_BYTES` and stay there
 * for `QUIET_MS`, one full collection runs: a few tens of milliseconds, off any request. Without
 * `--expose-gc` it does nothing.
 */
@Injectable()
export class AfterBurstCollector implements OnApplicationShutdown {
  private peak = 0;
  private timer?: NodeJS.Timeout;

  constructor(@Inject(GARBAGE_COLLECTOR) private readonly collect: GarbageCollector) {}

  /** Told the bytes in flight after each change. */
  observe(bytesInFlight: number): void {
    if (bytesInFlight > 0) {
      this.peak = Math.max(this.peak, bytesInFlight);
      clearTimeout(this.timer);
      this.timer = undefined;
      return;
    }
    const collect = this.collect;
    if (!collect || this.peak < BURST_BYTES || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.peak = 0;
      collect();
    }, QUIET_MS).unref();
  }

  onApplicationShutdown(): void {
    clearTimeout(this.timer);
  }
}

/** `globalThis.gc` when Node runs with `--expose-gc`. */
export function exposedGarbageCollector(): GarbageCollector {
  const { gc } = globalThis as { gc?: () => void };
  return typeof gc === 'function' ? gc : undefined;
}
