/**
 * `npm run bench`: direct calls to a fake upstream, a bare pass-through, Easel, and the Portkey
 * gateway, side by side in one run on this machine (SPEC §10). Each runs in a process of its own
 * on loopback, on the Node.js that runs this script; autocannon drives them.
 *
 *   npm run bench -- [--against <tag or commit>] [--no-portkey] [--write]
 *
 * `--against` builds that ref of Easel too and benches it as `easel@<ref>` beside the current code
 * in every scenario Easel runs in; `--no-portkey` (or BENCH_PORTKEY=0) leaves Portkey out;
 * `--write` regenerates the results block of docs/BENCHMARKS.md. BENCH_SECONDS (default 10) sets
 * the length of each measured run; BENCH_CPU_PROF=<dir> writes each Easel's CPU profile
 * (`--cpu-prof`) there when it stops; BENCH_VERBOSE=1 shows the processes' output.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { generateApiKeySecret } from '../src/auth/api-key.secret.js';
import { MultipartBody, type MultipartField } from '../src/providers/multipart-body.js';
import { freePort } from '../test/utils/free-port.js';
import { BENCH_AZURE_KEY, BENCH_VERTEX_TOKEN } from './fake-upstream.js';
import { load, type LoadSample, summarize, type Target, timeToFirstByte } from './load.js';
import { buildPrevious } from './previous-build.js';
import { type Child, meter, rssMb, sleep, startNode, Teardown } from './processes.js';
import {
  asUrl,
  BARE,
  CURRENT,
  DIRECT,
  type IdleRss,
  PORTKEY,
  render,
  type Row,
  SCENARIOS,
  writeResults,
} from './report.js';
import { measureUsageRecording } from './usage-recording.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP_SECONDS = Math.min(3, SECONDS);
const SETTLE_MS = 15_000;
const ROUNDS = 3;
const OPEN_SECONDS = 10;
/** Streamed requests per target, warm-up apart: one after another, in ROUNDS turns. */
const STREAMED = 300;
const STREAM_WARMUP = 30;
const PROMPT = 'A watercolour otter reading a newspaper';
const require = createRequire(import.meta.url);

