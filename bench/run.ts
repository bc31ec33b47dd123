/**
 * `npm run bench`: direct calls to a fake upstream, Easel, and the Portkey gateway, side by side in
 * one run on this machine (SPEC §10). Each runs in a process of its own on loopback; autocannon
 * drives them. `--write` regenerates the results block of docs/BENCHMARKS.md.
 * BENCH_SECONDS (default 10) sets the length of each measured run; BENCH_CPU_PROF=<dir> writes
 * Easel's CPU profile (`--cpu-prof`) there when it stops.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { generateApiKeySecret } from '../src/auth/api-key.secret.js';
import { freePort } from '../test/utils/free-port.js';
import { BENCH_AZURE_KEY, BENCH_VERTEX_TOKEN } from './fake-upstream.js';
import { load, type LoadResult, type LoadSample, summarize, type Target, timeToFirstByte } from './load.js';
import { type Child, meter, rssMb, sleep, startNode } from './processes.js';
import { measureUsageRecording, type UsageRecordingResult } from './usage-recording.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP_SECONDS = Math.min(3, SECONDS);
const SETTLE_MS = 15_000;
const ROUNDS = 3;
const PROMPT = 'A watercolour otter reading a newspaper';
const require = createRequire(import.meta.url);
const PORTKEY_VERSION = (require('@portkey-ai/gateway/package.json') as { version: string }).version;

type TargetName = 'direct' | 'bare proxy' | 'easel' | 'easel (url)' | 'portkey';

interface Row {
  scenario: string;
  target: TargetName;
  result: LoadResult;
  peakRssMb: number;
  cpuUsPerRequest: number;
}

const ok = (url: string) => async () => (await fetch(url)).ok;

// --- the three processes ---------------------------------------------------------------------
const fakePort = await freePort();
const fakeUrl = `http://127.0.0.1:${fakePort}`;
const fake = await startNode('fake upstream', ['dist-bench/bench/fake-upstream.js', String(fakePort)], {}, async () => {
  const response = await fetch(`${fakeUrl}/__bench`, { method: 'PUT', body: '{}' });
  return response.status === 204;
});

const easelPort = await freePort();
const easelUrl = `http://127.0.0.1:${easelPort}`;
const easelData = mkdtempSync(join(tmpdir(), 'easel-bench-'));
const adminKey = generateApiKeySecret().key;
const easel = await startNode(
  'Easel',
  [
    ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []),
    'dist-bench/src/main.js',
  ],
  {
    HOST: '127.0.0.1',
    PORT: String(easelPort),
    EASEL_DATA_DIR: easelData,
    ADMIN_API_KEY: adminKey,
    AZURE_OPENAI_ENDPOINT: fakeUrl,
    AZURE_OPENAI_API_KEY: BENCH_AZURE_KEY,
    VERTEX_PROJECT: 'bench',
    VERTEX_BASE_URL: fakeUrl,
    VERTEX_ACCESS_TOKEN: BENCH_VERTEX_TOKEN,
    RATE_LIMIT_RPM: '1000000',
  },
  ok(`${easelUrl}/health/ready`),
);
const easelKey = await createEaselKey();

const bareProxyPort = await freePort();
const bareProxyUrl = `http://127.0.0.1:${bareProxyPort}`;
const bareProxy = await startNode(
  'bare proxy',
  ['dist-bench/bench/bare-proxy.js', String(bareProxyPort), fakeUrl],
  { AZURE_OPENAI_API_KEY: BENCH_AZURE_KEY },
  ok(bareProxyUrl),
);

const portkeyPort = await freePort();
const portkeyUrl = `http://127.0.0.1:${portkeyPort}`;
const portkey = await startNode(
  'Portkey',
  [require.resolve('@portkey-ai/gateway/build/start-server.js'), `--port=${portkeyPort}`, '--headless'],
  { NODE_ENV: 'production' },
  ok(portkeyUrl),
);

async function createEaselKey(): Promise<string> {
  const response = await fetch(`${easelUrl}/admin/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench', team: 'default' }),
  });
  if (response.status !== 201)
    throw new Error(`creating the bench key failed: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { key: string }).key;
}

// --- what each target is sent ---------------------------------------------------------------
const imageTargets: Record<TargetName, Target> = {
  direct: {
    url: `${fakeUrl}/openai/deployments/gpt-image-1/images/generations?api-version=2025-04-01-preview`,
    headers: { 'api-key': BENCH_AZURE_KEY },
    body: JSON.stringify({ model: 'gpt-image-1', prompt: PROMPT }),
  },
  'bare proxy': {
    url: `${bareProxyUrl}/v1/images/generations`,
    headers: {},
    body: JSON.stringify({ model: 'gpt-image-1', prompt: PROMPT }),
  },
  easel: {
    url: `${easelUrl}/v1/images/generations`,
    headers: { authorization: `Bearer ${easelKey}` },
    body: JSON.stringify({ model: 'azure/openai/gpt-image-1', prompt: PROMPT, response_format: 'b64_json' }),
  },
  'easel (url)': {
    url: `${easelUrl}/v1/images/generations`,
    headers: { authorization: `Bearer ${easelKey}` },
    body: JSON.stringify({ model: 'azure/openai/gpt-image-1', prompt: PROMPT, response_format: 'url' }),
  },
  portkey: {
    url: `${portkeyUrl}/v1/images/generations`,
    headers: {
      authorization: `Bearer ${BENCH_AZURE_KEY}`,
      'x-portkey-provider': 'azure-openai',
      'x-portkey-custom-host': `${fakeUrl}/openai`,
      'x-portkey-azure-resource-name': 'bench',
      'x-portkey-azure-deployment-id': 'gpt-image-1',
      'x-portkey-azure-api-version': '2025-04-01-preview',
    },
    body: JSON.stringify({ model: 'gpt-image-1', prompt: PROMPT }),
  },
};

const streamTargets: Partial<Record<TargetName, Target>> = {
  direct: {
    url: `${fakeUrl}/v1/projects/bench/locations/global/publishers/google/models/gemini-2.5-flash-image:streamGenerateContent?alt=sse`,
    headers: { authorization: `Bearer ${BENCH_VERTEX_TOKEN}` },
    body: JSON.stringify({
      contents: [{ role: 'user', parts: [{ text: PROMPT }] }],
      generationConfig: { responseModalities: ['IMAGE', 'TEXT'] },
    }),
  },
  easel: {
    url: `${easelUrl}/v1/chat/completions`,
    headers: { authorization: `Bearer ${easelKey}` },
    body: JSON.stringify({
      model: 'vertex/google/gemini-2.5-flash-image',
      stream: true,
      messages: [{ role: 'user', content: PROMPT }],
    }),
  },
  portkey: {
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
};

const processOf: Record<TargetName, Child> = {
  direct: fake,
  'bare proxy': bareProxy,
  easel,
  'easel (url)': easel,
  portkey,
};

async function upstream(settings: { imageBase64Bytes: number; latencyMs: number }): Promise<void> {
  const response = await fetch(`${fakeUrl}/__bench`, { method: 'PUT', body: JSON.stringify(settings) });
  if (response.status !== 204) throw new Error(`configuring the fake upstream failed: ${response.status}`);
}

const rows: Row[] = [];

/**
 * One scenario: each target warmed up, then measured in `rounds` turns taken one target after
 * the other, so that a machine whose speed drifts during the run (a shared VM) skews no target
 * more than another.
 */
