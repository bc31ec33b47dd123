/**
 * Bursts of large images (issue 18): `requests` concurrent image requests, all answered by the
 * fake upstream at the same moment with the same large PNG, in `rounds` rounds, against one
 * target process at a time. Each target is a fresh process measured alone: its RSS idle before
 * the first round, its peak during each round (sampled from /proc), 5 s after each round and 30 s
 * after the last; every answer is checked (status, and the image: each `b64_json` decoded and
 * hashed as it arrives; for `url`, a sample of the URLs downloaded after the last reading) and,
 * for Easel, the usage records written.
 */
import { createHash } from 'node:crypto';
import { Agent, request } from 'undici';
import type { FakeUpstreamSettings, FakeUpstreamState } from './fake-upstream.js';
import { B64JsonDigester } from './image-digest.js';
import type { Target } from './load.js';
import { type Child, meter, rssMb, sleep } from './processes.js';

export interface BurstSettings {
  requests: number;
  rounds: number;
  imageBase64Bytes: number;
}

/** How long a fresh target idles before its first round, and when its RSS is read after each. */
const IDLE_MS = 5_000;
const AFTER_ROUND_MS = 5_000;
const AFTER_LAST_MS = 30_000;
/** URLs downloaded and compared per round, spread over the round's answers. */
const URL_SAMPLE = 8;
/** How long the usage records may take to be written once the last round is over. */
const USAGE_WAIT_MS = 15_000;
/** A burst the upstream has not released by then (too few requests reached it) is released anyway. */
const HOLD_TIMEOUT_MS = 60_000;
const TIMEOUT_MS = 300_000;

/** A process under test, freshly started, and what it is sent. */
export interface BurstProcess {
  child: Child;
  request: Target;
  /** How the image comes back; `url` answers are downloaded from the URL they give. */
  format: 'b64_json' | 'url';
  /** Easel: the `images` requests its usage records count since `since`. */
  usageRecords?(since: Date): Promise<number>;
  stop(): Promise<void>;
}

export interface BurstTarget {
  name: string;
  start(): Promise<BurstProcess>;
}

export interface BurstRound {
  peakRssMb: number;
  rssAfterMb: number;
  seconds: number;
  /** Answers that were 200 with the upstream's image (for `url`: with one URL). */
  ok: number;
  /** What the others were: `503`, `200 without the image`, `error: …`, with how many. */
  failures: Record<string, number>;
}

export interface BurstRow {
  target: string;
  idleRssMb: number;
  rounds: BurstRound[];
  rssAfterLastMb: number;
  /** `url`: the images downloaded and compared; `b64_json`: every image of a 200. */
  imagesCompared: number;
  /** Of those, the ones not byte-identical to the upstream's. */
  imagesDiffering: number;
  /** Easel: usage records written for the requests sent. */
  usage?: { sent: number; recorded: number };
  /** Bursts the upstream released before all requests reached it. */
  releasedEarly: number;
  /** Why the target's measurement stopped (it did not start, or its process died): the rest is not measured. */
  error?: string;
}

export interface BurstRun {
  settings: BurstSettings;
  imageBytes: number;
  rows: BurstRow[];
}

interface Answer {
  status: number | 'error';
  error?: string;
  /** SHA-256 of each image the answer carried (`b64_json`). */
  images: string[];
  urls: string[];
}

/** Runs the bursts against each target in turn; returns the rows (the run goes on when a target fails). */
export async function runBursts(fakeUrl: string, targets: BurstTarget[], settings: BurstSettings): Promise<BurstRun> {
  await configure(fakeUrl, {
    imageBase64Bytes: settings.imageBase64Bytes,
    latencyMs: 0,
    holdRequests: settings.requests,
    holdTimeoutMs: HOLD_TIMEOUT_MS,
  });
  const upstream = await state(fakeUrl);
  const rows: BurstRow[] = [];
  try {
    for (const target of targets) {
      console.error(
        `burst · ${target.name}: ${settings.rounds} × ${settings.requests} requests, ${(settings.imageBase64Bytes / 2 ** 20).toFixed(1)} MiB of base64 each`,
      );
      rows.push(
        await measure(target, settings, fakeUrl, upstream).catch((error: unknown) => {
          const message = error instanceof Error ? error.message : String(error);
          console.error(`  !!! ${target.name}: ${message}`);
          return unmeasured(target.name, message);
        }),
      );
    }
  } finally {
    await configure(fakeUrl, { holdRequests: 0 });
  }
  return { settings, imageBytes: upstream.imageBytes, rows };
}