const USAGE = 'npm run bench -- [--against <tag or commit>] [--no-portkey] [--write]';
const options = (() => {
  try {
    return parseArgs({
      options: {
        against: { type: 'string' },
        'no-portkey': { type: 'boolean', default: false },
        write: { type: 'boolean', default: false },
      },
      strict: true,
    }).values;
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

/** A running Easel build: the current code, or the one `--against` names. */
interface Easel {
  name: string;
  url: string;
  key: string;
  child: Child;
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

  // --- the processes -------------------------------------------------------------------------
  const fakeUrl = `http://127.0.0.1:${await freePort()}`;
  const fake = await startNode(
    'fake upstream',
    ['dist-bench/bench/fake-upstream.js', new URL(fakeUrl).port],
    {},
    async () => (await fetch(`${fakeUrl}/__bench`, { method: 'PUT', body: '{}' })).status === 204,
  );
  teardown.defer('stopping the fake upstream', fake.stop);

  const easels = [await startEasel(CURRENT, 'dist-bench/src/main.js', fakeUrl)];
  if (previous) easels.push(await startEasel(previous.label, previous.main, fakeUrl, previous.dir));

  const bareUrl = `http://127.0.0.1:${await freePort()}`;
  const bare = await startNode(
    'bare proxy',
    ['dist-bench/bench/bare-proxy.js', new URL(bareUrl).port, fakeUrl],
    { AZURE_OPENAI_API_KEY: BENCH_AZURE_KEY },
    ok(bareUrl),
  );
  teardown.defer('stopping the bare proxy', bare.stop);

  const portkeyVersion = withPortkey
    ? (require('@portkey-ai/gateway/package.json') as { version: string }).version
    : undefined;
  const portkeyUrl = `http://127.0.0.1:${await freePort()}`;
  const portkey = withPortkey
    ? await startNode(
        'Portkey',
        [
          require.resolve('@portkey-ai/gateway/build/start-server.js'),
          `--port=${new URL(portkeyUrl).port}`,
          '--headless',
        ],
        { NODE_ENV: 'production' },
        ok(portkeyUrl),
      )
    : undefined;
  if (portkey) teardown.defer('stopping Portkey', portkey.stop);

  // --- what each is sent -----------------------------------------------------------------------
  const imageContenders = (withUrl: boolean): Contender[] => [
    {
      name: DIRECT,
      child: fake,
      request: {
        url: `${fakeUrl}/openai/deployments/gpt-image-1.5/images/generations?api-version=2025-04-01-preview`,
        headers: { 'api-key': BENCH_AZURE_KEY },
        body: JSON.stringify({ model: 'gpt-image-1.5', prompt: PROMPT }),
      },
    },
    {
      name: BARE,
      child: bare,
      request: {
        url: `${bareUrl}/v1/images/generations`,
        headers: {},
        body: JSON.stringify({ model: 'gpt-image-1.5', prompt: PROMPT }),
      },
    },
    ...easels.flatMap((easel) => [
      { name: easel.name, child: easel.child, request: easelImages(easel, 'b64_json') },
      ...(withUrl ? [{ name: asUrl(easel.name), child: easel.child, request: easelImages(easel, 'url') }] : []),
    ]),
    ...(portkey
      ? [
          {
            name: PORTKEY,
            child: portkey,
            request: {
              url: `${portkeyUrl}/v1/images/generations`,
              headers: {
                authorization: `Bearer ${BENCH_AZURE_KEY}`,
                'x-portkey-provider': 'azure-openai',
                'x-portkey-custom-host': `${fakeUrl}/openai`,
                'x-portkey-azure-resource-name': 'bench',
                'x-portkey-azure-deployment-id': 'gpt-image-1.5',
                'x-portkey-azure-api-version': '2025-04-01-preview',
              },
              body: JSON.stringify({ model: 'gpt-image-1.5', prompt: PROMPT }),
            },
          },
        ]
      : []),
  ];

  const streamContenders: Contender[] = [
    {
      name: DIRECT,
      child: fake,
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
            child: portkey,
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
  const photo = await noisePng(4 * 1024 * 1024);
  const editContenders: Contender[] = [
    {
      name: DIRECT,
      child: fake,
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
    ...(portkey ? [{ name: PORTKEY, child: portkey }] : []),
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
    name: string,
    settings: UpstreamSettings,
    contenders: Contender[],
    drive: Drive,
    rounds = ROUNDS,
  ) => {
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
  await scenario(SCENARIOS.small1, small, imageContenders(false), autocannon(1));
  await scenario(SCENARIOS.small64, small, imageContenders(false), autocannon(64));
  // Before the 4 MB bodies, whose garbage would otherwise be counted as this scenario's memory;
  // one round, since requests still open when a round ends are not counted, and at least
  // OPEN_SECONDS, so that several waves of 2 s requests complete however short the other runs are.
  await scenario(
    SCENARIOS.open,
    { imageBase64Bytes: 128, latencyMs: 2000 },
    imageContenders(false),
    autocannon(1000, Math.max(SECONDS, OPEN_SECONDS)),
    1,
  );
  await scenario(
    SCENARIOS.large,
    { imageBase64Bytes: 4 * 1024 * 1024, latencyMs: 0 },
    imageContenders(true),
    autocannon(16),
  );
  await scenario(SCENARIOS.stream, { imageBase64Bytes: 1024 * 1024, latencyMs: 0 }, streamContenders, {
    warmUp: (request) => timeToFirstByte(request, STREAM_WARMUP),
    measure: (request) => timeToFirstByte(request, STREAMED / ROUNDS),
  });
  await scenario(SCENARIOS.edits, { imageBase64Bytes: 2 * 1024 * 1024, latencyMs: 0 }, editContenders, autocannon(4));
  await sleep(SETTLE_MS);
  const idleAtEnd = rssOfGateways();
  const idle: IdleRss[] = gateways.map(({ name }, i) => ({
    target: name,
    justStarted: justStarted[i]!,
    idleAtStart: idleAtStart[i]!,
    idleAtEnd: idleAtEnd[i]!,
  }));

  // The usage-recording measurement runs in this process: the gateways are stopped first.
  await teardown.run();
  const usage = await measureUsageRecording(50_000);
  const report = render({
    rows,
    idle,
    usage,
    previous: previous?.label,
    portkeyVersion,
    seconds: SECONDS,
    warmupSeconds: WARMUP_SECONDS,
    settleSeconds: SETTLE_MS / 1000,
    elapsedSeconds: (Date.now() - started) / 1000,
  });
  console.log(report);
  if (options.write) writeResults('docs/BENCHMARKS.md', report);
}

/** Starts an Easel build as in production, with a data dir and embedded PostgreSQL of its own and one API key. */
async function startEasel(name: string, main: string, fakeUrl: string, cwd?: string): Promise<Easel> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'easel-bench-data-'));
  teardown.defer(`removing ${dataDir}`, () => rmSync(dataDir, { recursive: true, force: true }));
  const adminKey = generateApiKeySecret().key;
  const profile = process.env.BENCH_CPU_PROF;
  const child = await startNode(
    name,
    [...(profile ? ['--cpu-prof', `--cpu-prof-dir=${resolve(profile)}`] : []), resolve(main)],
    {
      HOST: '127.0.0.1',
      PORT: String(port),
      EASEL_DATA_DIR: dataDir,
      ADMIN_API_KEY: adminKey,
      AZURE_OPENAI_ENDPOINT: fakeUrl,
      AZURE_OPENAI_API_KEY: BENCH_AZURE_KEY,
      VERTEX_PROJECT: 'bench',
      VERTEX_BASE_URL: fakeUrl,
      VERTEX_ACCESS_TOKEN: BENCH_VERTEX_TOKEN,
      RATE_LIMIT_RPM: '1000000',
    },
    ok(`${url}/health/ready`),
    cwd,
  );
  teardown.defer(`stopping ${name}`, child.stop);
  const response = await fetch(`${url}/admin/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench', team: 'default' }),
  });
  if (response.status !== 201)
    throw new Error(`${name}: creating the bench key failed: ${response.status} ${await response.text()}`);
  return { name, url, key: ((await response.json()) as { key: string }).key, child };
}

function easelImages(easel: Easel, format: 'b64_json' | 'url'): Target {
  return {
    url: `${easel.url}/v1/images/generations`,
    headers: { authorization: `Bearer ${easel.key}` },
    body: JSON.stringify({ model: 'azure/openai/gpt-image-1.5', prompt: PROMPT, response_format: format }),
  };
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

function ok(url: string) {
  return async () => (await fetch(url)).ok;
}