async function scenario(
  name: string,
  settings: { imageBase64Bytes: number; latencyMs: number },
  connections: number,
  targets: TargetName[],
  rounds = ROUNDS,
): Promise<void> {
  await upstream(settings);
  for (const target of targets) await load(imageTargets[target], connections, WARMUP_SECONDS);
  const measured = new Map(
    targets.map((target) => [target, { samples: [] as LoadSample[], cpuSeconds: 0, peakRssMb: 0 }]),
  );
  for (let round = 0; round < rounds; round++) {
    for (const target of targets) {
      await sleep(500);
      const gauge = meter(processOf[target].pid);
      const sample = await load(imageTargets[target], connections, SECONDS / rounds);
      const usage = gauge.stop();
      const totals = measured.get(target)!;
      totals.samples.push(sample);
      totals.cpuSeconds += usage.cpuSeconds;
      totals.peakRssMb = Math.max(totals.peakRssMb, usage.peakRssMb);
    }
  }
  for (const [target, totals] of measured) {
    const result = summarize(totals.samples);
    rows.push({
      scenario: name,
      target,
      result,
      peakRssMb: totals.peakRssMb,
      cpuUsPerRequest: (totals.cpuSeconds * 1e6) / Math.max(1, result.requests),
    });
    console.error(
      `${name} · ${target}: ${result.throughputRps.toFixed(0)} req/s, p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms, ${result.failures} failed`,
    );
  }
}