async function measure(
  target: BurstTarget,
  settings: BurstSettings,
  fakeUrl: string,
  upstream: FakeUpstreamState,
): Promise<BurstRow> {
  const since = new Date(Date.now() - 1000);
  const running = await target.start();
  const { pid } = running.child;
  const agent = new Agent({ connections: null, headersTimeout: TIMEOUT_MS, bodyTimeout: TIMEOUT_MS });
  try {
    const earlyBefore = (await state(fakeUrl)).releasedEarly;
    await sleep(IDLE_MS);
    const idleRssMb = rssMb(pid);
    const rounds: BurstRound[] = [];
    const urls: string[][] = [];
    let imagesCompared = 0;
    let imagesDiffering = 0;
    let lastEnded = 0;
    for (let round = 0; round < settings.rounds; round++) {
      const gauge = meter(pid);
      const started = performance.now();
      const answers = await Promise.all(
        Array.from({ length: settings.requests }, () => send(agent, running.request, running.format)),
      );
      const { peakRssMb } = gauge.stop();
      const seconds = (performance.now() - started) / 1000;
      lastEnded = Date.now();
      const failures: Record<string, number> = {};
      let ok = 0;
      for (const answer of answers) {
        const problem = judge(answer, running.format, upstream.imageSha256);
        if (running.format === 'b64_json' && answer.status === 200) {
          imagesCompared += answer.images.length;
          imagesDiffering += answer.images.filter((sha256) => sha256 !== upstream.imageSha256).length;
        }
        if (problem) failures[problem] = (failures[problem] ?? 0) + 1;
        else ok++;
      }
      urls.push(answers.flatMap((answer) => answer.urls));
      await sleep(AFTER_ROUND_MS);
      const rssAfterMb = rssMb(pid);
      rounds.push({ peakRssMb, rssAfterMb, seconds, ok, failures });
      console.error(
        `  round ${round + 1}: ${ok}/${settings.requests} ok in ${seconds.toFixed(1)} s${describe(failures)}, peak ${peakRssMb.toFixed(0)} MB, ${rssAfterMb.toFixed(0)} MB 5 s later`,
      );
    }
    await sleep(Math.max(0, lastEnded + AFTER_LAST_MS - Date.now()));
    const rssAfterLastMb = rssMb(pid);
    console.error(`  ${rssAfterLastMb.toFixed(0)} MB 30 s after the last round`);

    // Checked after the last reading, so that neither the downloads nor the report's queries count.
    for (const roundUrls of urls) {
      for (const url of sample(roundUrls, URL_SAMPLE)) {
        imagesCompared++;
        if ((await download(agent, url)) !== upstream.imageSha256) imagesDiffering++;
      }
    }
    const sent = settings.rounds * settings.requests;
    const usage = running.usageRecords ? { sent, recorded: await recorded(running, since, sent) } : undefined;
    const row: BurstRow = {
      target: target.name,
      idleRssMb,
      rounds,
      rssAfterLastMb,
      imagesCompared,
      imagesDiffering,
      usage,
      releasedEarly: (await state(fakeUrl)).releasedEarly - earlyBefore,
    };
    for (const problem of problems(row, settings)) console.error(`  !!! ${target.name}: ${problem}`);
    return row;
  } finally {
    await agent.destroy();
    await running.stop();
  }
}

function unmeasured(target: string, error: string): BurstRow {
  return {
    target,
    idleRssMb: Number.NaN,
    rounds: [],
    rssAfterLastMb: Number.NaN,
    imagesCompared: 0,
    imagesDiffering: 0,
    releasedEarly: 0,
    error,
  };
}

