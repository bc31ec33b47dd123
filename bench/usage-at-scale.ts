/**
 * `npm run bench:usage`: the usage reports and the usage writer on a large `usage_records` (fill
 * it first: `npm run seed:usage -- --records 10000000`). Starts Easel (this build) on that
 * database and times, one request at a time after a warm-up, last month's `/admin/usage` by team
 * and by day, this month's so far, and pages of `/admin/usage/records` with filters; then inserts
 * `--writer-records` records (200,000) through `UsageRecordWriter` from `--writers` concurrent
 * writers (2, as two instances would), batches of 1,000 as the recorder sends them, and reports
 * records/s into the partitioned table (rollups included). Those records stay (request ids
 * `bench-writer-`).
 *
 * Against DATABASE_URL, or else the embedded PostgreSQL of EASEL_DATA_DIR (./.easel).
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DataSource } from 'typeorm';
import { generateApiKeySecret } from '../src/auth/api-key.secret.js';
import { BudgetSpendRepository } from '../src/budgets/budget-spend.repository.js';
import { BudgetsService } from '../src/budgets/budgets.service.js';
import { AppConfig } from '../src/config/app.config.js';
import { type EmbeddedPostgresHandle, startEmbeddedPostgres } from '../src/database/embedded-postgres.js';
import { buildDataSourceOptions } from '../src/database/typeorm.options.js';
import { TeamEntity } from '../src/teams/team.entity.js';
import { TeamsService } from '../src/teams/teams.service.js';
import type { UsageRecordRow } from '../src/usage/usage.recorder.js';
import { monthStart } from '../src/usage/usage-partitions.js';
import { UsageRecordEntity } from '../src/usage/usage-record.entity.js';
import { UsageRecordWriter } from '../src/usage/usage-record.writer.js';
import { freePort } from '../test/utils/free-port.js';
import { percentile } from './load.js';
import { startNode } from './processes.js';

const USAGE = 'npm run bench:usage -- [--requests N] [--writer-records N] [--writers N]';
const BATCH = 1_000;
const WARMUP = 5;

function options(): { requests: number; writerRecords: number; writers: number } {
  const { values } = parseArgs({
    options: {
      requests: { type: 'string', default: '50' },
      'writer-records': { type: 'string', default: '200000' },
      writers: { type: 'string', default: '2' },
    },
    strict: true,
  });
  const parsed = {
    requests: Number(values.requests),
    writerRecords: Number(values['writer-records']),
    writers: Number(values.writers),
  };
  for (const [name, value] of Object.entries(parsed)) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a whole number ≥ 1`);
  }
  return parsed;
}

interface Timing {
  name: string;
  p50: number;
  p99: number;
  detail: string;
}

/** `requests` GETs one after another after a warm-up; milliseconds to the whole body. */
async function time(name: string, url: string, adminKey: string, requests: number): Promise<Timing> {
  const samples: number[] = [];
  let detail = '';
  for (let i = 0; i < WARMUP + requests; i++) {
    const started = performance.now();
    const response = await fetch(url, { headers: { authorization: `Bearer ${adminKey}` } });
    const body = (await response.json()) as { rows?: unknown[]; data?: unknown[]; totals?: { requests: number } };
    const elapsed = performance.now() - started;
    if (response.status !== 200) throw new Error(`${name}: ${response.status} ${JSON.stringify(body)}`);
    if (i >= WARMUP) samples.push(elapsed);
    detail = body.rows
      ? `${body.rows.length} rows, ${body.totals!.requests.toLocaleString('en')} requests`
      : `${body.data!.length} records`;
  }
  samples.sort((a, b) => a - b);
  return { name, p50: percentile(samples, 50), p99: percentile(samples, 99), detail };
}

function writerRow(i: number, keys: readonly string[]): UsageRecordRow {
  const prompt = `bench writer ${i}`;
  return {
    id: randomUUID(),
    createdAt: new Date().toISOString(),
    requestId: `bench-writer-${i}`,
    apiKeyId: keys[i % keys.length]!,
    team: `team-${String(i % 7).padStart(3, '0')}`,
    endpoint: 'images',
    model: 'azure/openai/gpt-image-1.5',
    servedModel: 'azure/openai/gpt-image-1.5',
    provider: 'azure-openai',
    route: 'default',
    status: i % 31 === 0 ? 'error' : 'success',
    httpStatus: i % 31 === 0 ? 502 : 200,
    errorCode: i % 31 === 0 ? 'upstream_error' : null,
    latencyMs: 900,
    upstreamLatencyMs: 880,
    images: 1,
    inputImages: 0,
    inputImageBytes: 0,
    size: '1024x1024',
    quality: 'medium',
    inputTextTokens: 12,
    inputImageTokens: 0,
    cachedInputTokens: 0,
    outputTextTokens: 0,
    outputImageTokens: 1056,
    inputTokens: 12,
    outputTokens: 1056,
    costUsd: '0.034060000000',
    priceVersion: 1,
    user: null,
    promptSha256: createHash('sha256').update(prompt).digest('hex'),
    promptLength: prompt.length,
    promptText: null,
  };
}

