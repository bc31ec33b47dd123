/**
 * `npm run bench`: direct calls to a fake upstream, a bare pass-through, Easel, and the Portkey
 * gateway, side by side in one run on this machine (SPEC §10). Each runs in a process of its own
 * on loopback, on the Node.js that runs this script; autocannon drives them. Then bursts of large
 * images (bench/burst.ts), against each target in a fresh process of its own, one at a time.
 *
 *   npm run bench -- [--only <scenario,…>] [--against <tag or commit>] [--no-portkey] [--write]
 *
 * `--only` runs only the scenarios named (SCENARIO_IDS: `--only burst` for the bursts alone);
 * `--against` builds that ref of Easel too and benches it as `easel@<ref>` beside the current code
 * in every scenario Easel runs in; `--no-portkey` (or BENCH_PORTKEY=0) leaves Portkey out;
 * `--write` regenerates the blocks of docs/BENCHMARKS.md whose scenarios ran (the results block
 * only when all of its scenarios did). BENCH_SECONDS (default 10) sets the length of each measured
 * run; BENCH_BURST_REQUESTS (200), BENCH_BURST_ROUNDS (3) and BENCH_BURST_BASE64_BYTES (5.6 MiB)
 * shape the bursts; BENCH_EASEL_ENV="NAME=value …" adds variables to every Easel started;
 * BENCH_CPU_PROF=<dir> writes each Easel's CPU profile (`--cpu-prof`) there when it stops;
 * BENCH_VERBOSE=1 shows the processes' output.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { MultipartBody, type MultipartField } from '../src/providers/multipart-body.js';
import { type BurstProcess, type BurstTarget, runBursts } from './burst.js';
import { BENCH_AZURE_KEY, BENCH_VERTEX_TOKEN } from './fake-upstream.js';
import { load, type LoadSample, summarize, type Target, timeToFirstByte } from './load.js';
import { buildPrevious, type PreviousBuild } from './previous-build.js';
import { type Child, meter, rssMb, sleep, Teardown } from './processes.js';
import {
  asUrl,
  BARE,
  BARE_STREAMED,
  CURRENT,
  DIRECT,
  type IdleRss,
  PORTKEY,
  render,
  renderBursts,
  type Row,
  SCENARIOS,
  writeResults,
} from './report.js';
import {
  bareImages,
  directImages,
  type Easel,
  easelImages,
  portkeyImages,
  portkeyVersion,
  PROMPT,
  startBareProxy,
  startEasel,
  startFakeUpstream,
  startPortkey,
} from './targets.js';
import { measureUsageRecording } from './usage-recording.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP_SECONDS = Math.min(3, SECONDS);
const SETTLE_MS = 15_000;
const ROUNDS = 3;
const OPEN_SECONDS = 10;
/** Streamed requests per target, warm-up apart: one after another, in ROUNDS turns. */
const STREAMED = 300;
const STREAM_WARMUP = 30;
const BURST = {
  requests: Number(process.env.BENCH_BURST_REQUESTS ?? 200),
  rounds: Number(process.env.BENCH_BURST_ROUNDS ?? 3),
  // 5.6 MiB of base64: a 4.2 MiB image, as GPT image models answer at high quality.
  imageBase64Bytes: Number(process.env.BENCH_BURST_BASE64_BYTES ?? 4 * Math.round((5.6 * 2 ** 20) / 4)),
};
/** Added to every Easel's environment: BENCH_EASEL_ENV="NAME=value NAME=value". */
const EASEL_ENV = Object.fromEntries(
  (process.env.BENCH_EASEL_ENV ?? '')
    .split(/\s+/)
    .filter((pair) => pair.includes('='))
    .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
);

/** What `--only` can name: the scenarios of the results block, the usage-recording measurement, the bursts. */
const LOAD_SCENARIOS = Object.keys(SCENARIOS) as Array<keyof typeof SCENARIOS>;
const SCENARIO_IDS = [...LOAD_SCENARIOS, 'usage', 'burst'] as const;
type ScenarioId = (typeof SCENARIO_IDS)[number];