async function streamingScenario(name: string, count: number): Promise<void> {
  await upstream({ imageBase64Bytes: 1024 * 1024, latencyMs: 0 });
  for (const [target, request] of Object.entries(streamTargets) as [TargetName, Target][]) {
    const gauge = meter(processOf[target].pid);
    const result = await timeToFirstByte(request, count, 30);
    const usage = gauge.stop();
    rows.push({
      scenario: name,
      target,
      result,
      peakRssMb: usage.peakRssMb,
      cpuUsPerRequest: (usage.cpuSeconds * 1e6) / Math.max(1, result.requests + 30),
    });
    console.error(
      `${name} · ${target}: p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms, ${result.failures} failed`,
    );
  }
}

// --- the run ---------------------------------------------------------------------------------
const started = Date.now();
const justStarted = { easel: rssMb(easel.pid), portkey: rssMb(portkey.pid) };
// Idle means settled: V8's memory reducer shrinks the heap some seconds after the last work.
await sleep(SETTLE_MS);
const idleAtStart = { easel: rssMb(easel.pid), portkey: rssMb(portkey.pid) };
const SMALL = { imageBase64Bytes: 128, latencyMs: 0 };
const LARGE = { imageBase64Bytes: 4 * 1024 * 1024, latencyMs: 0 };
await scenario('small, 1 connection', SMALL, 1, ['direct', 'bare proxy', 'easel', 'portkey']);
await scenario('small, 64 connections', SMALL, 64, ['direct', 'bare proxy', 'easel', 'portkey']);
// Before the 4 MB bodies, whose garbage would otherwise be counted as this scenario's memory;
// one round, since requests still open when a round ends are not counted.
await scenario(
  '1,000 open requests, upstream 2 s',
  { imageBase64Bytes: 128, latencyMs: 2000 },
  1000,
  ['direct', 'bare proxy', 'easel', 'portkey'],
  1,
);
await scenario('4 MB base64, 16 connections', LARGE, 16, ['direct', 'bare proxy', 'easel', 'easel (url)', 'portkey']);
await streamingScenario('chat stream, time to first byte', 300);
await sleep(SETTLE_MS);
const idleAtEnd = { easel: rssMb(easel.pid), portkey: rssMb(portkey.pid) };

await portkey.stop();
await bareProxy.stop();
await easel.stop();
await fake.stop();
rmSync(easelData, { recursive: true, force: true });

const usageRecording = await measureUsageRecording(50_000);
const report = render(rows, { justStarted, idleAtStart, idleAtEnd }, usageRecording, (Date.now() - started) / 1000);
console.log(report);
if (process.argv.includes('--write')) writeResults('docs/BENCHMARKS.md', report);

