import autocannon from 'autocannon';
import { Pool } from 'undici';

export interface Target {
  /** Where requests go and what they carry; each target of a scenario sends the same JSON body. */
  url: string;
  headers: Record<string, string>;
  body: string;
}

export interface LoadResult {
  requests: number;
  failures: number;
  throughputRps: number;
  p50Ms: number;
  p99Ms: number;
}

/** What one autocannon run saw: the latencies of its successful responses, in ms. */
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
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  };
}

/**
 * Time to the first byte of a streamed response's body, `count` requests one after another on
 * one keep-alive connection (undici), after `warmup` unmeasured ones.
 */
export async function timeToFirstByte(target: Target, count: number, warmup: number): Promise<LoadResult> {
  const url = new URL(target.url);
  const pool = new Pool(url.origin, { connections: 1 });
  const samples: number[] = [];
  let failures = 0;
  const started = performance.now();
  try {
    for (let i = 0; i < warmup + count; i++) {
      const sent = performance.now();
      const response = await pool.request({
        path: url.pathname + url.search,
        method: 'POST',
        headers: { 'content-type': 'application/json', ...target.headers },
        body: target.body,
      });
      let first: number | undefined;
      for await (const _chunk of response.body) first ??= performance.now() - sent;
      if (i < warmup) continue;
      if (response.statusCode === 200 && first !== undefined) samples.push(first);
      else failures++;
    }
  } finally {
    await pool.close();
  }
  samples.sort((a, b) => a - b);
  return {
    requests: samples.length,
    failures,
    throughputRps: samples.length / ((performance.now() - started) / 1000),
    p50Ms: percentile(samples, 50),
    p99Ms: percentile(samples, 99),
  };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