const USAGE = `npm run bench -- [--only <${SCENARIO_IDS.join('|')}>,…] [--against <tag or commit>] [--no-portkey] [--write]`;
const options = (() => {
  try {
    const { values } = parseArgs({
      options: {
        only: { type: 'string', multiple: true },
        against: { type: 'string' },
        'no-portkey': { type: 'boolean', default: false },
        write: { type: 'boolean', default: false },
      },
      strict: true,
    });
    const only = values.only?.flatMap((list) => list.split(',')).filter(Boolean);
    const unknown = only?.filter((id) => !(SCENARIO_IDS as readonly string[]).includes(id));
    if (unknown?.length) throw new Error(`--only: no scenario ${unknown.join(', ')}`);
    return { ...values, only: new Set<ScenarioId>((only as ScenarioId[] | undefined) ?? SCENARIO_IDS) };
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\nusage: ${USAGE}`);
    process.exit(2);
  }
})();
const withPortkey = !options['no-portkey'] && process.env.BENCH_PORTKEY !== '0';

/** One process measured, under the name its rows carry, with the request each scenario sends it. */
interface Contender {
  name: string;
  child: Child;
  request: Target;
}

interface UpstreamSettings {
  imageBase64Bytes: number;
  latencyMs: number;
}

/** How a scenario drives a contender: unmeasured, then once per round. */
interface Drive {
  warmUp(request: Target): Promise<unknown>;
  measure(request: Target): Promise<LoadSample>;
}

const teardown = new Teardown();
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true;
    console.error(`${signal}: stopping the processes and removing the temp dirs`);
    void teardown.run().finally(() => process.exit(130));
  });
}
try {
  await bench();
} catch (error) {
  // Once interrupted, what fails is the run losing its processes: not worth reporting.
  if (!interrupted)
    console.error(
      error instanceof Error ? ((process.env.BENCH_VERBOSE ? error.stack : undefined) ?? error.message) : error,
    );
  process.exitCode = 1;
} finally {
  await teardown.run();
}

async function bench(): Promise<void> {
  console.error(`Node.js ${process.version} (${process.execPath}) runs the bench and every process it starts`);
  const started = Date.now();
  const previous = options.against ? await buildPrevious(options.against, process.cwd(), teardown) : undefined;
  const version = withPortkey ? portkeyVersion() : undefined;
  const loadScenarios = LOAD_SCENARIOS.filter((id) => options.only.has(id));

  const loadRun = loadScenarios.length > 0 ? await runLoadScenarios(loadScenarios, previous) : undefined;
  // In this process, once the gateways are stopped.
  const usage = options.only.has('usage') ? await measureUsageRecording(50_000) : undefined;
  if (loadRun || usage) {
    const report = render({
      rows: loadRun?.rows ?? [],
      idle: loadRun?.idle ?? [],
      usage,
      previous: previous?.label,
      portkeyVersion: version,
      seconds: SECONDS,
      warmupSeconds: WARMUP_SECONDS,
      settleSeconds: SETTLE_MS / 1000,
      elapsedSeconds: (Date.now() - started) / 1000,
    });
    console.log(report);
    if (options.write && loadScenarios.length === LOAD_SCENARIOS.length && usage)
      writeResults('docs/BENCHMARKS.md', report);
    else if (options.write) console.error('--only left scenarios of the results block out: it is not written');
  }

  if (options.only.has('burst')) {
    const burstStarted = Date.now();
    const run = await bursts(previous);
    const report = renderBursts(
      run,
      [
        ...(previous ? [`against ${previous.label}`] : []),
        version ? `Portkey ${version}` : 'without Portkey',
        ...Object.keys(EASEL_ENV).map((name) => `Easel with ${name}=${EASEL_ENV[name]}`),
      ],
      (Date.now() - burstStarted) / 1000,
    );
    console.log(report);
    if (options.write) writeResults('docs/BENCHMARKS.md', report, 'burst');
  }
}

/** The load scenarios named, against processes started for them and stopped when they are done. */
async function runLoadScenarios(
  selected: Array<keyof typeof SCENARIOS>,
  previous: PreviousBuild | undefined,
): Promise<{ rows: Row[]; idle: IdleRss[] }> {
  // Stopped as soon as the scenarios are done (the usage measurement and the bursts run alone).
  const processes = new Teardown();
  teardown.defer("stopping the load scenarios' processes", () => processes.run());
  try {
    return await loadScenarios(selected, previous, processes);
  } finally {
    await processes.run();
  }
}

async function loadScenarios(
  selected: Array<keyof typeof SCENARIOS>,
  previous: PreviousBuild | undefined,
  processes: Teardown,
): Promise<{ rows: Row[]; idle: IdleRss[] }> {
  const runs = (id: keyof typeof SCENARIOS) => selected.includes(id);
  // --- the processes -------------------------------------------------------------------------
  const fake = await startFakeUpstream(processes);
  const fakeUrl = fake.url;
  const easels = [await startEasel(processes, CURRENT, 'dist-bench/src/main.js', fakeUrl, undefined, EASEL_ENV)];
  if (previous)
    easels.push(await startEasel(processes, previous.label, previous.main, fakeUrl, previous.dir, EASEL_ENV));
  const bare = await startBareProxy(processes, fakeUrl);
  const portkey = withPortkey ? await startPortkey(processes) : undefined;
  const portkeyUrl = portkey?.url ?? '';

  // --- what each is sent -----------------------------------------------------------------------
  const imageContenders = (withUrl: boolean): Contender[] => [
    { name: DIRECT, child: fake.child, request: directImages(fakeUrl) },
    { name: BARE, child: bare.child, request: bareImages(bare.url) },
    ...easels.flatMap((easel) => [
      { name: easel.name, child: easel.child, request: easelImages(easel, 'b64_json') },
      ...(withUrl ? [{ name: asUrl(easel.name), child: easel.child, request: easelImages(easel, 'url') }] : []),
    ]),
    ...(portkey ? [{ name: PORTKEY, child: portkey.child, request: portkeyImages(portkeyUrl, fakeUrl) }] : []),
  ];
  const streamContenders: Contender[] = [
    {
      name: DIRECT,
      child: fake.child,
      request: {
        url: `${fakeUrl}/v1/projects/bench/locations/global/publishers/google/models/gemini-2.5-flash-image:streamGenerateContent?alt=sse`,
        headers: { authorization: `Bearer ${BENCH_VERTEX_TOKEN}` },
        body: JSON.stringify({
          contents: [{ role: 'user', parts: [{ text: PROMPT }] }],
          generationConfig: { responseModalities: ['IMAGE', 'TEXT'] },
        }),
      },
    },
    ...easels.map((easel) => ({
      name: easel.name,
      child: easel.child,
      request: {
        url: `${easel.url}/v1/chat/completions`,
        headers: { authorization: `Bearer ${easel.key}` },
        body: JSON.stringify({
          model: 'vertex/google/gemini-2.5-flash-image',
          stream: true,
          messages: [{ role: 'user', content: PROMPT }],
        }),
      },
    })),
    ...(portkey
      ? [
          {
            name: PORTKEY,
            child: portkey.child,
            request: {
              url: `${portkeyUrl}/v1/chat/completions`,
              headers: {
                authorization: `Bearer ${BENCH_VERTEX_TOKEN}`,
                'x-portkey-provider': 'vertex-ai',
                'x-portkey-custom-host': fakeUrl,
                'x-portkey-vertex-project-id': 'bench',
                'x-portkey-vertex-region': 'global',
              },
              body: JSON.stringify({
                model: 'gemini-2.5-flash-image',
                stream: true,
                messages: [{ role: 'user', content: PROMPT }],
              }),
            },
          },
        ]
      : []),
  ];

  // An edit of a 4 MB PNG, the same bytes sent straight to the fake Azure deployment and through
  // Easel (which needs the model and response_format: fields Azure's form does not take). The
  // build `--against` names may predate edits: only the current code is benched here.
  const photo = runs('edits') ? await noisePng(4 * 1024 * 1024) : Buffer.alloc(0);
  const editContenders: Contender[] = [
    {
      name: DIRECT,
      child: fake.child,
      request: await editRequest(
        `${fakeUrl}/openai/deployments/gpt-image-1.5/images/edits?api-version=2025-04-01-preview`,
        { 'api-key': BENCH_AZURE_KEY },
        [],
        photo,
      ),
    },
    ...(await Promise.all(
      easels
        .filter((easel) => easel.name === CURRENT)
        .map(async (easel) => ({
          name: easel.name,
          child: easel.child,
          request: await editRequest(
            `${easel.url}/v1/images/edits`,
            { authorization: `Bearer ${easel.key}` },
            [
              { name: 'model', value: 'azure/openai/gpt-image-1.5' },
              { name: 'response_format', value: 'b64_json' },
            ],
            photo,
          ),
        })),
    )),
  ];

  // --- the run ---------------------------------------------------------------------------------
  const gateways: Array<{ name: string; child: Child }> = [
    ...easels,
    ...(portkey ? [{ name: PORTKEY, child: portkey.child }] : []),
  ];
  const rssOfGateways = () => gateways.map(({ child }) => rssMb(child.pid));
  const justStarted = rssOfGateways();
  // Idle means settled: V8's memory reducer shrinks the heap some seconds after the last work.
  await sleep(SETTLE_MS);
  const idleAtStart = rssOfGateways();

  const rows: Row[] = [];
  const upstream = async (settings: UpstreamSettings) => {
    const response = await fetch(`${fakeUrl}/__bench`, { method: 'PUT', body: JSON.stringify(settings) });
    if (response.status !== 204) throw new Error(`configuring the fake upstream failed: ${response.status}`);
  };
  /**
   * One scenario: each contender warmed up, then measured in `rounds` turns taken one after the
   * other, so that a machine whose speed drifts during the run (a shared VM) skews none more
   * than another.
   */
  const scenario = async (
    id: keyof typeof SCENARIOS,
    settings: UpstreamSettings,
    contenders: Contender[],
    drive: Drive,
    rounds = ROUNDS,
  ) => {
    if (!runs(id)) return;
    const name = SCENARIOS[id];
    await upstream(settings);
    console.error(`${name}: ${contenders.map((contender) => contender.name).join(', ')}`);
    for (const { request } of contenders) await drive.warmUp(request);
    const measured = contenders.map(() => ({ samples: [] as LoadSample[], cpuSeconds: 0, peakRssMb: 0 }));
    for (let round = 0; round < rounds; round++) {
      for (const [i, contender] of contenders.entries()) {
        await sleep(500);
        const gauge = meter(contender.child.pid);
        const sample = await drive.measure(contender.request);
        const usage = gauge.stop();
        const totals = measured[i]!;
        totals.samples.push(sample);
        totals.cpuSeconds += usage.cpuSeconds;
        totals.peakRssMb = Math.max(totals.peakRssMb, usage.peakRssMb);
      }
    }
    for (const [i, contender] of contenders.entries()) {
      const totals = measured[i]!;
      const result = summarize(totals.samples);
      rows.push({
        scenario: name,
        target: contender.name,
        result,
        peakRssMb: totals.peakRssMb,
        cpuUsPerRequest: result.requests > 0 ? (totals.cpuSeconds * 1e6) / result.requests : Number.NaN,
      });
      console.error(
        `${name} · ${contender.name}: ${result.throughputRps.toFixed(0)} req/s, mean ${result.meanMs.toFixed(2)} ms, p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms, ${result.failures} failed`,
      );
    }
  };
  const autocannon = (connections: number, seconds = SECONDS / ROUNDS): Drive => ({
    warmUp: (request) => load(request, connections, WARMUP_SECONDS),
    measure: (request) => load(request, connections, seconds),
  });

  const small = { imageBase64Bytes: 128, latencyMs: 0 };
  await scenario('small1', small, imageContenders(false), autocannon(1));
  await scenario('small64', small, imageContenders(false), autocannon(64));
  // Before the 4 MB bodies, whose garbage would otherwise be counted as this scenario's memory;
  // one round, since requests still open when a round ends are not counted, and at least
  // OPEN_SECONDS, so that several waves of 2 s requests complete however short the other runs are.
  await scenario(
    'open',
    { imageBase64Bytes: 128, latencyMs: 2000 },
    imageContenders(false),
    autocannon(1000, Math.max(SECONDS, OPEN_SECONDS)),
    1,
  );
  await scenario('large', { imageBase64Bytes: 4 * 1024 * 1024, latencyMs: 0 }, imageContenders(true), autocannon(16));
  await scenario('stream', { imageBase64Bytes: 1024 * 1024, latencyMs: 0 }, streamContenders, {
    warmUp: (request) => timeToFirstByte(request, STREAM_WARMUP),
    measure: (request) => timeToFirstByte(request, STREAMED / ROUNDS),
  });
  await scenario('edits', { imageBase64Bytes: 2 * 1024 * 1024, latencyMs: 0 }, editContenders, autocannon(4));
  await sleep(SETTLE_MS);
  const idleAtEnd = rssOfGateways();
  const idle: IdleRss[] = gateways.map(({ name }, i) => ({
    target: name,
    justStarted: justStarted[i]!,
    idleAtStart: idleAtStart[i]!,
    idleAtEnd: idleAtEnd[i]!,
  }));
  return { rows, idle };
}

/**
 * The bursts: each target started fresh when its turn comes (the current Easel with `b64_json`
 * and with `url`, the `--against` build likewise, Portkey, the bare pass-through reading the
 * upstream's body whole and streaming it), measured alone, stopped before the next.
 */
async function bursts(previous: PreviousBuild | undefined) {
  const fake = await startFakeUpstream(teardown);
  const fakeUrl = fake.url;
  /** A target in a process of its own, whose temp dirs go with it. */
  const fresh = (name: string, start: (own: Teardown) => Promise<Omit<BurstProcess, 'stop'>>): BurstTarget => ({
    name,
    start: async () => {
      const own = new Teardown();
      teardown.defer(`stopping ${name}`, () => own.run());
      try {
        return { ...(await start(own)), stop: () => own.run() };
      } catch (error) {
        await own.run();
        throw error;
      }
    },
  });
  const easel = (name: string, main: string, format: 'b64_json' | 'url', cwd?: string) =>
    fresh(format === 'url' ? asUrl(name) : name, async (own) => {
      const started = await startEasel(own, name, main, fakeUrl, cwd, EASEL_ENV);
      return {
        child: started.child,
        request: easelImages(started, format),
        format,
        usageRecords: (since) => imageRequestsRecorded(started, since),
      };
    });
  const builds = [{ name: CURRENT, main: 'dist-bench/src/main.js', cwd: undefined as string | undefined }];
  if (previous) builds.push({ name: previous.label, main: previous.main, cwd: previous.dir });
  const targets: BurstTarget[] = [
    ...builds.flatMap(({ name, main, cwd }) => [easel(name, main, 'b64_json', cwd), easel(name, main, 'url', cwd)]),
    ...(withPortkey
      ? [
          fresh(PORTKEY, async (own) => {
            const portkey = await startPortkey(own);
            return { child: portkey.child, request: portkeyImages(portkey.url, fakeUrl), format: 'b64_json' };
          }),
        ]
      : []),
    ...[false, true].map((streamed) =>
      fresh(streamed ? BARE_STREAMED : BARE, async (own) => {
        const bare = await startBareProxy(own, fakeUrl);
        return { child: bare.child, request: bareImages(bare.url, streamed), format: 'b64_json' };
      }),
    ),
  ];
  return runBursts(fakeUrl, targets, BURST);
}

/** The `images` requests an Easel's usage records count since `since` (GET /admin/usage). */
async function imageRequestsRecorded(easel: Easel, since: Date): Promise<number> {
  const query = new URLSearchParams({ endpoint: 'images', from: since.toISOString() });
  const response = await fetch(`${easel.url}/admin/usage?${query.toString()}`, {
    headers: { authorization: `Bearer ${easel.adminKey}` },
  });
  if (!response.ok) throw new Error(`${easel.name}: GET /admin/usage answered ${response.status}`);
  return ((await response.json()) as { totals: { requests: number } }).totals.requests;
}

/** A PNG of random pixels (so it does not compress) of about `bytes` bytes. */
async function noisePng(bytes: number): Promise<Buffer> {
  const side = Math.ceil(Math.sqrt(bytes / 3));
  return sharp(randomBytes(side * side * 3), { raw: { width: side, height: side, channels: 3 } })
    .png({ compressionLevel: 1 })
    .toBuffer();
}

/** A multipart edit request: `fields`, a prompt, and `photo` as the one `image`. */
async function editRequest(
  url: string,
  headers: Record<string, string>,
  fields: MultipartField[],
  photo: Buffer,
): Promise<Target> {
  const form = new MultipartBody([
    ...fields,
    { name: 'prompt', value: PROMPT },
    { name: 'image', filename: 'photo.png', contentType: 'image/png', bytes: photo },
  ]);
  const chunks: Buffer[] = [];
  for await (const chunk of form.stream()) chunks.push(chunk as Buffer);
  return { url, headers: { ...headers, 'content-type': form.contentType }, body: Buffer.concat(chunks) };
}
