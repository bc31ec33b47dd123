/**
 * The processes the bench measures, each started on a loopback port of its own with the Node.js
 * that runs the bench, and stopped by the teardown it is given: the fake upstream, an Easel build,
 * the bare pass-through and Portkey; and the image requests each is sent.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { generateApiKeySecret } from '../src/auth/api-key.secret.js';
import { freePort } from '../test/utils/free-port.js';
import { BENCH_AZURE_KEY, BENCH_VERTEX_TOKEN } from './fake-upstream.js';
import type { Target } from './load.js';
import { type Child, startNode, type Teardown } from './processes.js';

export const PROMPT = 'A watercolour otter reading a newspaper';
const require = createRequire(import.meta.url);

/** A started process and the base URL it answers on. */
export interface Started {
  url: string;
  child: Child;
}

/** A running Easel build: the current code, or the one `--against` names. */
export interface Easel extends Started {
  name: string;
  /** The bench key (team `default`). */
  key: string;
  adminKey: string;
}

export function startFakeUpstream(teardown: Teardown): Promise<Started> {
  return started(teardown, 'fake upstream', async (url) =>
    startNode(
      'fake upstream',
      ['dist-bench/bench/fake-upstream.js', new URL(url).port],
      {},
      async () => (await fetch(`${url}/__bench`, { method: 'PUT', body: '{}' })).status === 204,
    ),
  );
}

export function startBareProxy(teardown: Teardown, fakeUrl: string): Promise<Started> {
  return started(teardown, 'bare proxy', async (url) =>
    startNode(
      'bare proxy',
      ['dist-bench/bench/bare-proxy.js', new URL(url).port, fakeUrl],
      { AZURE_OPENAI_API_KEY: BENCH_AZURE_KEY },
      ok(url),
    ),
  );
}

/** The version of `@portkey-ai/gateway` installed. */
export function portkeyVersion(): string {
  return (require('@portkey-ai/gateway/package.json') as { version: string }).version;
}

export function startPortkey(teardown: Teardown): Promise<Started> {
  return started(teardown, 'Portkey', async (url) =>
    startNode(
      'Portkey',
      [require.resolve('@portkey-ai/gateway/build/start-server.js'), `--port=${new URL(url).port}`, '--headless'],
      { NODE_ENV: 'production' },
      ok(url),
    ),
  );
}

/**
 * Starts an Easel build as in production, with a data dir and embedded PostgreSQL of its own and
 * one API key; `env` is added to (or overrides) the bench's settings.
 */
export async function startEasel(
  teardown: Teardown,
  name: string,
  main: string,
  fakeUrl: string,
  cwd?: string,
  env: Record<string, string> = {},
): Promise<Easel> {
  const dataDir = mkdtempSync(join(tmpdir(), 'easel-bench-data-'));
  teardown.defer(`removing ${dataDir}`, () => rmSync(dataDir, { recursive: true, force: true }));
  const adminKey = generateApiKeySecret().key;
  const profile = process.env.BENCH_CPU_PROF;
  const { url, child } = await started(teardown, name, async (url) =>
    startNode(
      name,
      // As `npm start` and the image run it (--expose-gc: AfterBurstCollector; glibc's mmap
      // threshold below).
      ['--expose-gc', ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${resolve(profile)}`] : []), resolve(main)],
      {
        HOST: '127.0.0.1',
        PORT: new URL(url).port,
        PUBLIC_BASE_URL: url,
        EASEL_DATA_DIR: dataDir,
        ADMIN_API_KEY: adminKey,
        AZURE_OPENAI_ENDPOINT: fakeUrl,
        AZURE_OPENAI_API_KEY: BENCH_AZURE_KEY,
        VERTEX_PROJECT: 'bench',
        VERTEX_BASE_URL: fakeUrl,
        VERTEX_ACCESS_TOKEN: BENCH_VERTEX_TOKEN,
        RATE_LIMIT_RPM: '1000000',
        MALLOC_MMAP_THRESHOLD_: '16384',
        ...env,
      },
      ok(`${url}/health/ready`),
      cwd,
    ),
  );
  const response = await fetch(`${url}/admin/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench', team: 'default' }),
  });
  if (response.status !== 201)
    throw new Error(`${name}: creating the bench key failed: ${response.status} ${await response.text()}`);
  return { name, url, key: ((await response.json()) as { key: string }).key, adminKey, child };
}

/** `images/generations` sent straight to the fake Azure deployment. */
export function directImages(fakeUrl: string): Target {
  return {
    url: `${fakeUrl}/openai/deployments/gpt-image-1.5/images/generations?api-version=2025-04-01-preview`,
    headers: { 'api-key': BENCH_AZURE_KEY },
    body: JSON.stringify({ model: 'gpt-image-1.5', prompt: PROMPT }),
  };
}

/** The bare pass-through's route: the one that reads the upstream's body whole, or the one that streams it. */
export function bareImages(bareUrl: string, streamed = false): Target {
  return {
    url: `${bareUrl}${streamed ? '/streamed' : ''}/v1/images/generations`,
    headers: {},
    body: JSON.stringify({ model: 'gpt-image-1.5', prompt: PROMPT }),
  };
}

export function easelImages(easel: Easel, format: 'b64_json' | 'url'): Target {
  return {
    url: `${easel.url}/v1/images/generations`,
    headers: { authorization: `Bearer ${easel.key}` },
    body: JSON.stringify({ model: 'azure/openai/gpt-image-1.5', prompt: PROMPT, response_format: format }),
  };
}

export function portkeyImages(portkeyUrl: string, fakeUrl: string): Target {
  return {
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
  };
}

/** Starts `name` on a free loopback port; `teardown` stops it. */
async function started(teardown: Teardown, name: string, start: (url: string) => Promise<Child>): Promise<Started> {
  const url = `http://127.0.0.1:${await freePort()}`;
  const child = await start(url);
  teardown.defer(`stopping ${name}`, child.stop);
  return { url, child };
}

function ok(url: string) {
  return async () => (await fetch(url)).ok;
}
