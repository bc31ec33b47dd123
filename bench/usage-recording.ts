/**
 * What recording usage costs a request: building the row (with the prompt hash), journaling and queueing it,
 * timed call by call, and the CPU this process spends on everything including the batched
 * INSERTs into PostgreSQL (a throwaway embedded one unless DATABASE_URL is set).
 * Run alone: node dist-bench/bench/usage-recording.js [records]
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { BudgetSpendRepository } from '../src/budgets/budget-spend.repository.js';
import { BudgetsService } from '../src/budgets/budgets.service.js';
import { AppConfig } from '../src/config/app.config.js';
import { startEmbeddedPostgres } from '../src/database/embedded-postgres.js';
import { runMigrationsExclusively } from '../src/database/migration-runner.js';
import { buildDataSourceOptions } from '../src/database/typeorm.options.js';
import { TeamEntity } from '../src/teams/team.entity.js';
import { TeamsService } from '../src/teams/teams.service.js';
import { UsageRecorder, type UsageRecordRow } from '../src/usage/usage.recorder.js';
import { UsageRecordEntity } from '../src/usage/usage-record.entity.js';
import { UsageRecordWriter } from '../src/usage/usage-record.writer.js';
import { percentile } from './load.js';

export interface UsageRecordingResult {
  records: number;
  stored: number;
  queueP50Us: number;
  queueP99Us: number;
  /** This process's CPU per record for all of it: rows, hashes, queue, batched INSERTs. */
  cpuUsPerRecord: number;
  recordsPerSecond: number;
}

function row(run: string, i: number): UsageRecordRow {
  const prompt = `a watercolour otter number ${i}`;
  return {
    id: randomUUID(),
    createdAt: new Date().toISOString(),
    requestId: `bench-${run}-${i}`,
    apiKeyId: null,
    team: 'default',
    endpoint: 'images',
    model: 'azure/openai/gpt-image-1.5',
    servedModel: 'azure/openai/gpt-image-1.5',
    provider: 'azure-openai',
    route: 'default',
    status: 'success',
    httpStatus: 200,
    errorCode: null,
    latencyMs: 12,
    upstreamLatencyMs: 10,
    images: 1,
    inputImages: 0,
    inputImageBytes: 0,
    size: '1024x1024',
    quality: 'low',
    inputTextTokens: 10,
    inputImageTokens: 0,
    cachedInputTokens: 0,
    outputTextTokens: 0,
    outputImageTokens: 272,
    inputTokens: 10,
    outputTokens: 272,
    costUsd: '0.010930000000',
    priceVersion: 1,
    user: null,
    promptSha256: createHash('sha256').update(prompt).digest('hex'),
    promptLength: prompt.length,
    promptText: null,
  };
}

export async function measureUsageRecording(total: number): Promise<UsageRecordingResult> {
  const dataDir = mkdtempSync(join(tmpdir(), 'easel-bench-usage-'));
  const embedded = process.env.DATABASE_URL ? undefined : await startEmbeddedPostgres({ dataDir, database: 'easel' });
  const dataSource = await new DataSource(
    buildDataSourceOptions(process.env.DATABASE_URL ?? embedded!.url),
  ).initialize();
  try {
    await runMigrationsExclusively(dataSource);
    const budgets = new BudgetsService(
      new BudgetSpendRepository(dataSource),
      new TeamsService(dataSource.getRepository(TeamEntity)),
    );
    const writer = new UsageRecordWriter(dataSource.getRepository(UsageRecordEntity), budgets);
    const recorder = new UsageRecorder(writer, AppConfig.fromEnv({ EASEL_DATA_DIR: dataDir }));

    // Each run's records are its own (left in place: with DATABASE_URL they are usage like any other).
    const run = randomUUID().slice(0, 8);
    const calls: number[] = [];
    const cpu = process.cpuUsage();
    const wallStart = performance.now();
    for (let i = 0; i < total; i++) {
      const before = performance.now();
      recorder.record(row(run, i));
      calls.push((performance.now() - before) * 1000);
      // Let batches go out as they would between requests.
      if (i % 1000 === 999) await new Promise((resolve) => setImmediate(resolve));
    }
    while (recorder.queueDepth > 0) await recorder.flush();
    await recorder.flush();
    const wallS = (performance.now() - wallStart) / 1000;
    const used = process.cpuUsage(cpu);
    const [count] = await dataSource.query<Array<{ n: string }>>(
      'SELECT count(*) AS n FROM usage_records WHERE request_id LIKE $1',
      [`bench-${run}-%`],
    );
    const stored = Number(count!.n);
    calls.sort((a, b) => a - b);
    return {
      records: total,
      stored,
      queueP50Us: percentile(calls, 50),
      queueP99Us: percentile(calls, 99),
      cpuUsPerRecord: (used.user + used.system) / total,
      recordsPerSecond: Math.round(total / wallS),
    };
  } finally {
    await dataSource.destroy();
    await embedded?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith('usage-recording.js')) {
  console.log(await measureUsageRecording(Number(process.argv[2] ?? 50_000)));
}