/** What is wrong with a target's bursts, loudly: failed answers, differing images, missing usage records. */
export function problems(row: BurstRow, settings: BurstSettings): string[] {
  const found: string[] = row.error ? [`not measured to the end: ${row.error}`] : [];
  const ok = row.rounds.reduce((sum, round) => sum + round.ok, 0);
  const sent = settings.rounds * settings.requests;
  if (ok < sent) {
    const failures: Record<string, number> = {};
    for (const round of row.rounds)
      for (const [what, count] of Object.entries(round.failures)) failures[what] = (failures[what] ?? 0) + count;
    found.push(`${sent - ok} of ${sent} answers failed${describe(failures)}`);
  }
  if (row.imagesDiffering > 0)
    found.push(`${row.imagesDiffering} of ${row.imagesCompared} images differ from the upstream's`);
  if (row.imagesCompared === 0) found.push('no image was compared');
  if (row.usage && row.usage.recorded !== row.usage.sent)
    found.push(`${row.usage.recorded} usage records for ${row.usage.sent} requests`);
  if (row.releasedEarly > 0)
    found.push(`${row.releasedEarly} bursts released before all ${settings.requests} requests reached the upstream`);
  return found;
}

async function send(agent: Agent, target: Target, format: 'b64_json' | 'url'): Promise<Answer> {
  try {
    const response = await request(target.url, {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-type': 'application/json', ...target.headers },
      body: target.body,
    });
    if (response.statusCode !== 200 || format === 'url') {
      const text = await response.body.text();
      const urls =
        response.statusCode === 200
          ? ((JSON.parse(text) as { data?: Array<{ url?: string }> }).data ?? []).flatMap((image) =>
              image.url ? [image.url] : [],
            )
          : [];
      return { status: response.statusCode, images: [], urls };
    }
    const digester = new B64JsonDigester();
    for await (const chunk of response.body) digester.write(chunk as Buffer);
    return { status: 200, images: digester.end().map((image) => image.sha256), urls: [] };
  } catch (error) {
    return { status: 'error', error: error instanceof Error ? error.message : String(error), images: [], urls: [] };
  }
}

/** Why an answer does not count as served (undefined when it does). */
function judge(answer: Answer, format: 'b64_json' | 'url', sha256: string): string | undefined {
  if (answer.status === 'error') return `error: ${answer.error}`;
  if (answer.status !== 200) return String(answer.status);
  if (format === 'url') return answer.urls.length === 1 ? undefined : `200 with ${answer.urls.length} URLs`;
  if (answer.images.length !== 1) return `200 with ${answer.images.length} images`;
  return answer.images[0] === sha256 ? undefined : '200 with another image';
}

async function download(agent: Agent, url: string): Promise<string> {
  try {
    const response = await request(url, { dispatcher: agent });
    const hash = createHash('sha256');
    for await (const chunk of response.body) hash.update(chunk as Buffer);
    return response.statusCode === 200 ? hash.digest('hex') : `status ${response.statusCode}`;
  } catch (error) {
    return `error: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/** The usage records written, once they match `sent` or USAGE_WAIT_MS has passed (records are written in batches). */
async function recorded(running: BurstProcess, since: Date, sent: number): Promise<number> {
  const deadline = Date.now() + USAGE_WAIT_MS;
  for (;;) {
    const count = await running.usageRecords!(since);
    if (count >= sent || Date.now() > deadline) return count;
    await sleep(500);
  }
}

/** `count` items spread evenly over `items`, the first and last included. */
function sample<T>(items: T[], count: number): T[] {
  if (items.length <= count) return items;
  return Array.from({ length: count }, (_, i) => items[Math.round((i * (items.length - 1)) / (count - 1))]!);
}

function describe(failures: Record<string, number>): string {
  const entries = Object.entries(failures);
  return entries.length === 0 ? '' : ` (${entries.map(([what, count]) => `${what} × ${count}`).join(', ')})`;
}

async function configure(fakeUrl: string, settings: Partial<FakeUpstreamSettings>): Promise<void> {
  const response = await fetch(`${fakeUrl}/__bench`, { method: 'PUT', body: JSON.stringify(settings) });
  if (response.status !== 204) throw new Error(`configuring the fake upstream failed: ${response.status}`);
}

async function state(fakeUrl: string): Promise<FakeUpstreamState> {
  return (await (await fetch(`${fakeUrl}/__bench`)).json()) as FakeUpstreamState;
}