// --- the report ------------------------------------------------------------------------------
function render(
  all: Row[],
  idle: Record<'justStarted' | 'idleAtStart' | 'idleAtEnd', Record<'easel' | 'portkey', number>>,
  usage: UsageRecordingResult,
  elapsedS: number,
): string {
  const ms = (value: number) => (Number.isNaN(value) ? '—' : value.toFixed(2));
  const find = (scenarioName: string, target: TargetName) =>
    all.find((row) => row.scenario === scenarioName && row.target === target);
  const lines = [
    `Run ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC · ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'} · ${Math.round(totalmem() / 2 ** 30)} GiB · Node.js ${process.version} · Portkey ${PORTKEY_VERSION} · ${SECONDS} s per run after a ${WARMUP_SECONDS} s warm-up · the whole run took ${Math.round(elapsedS)} s`,
    '',
    '| scenario | target | req/s | p50 ms | p99 ms | added p50 ms | added p99 ms | × direct req/s | peak RSS MB | CPU µs/req | failed |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const row of all) {
    const direct = find(row.scenario, 'direct')!;
    const isDirect = row.target === 'direct';
    const streaming = row.scenario.startsWith('chat stream');
    lines.push(
      `| ${row.scenario} | ${row.target} | ${streaming ? '—' : row.result.throughputRps.toFixed(0)} | ${ms(row.result.p50Ms)} | ${ms(row.result.p99Ms)} | ${isDirect ? '' : ms(row.result.p50Ms - direct.result.p50Ms)} | ${isDirect ? '' : ms(row.result.p99Ms - direct.result.p99Ms)} | ${isDirect || streaming ? '' : (row.result.throughputRps / direct.result.throughputRps).toFixed(2)} | ${row.peakRssMb.toFixed(0)} | ${row.cpuUsPerRequest.toFixed(0)} | ${row.result.failures} |`,
    );
  }
  lines.push(
    '',
    `RSS when ready / idle ${SETTLE_MS / 1000} s later / idle ${SETTLE_MS / 1000} s after the run: Easel ${idle.justStarted.easel.toFixed(0)} / ${idle.idleAtStart.easel.toFixed(0)} / ${idle.idleAtEnd.easel.toFixed(0)} MB; Portkey ${idle.justStarted.portkey.toFixed(0)} / ${idle.idleAtStart.portkey.toFixed(0)} / ${idle.idleAtEnd.portkey.toFixed(0)} MB.`,
    `Usage recording (${usage.records.toLocaleString('en')} records, in process): building and queueing a record p50 ${usage.queueP50Us.toFixed(1)} µs, p99 ${usage.queueP99Us.toFixed(1)} µs; all of it, batched INSERTs included, costs this process ${usage.cpuUsPerRecord.toFixed(1)} µs of CPU per record (${usage.recordsPerSecond.toLocaleString('en')} records/s into PostgreSQL, ${usage.stored.toLocaleString('en')} stored). It happens after the response is sent.`,
  );
  const c1 = { easel: find('small, 1 connection', 'easel')!, direct: find('small, 1 connection', 'direct')! };
  const c64 = {
    easel: find('small, 64 connections', 'easel')!,
    direct: find('small, 64 connections', 'direct')!,
    portkey: find('small, 64 connections', 'portkey')!,
  };
  const large = {
    b64: find('4 MB base64, 16 connections', 'easel')!,
    url: find('4 MB base64, 16 connections', 'easel (url)')!,
    direct: find('4 MB base64, 16 connections', 'direct')!,
  };
  const open = find('1,000 open requests, upstream 2 s', 'easel')!;
  const targets: Array<[string, string, boolean]> = [
    [
      'small, 1 connection: added p50 ≤ 0.5 ms',
      ms(c1.easel.result.p50Ms - c1.direct.result.p50Ms),
      c1.easel.result.p50Ms - c1.direct.result.p50Ms <= 0.5,
    ],
    [
      'small, 1 connection: added p99 ≤ 2 ms',
      ms(c1.easel.result.p99Ms - c1.direct.result.p99Ms),
      c1.easel.result.p99Ms - c1.direct.result.p99Ms <= 2,
    ],
    [
      'small, 64 connections: ≥ 3× Portkey req/s',
      `${(c64.easel.result.throughputRps / c64.portkey.result.throughputRps).toFixed(2)}×`,
      c64.easel.result.throughputRps >= 3 * c64.portkey.result.throughputRps,
    ],
    [
      'small, 64 connections: ≥ 0.5× direct req/s',
      `${(c64.easel.result.throughputRps / c64.direct.result.throughputRps).toFixed(2)}×`,
      c64.easel.result.throughputRps >= 0.5 * c64.direct.result.throughputRps,
    ],
    [
      '4 MB b64_json: ≥ 0.7× direct req/s',
      `${(large.b64.result.throughputRps / large.direct.result.throughputRps).toFixed(2)}×`,
      large.b64.result.throughputRps >= 0.7 * large.direct.result.throughputRps,
    ],
    [
      '4 MB url: ≥ 0.5× direct req/s',
      `${(large.url.result.throughputRps / large.direct.result.throughputRps).toFixed(2)}×`,
      large.url.result.throughputRps >= 0.5 * large.direct.result.throughputRps,
    ],
    [
      'RSS idle ≤ 150 MB',
      `${Math.max(idle.idleAtStart.easel, idle.idleAtEnd.easel).toFixed(0)} MB`,
      Math.max(idle.idleAtStart.easel, idle.idleAtEnd.easel) <= 150,
    ],
    ['RSS with 1,000 slow requests in flight ≤ 400 MB', `${open.peakRssMb.toFixed(0)} MB`, open.peakRssMb <= 400],
    [
      'usage recording adds ≤ 0.1 ms p50',
      `${(usage.cpuUsPerRecord / 1000).toFixed(3)} ms`,
      usage.cpuUsPerRecord <= 100,
    ],
  ];
  lines.push(
    '',
    '| target | measured | met |',
    '|---|---:|:---:|',
    ...targets.map(([what, value, met]) => `| ${what} | ${value} | ${met ? 'yes' : '**no**'} |`),
  );
  return lines.join('\n');
}

function writeResults(file: string, report: string): void {
  const text = readFileSync(file, 'utf8');
  const start = '<!-- bench:results:start -->';
  const end = '<!-- bench:results:end -->';
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`${file} has no ${start} … ${end} block`);
  writeFileSync(file, `${text.slice(0, from + start.length)}\n${report}\n${text.slice(to)}`);
  console.error(`wrote the results into ${file}`);
}
