/**
 * How fast the usage writer stores records into PostgreSQL, and what queuing one costs a request.
 * Run: DATABASE_URL=postgres://… npx tsx bench/usage-writer.bench.ts [records]
 * (without DATABASE_URL it starts an embedded PostgreSQL in a temp dir).
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { AppConfig } from '../src/config/app.config.js';
import { startEmbeddedPostgres } from '../src/database/embedded-postgres.js';
import { runMigrationsExclusively } from '../src/database/migration-runner.js';
import { buildDataSourceOptions } from '../src/database/typeorm.options.js';
import { UsageRecordEntity } from '../src/usage/usage-record.entity.js';
import { UsageRecorder, type UsageRecordRow } from '../src/usage/usage.recorder.js';

const total = Number(process.argv[2] ?? 50_000);
const dataDir = mkdtempSync(join(tmpdir(), 'easel-bench-usage-'));
const embedded = process.env.DATABASE_URL ? undefined : await startEmbeddedPostgres({ dataDir, database: 'easel' });
const url = process.env.DATABASE_URL ?? embedded!.url;
const dataSource = await new DataSource(buildDataSourceOptions(url)).initialize();
await runMigrationsExclusively(dataSource);
await dataSource.query('DELETE FROM usage_records');

const config = AppConfig.fromEnv({ EASEL_DATA_DIR: dataDir });
const recorder = new UsageRecorder(dataSource.getRepository(UsageRecordEntity), config);

function row(i: number): UsageRecordRow {
  const prompt = `a watercolour otter number ${i}`;
  return {
    id: randomUUID(), createdAt: new Date().toISOString(), requestId: `bench-${i}`, apiKeyId: null, team: 'default',
    endpoint: 'images', model: 'azure/openai/gpt-image-1', provider: 'azure-openai', route: 'default', status: 'success',
    httpStatus: 200, errorCode: null, latencyMs: 12, upstreamLatencyMs: 10, images: 1, size: '1024x1024', quality: 'low',
    inputTextTokens: 10, inputImageTokens: 0, cachedInputTokens: 0, outputTextTokens: 0, outputImageTokens: 272,
    inputTokens: 10, outputTokens: 272, costUsd: '0.010930000000', priceVersion: 1, user: null,
    promptSha256: createHash('sha256').update(prompt).digest('hex'), promptLength: prompt.length, promptText: null,
  };
}

// What a request pays: build its row (with the prompt hash) and queue it.
const queueStart = process.hrtime.bigint();
for (let i = 0; i < total; i++) recorder.record(row(i));
const queueNs = Number(process.hrtime.bigint() - queueStart);

const flushStart = process.hrtime.bigint();
await recorder.flush();
while (recorder.queueDepth > 0) await recorder.flush();
const flushMs = Number(process.hrtime.bigint() - flushStart) / 1e6;
const stored = Number((await dataSource.query('SELECT count(*) AS n FROM usage_records'))[0].n);

console.log(`records: ${total} (stored ${stored})`);
console.log(`queueing (row build + sha256 + push): ${(queueNs / total / 1000).toFixed(2)} µs per request`);
console.log(`writer into PostgreSQL: ${Math.round(total / (flushMs / 1000))} records/s (${flushMs.toFixed(0)} ms for ${total})`);

await dataSource.destroy();
await embedded?.stop();
rmSync(dataDir, { recursive: true, force: true });