/** `writers` writers, each inserting batches of BATCH one after another, as instances' recorders do. */
async function measureWriter(url: string, total: number, writers: number): Promise<number> {
  const dataSource = await new DataSource(buildDataSourceOptions(url)).initialize();
  try {
    const budgets = new BudgetsService(
      new BudgetSpendRepository(dataSource),
      new TeamsService(dataSource.getRepository(TeamEntity)),
    );
    const writer = new UsageRecordWriter(dataSource.getRepository(UsageRecordEntity), budgets);
    const keys = Array.from({ length: 50 }, () => randomUUID());
    const batches = Array.from({ length: Math.ceil(total / BATCH) }, (_, batch) =>
      Array.from({ length: Math.min(BATCH, total - batch * BATCH) }, (_, i) => writerRow(batch * BATCH + i, keys)),
    );
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: writers }, async () => {
        while (next < batches.length) await writer.insert(batches[next++]!);
      }),
    );
    return Math.round(total / ((performance.now() - started) / 1000));
  } finally {
    await dataSource.destroy();
  }
}

async function main(): Promise<void> {
  let settings: ReturnType<typeof options>;
  try {
    settings = options();
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\nusage: ${USAGE}`);
    process.exit(2);
  }
  const config = AppConfig.fromEnv(process.env);
  let embedded: EmbeddedPostgresHandle | undefined;
  if (!config.database.url) embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, database: 'easel' });
  const databaseUrl = config.database.url ?? embedded!.url;
  const dataDir = mkdtempSync(join(tmpdir(), 'easel-bench-usage-'));
  try {
    const probe = await new DataSource(buildDataSourceOptions(databaseUrl)).initialize();
    const [{ records }] = (await probe.query('SELECT count(*)::bigint AS records FROM usage_records')) as Array<{
      records: string;
    }>;
    const now = new Date();
    const from = monthStart(now, -1);
    const to = monthStart(now);
    // The busiest team and its busiest model last month: the filters of the records pages.
    const [busiest] = (await probe.query(
      `SELECT team, model FROM usage_daily_rollups WHERE day >= $1 AND day < $2
        GROUP BY team, model ORDER BY sum(requests) DESC LIMIT 1`,
      [from.toISOString().slice(0, 10), to.toISOString().slice(0, 10)],
    )) as Array<{ team: string; model: string }>;
    await probe.destroy();
    if (!busiest) throw new Error('no usage last month: run npm run seed:usage first');

    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const adminKey = generateApiKeySecret().key;
    const easel = await startNode(
      'easel',
      [resolve('dist-bench/src/main.js')],
      {
        HOST: '127.0.0.1',
        PORT: String(port),
        DATABASE_URL: databaseUrl,
        EASEL_DATA_DIR: dataDir,
        ADMIN_API_KEY: adminKey,
      },
      async () => (await fetch(`${base}/health/ready`)).ok,
    );
    const timings: Timing[] = [];
    try {
      const month = `from=${from.toISOString()}&to=${to.toISOString()}`;
      const team = encodeURIComponent(busiest.team);
      const model = encodeURIComponent(busiest.model);
      const n = settings.requests;
      timings.push(await time('last month, group_by=team', `${base}/admin/usage?${month}&group_by=team`, adminKey, n));
      timings.push(await time('last month, group_by=day', `${base}/admin/usage?${month}&group_by=day`, adminKey, n));
      timings.push(
        await time(
          'last month, one team, group_by=api_key',
          `${base}/admin/usage?${month}&team=${team}&group_by=api_key`,
          adminKey,
          n,
        ),
      );
      timings.push(await time('this month so far (default), group_by=model', `${base}/admin/usage`, adminKey, n));
      const records = `${base}/admin/usage/records?${month}&limit=100`;
      timings.push(await time('records page, no filter', records, adminKey, n));
      timings.push(await time('records page, team filter', `${records}&team=${team}`, adminKey, n));
      timings.push(
        await time('records page, team and model filters', `${records}&team=${team}&model=${model}`, adminKey, n),
      );
      const first = (await (
        await fetch(`${records}&team=${team}`, { headers: { authorization: `Bearer ${adminKey}` } })
      ).json()) as { next_cursor: string };
      timings.push(
        await time(
          'records page 2 (cursor), team filter',
          `${records}&team=${team}&cursor=${first.next_cursor}`,
          adminKey,
          n,
        ),
      );
    } finally {
      await easel.stop();
    }
    const perSecond = await measureWriter(databaseUrl, settings.writerRecords, settings.writers);

    console.log(
      `\nusage_records: ${Number(records).toLocaleString('en')} records; filters: team ${busiest.team}, model ${busiest.model}; ${settings.requests} requests each after ${WARMUP} warm-up, one at a time\n`,
    );
    console.log('| request | p50 ms | p99 ms | answer |');
    console.log('| --- | ---: | ---: | --- |');
    for (const timing of timings) {
      console.log(`| ${timing.name} | ${timing.p50.toFixed(1)} | ${timing.p99.toFixed(1)} | ${timing.detail} |`);
    }
    console.log(
      `\nWriter: ${settings.writerRecords.toLocaleString('en')} records from ${settings.writers} concurrent writers in batches of ${BATCH}: ${perSecond.toLocaleString('en')} records/s (partitioned table, rollups in the same statement)`,
    );
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
    await embedded?.stop();
  }
}

await main();
