import autocannon from 'autocannon';
import { Pool } from 'undici';

export interface Target {
  /** Where requests go and what they carry: JSON unless `headers` give another content type. */
  url: string;
  headers: Record<string, string>;
  body: string | Buffer;
}

export interface LoadResult {
  requests: number;
  failures: number;
  throughputRps: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
}

/** What one measured run saw: the latencies of its successful responses, in ms. */
export interface LoadSample {
  latencies: number[];
  failures: number;
  seconds: number;
}

/**
 * Drives `target` with autocannon: `connections` concurrent keep-alive connections for
 * `durationS`. Latencies are taken from autocannon's per-response event (sub-millisecond; its
 * own histogram rounds to whole milliseconds) and only successful responses count.
 */
export async function load(target: Target, connections: number, durationS: number): Promise<LoadSample> {
  const latencies: number[] = [];
  let failures = 0;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: target.url,
        method: 'POST',
        headers: { 'content-type': 'application/json', ...target.headers },
        body: target.body,
        connections,
        duration: durationS,
        timeout: 60,
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
      else failures++;
    });
  });
  return { latencies, failures: failures + result.errors + result.timeouts, seconds: result.duration };
}

/** Several samples of one target (rounds taken in turn with the other targets) as one result. */
export function summarize(samples: LoadSample[]): LoadResult {
  const latencies = samples.flatMap((sample) => sample.latencies).sort((a, b) => a - b);
  const seconds = samples.reduce((sum, sample) => sum + sample.seconds, 0);
  return {
    requests: latencies.length,
    failures: samples.reduce((sum, sample) => sum + sample.failures, 0),
    throughputRps: latencies.length / seconds,
    meanMs: latencies.length === 0 ? Number.NaN : latencies.reduce((sum, ms) => sum + ms, 0) / latencies.length,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  };
}

/** How long a streamed request may wait for its headers, or between two chunks of its body. */
const STREAM_TIMEOUT_MS = 30_000;
/** Requests that fail without an answer (timeouts, resets) in a row before the rest count as failed. */
const GIVE_UP_AFTER = 3;

/**
 * Time to the first byte of a streamed response's body, `count` requests one after another on
 * one keep-alive connection (undici); every body is read to its end. A request that errors or
 * times out counts as failed; after GIVE_UP_AFTER of them in a row, so do all that remain.
 */
export async function timeToFirstByte(target: Target, count: number): Promise<LoadSample> {
  const url = new URL(target.url);
  const pool = new Pool(url.origin, {
    connections: 1,
    headersTimeout: STREAM_TIMEOUT_MS,
    bodyTimeout: STREAM_TIMEOUT_MS,
  });
  const latencies: number[] = [];
  let failures = 0;
  let errorsInARow = 0;
  const started = performance.now();
  try {
    for (let i = 0; i < count; i++) {
      if (errorsInARow >= GIVE_UP_AFTER) {
        failures += count - i;
        break;
      }
      const sent = performance.now();
      try {
        const response = await pool.request({
          path: url.pathname + url.search,
          method: 'POST',
          headers: { 'content-type': 'application/json', ...target.headers },
          body: target.body,
        });
        let first: number | undefined;
        for await (const _chunk of response.body) first ??= performance.now() - sent;
        errorsInARow = 0;
        if (response.statusCode === 200 && first !== undefined) latencies.push(first);
        else failures++;
      } catch {
        errorsInARow++;
        failures++;
      }
    }
  } finally {
    await pool.destroy();
  }
  return { latencies, failures, seconds: (performance.now() - started) / 1000 };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
