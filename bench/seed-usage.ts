/**
 * `npm run seed:usage -- --records 10000000`: fills `usage_records` with synthetic usage for the
 * scale benchmark (docs/BENCHMARKS.md, `npm run bench:usage`), through COPY: spread evenly over the
 * last `--months` UTC months up to now (13 by default), `--keys` API keys (400) in `--teams` teams
 * (120), each key with its own few models, some keys far busier than others, 3 % errors. Then it
 * adds the records to `usage_daily_rollups`, in the same transaction, and ANALYZEs. Request ids
 * are `seed-<run>-<n>`, so a second run adds its own records and sums only those.
 *
 * Into DATABASE_URL, or else the embedded PostgreSQL of EASEL_DATA_DIR (./.easel) as `npm start`
 * uses it (stop Easel first). Migrations run first, as the app runs them.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { DataSource } from 'typeorm';
import { AppConfig } from '../src/config/app.config.js';
import { type EmbeddedPostgresHandle, startEmbeddedPostgres } from '../src/database/embedded-postgres.js';
import { runMigrationsExclusively } from '../src/database/migration-runner.js';
import { withSchemaLock } from '../src/database/schema-lock.js';
import { buildDataSourceOptions } from '../src/database/typeorm.options.js';
import { ensureUsagePartitions, monthStart } from '../src/usage/usage-partitions.js';

const USAGE = 'npm run seed:usage -- [--records N] [--months M] [--keys K] [--teams T] [--seed S]';

interface SeedOptions {
  records: number;
  months: number;
  keys: number;
  teams: number;
  seed: number;
}

interface Model {
  id: string;
  provider: string;
  endpoints: string[];
  /** Cost of one image in nano-USD (exact integers; written as a 12-decimal string). */
  nanoUsdPerImage: number;
  outputTokensPerImage: number;
}

const MODELS: Model[] = [
  {
    id: 'azure/openai/gpt-image-1.5',
    provider: 'azure-openai',
    endpoints: ['images', 'images.edits'],
    nanoUsdPerImage: 34_000_000,
    outputTokensPerImage: 1056,
  },
  {
    id: 'azure/openai/gpt-image-2',
    provider: 'azure-openai',
    endpoints: ['images', 'images.edits'],
    nanoUsdPerImage: 41_000_000,
    outputTokensPerImage: 1196,
  },
  {
    id: 'openai/openai/gpt-image-2',
    provider: 'openai',
    endpoints: ['images', 'images.edits'],
    nanoUsdPerImage: 34_000_000,
    outputTokensPerImage: 1056,
  },
  {
    id: 'vertex/google/gemini-3-pro-image',
    provider: 'vertex',
    endpoints: ['images', 'chat'],
    nanoUsdPerImage: 67_000_000,
    outputTokensPerImage: 1120,
  },
  {
    id: 'vertex/google/gemini-3.1-flash-lite-image',
    provider: 'vertex',
    endpoints: ['images', 'chat'],
    nanoUsdPerImage: 39_000_000,
    outputTokensPerImage: 1290,
  },
  {
    id: 'gemini/google/gemini-3.1-flash-lite-image',
    provider: 'gemini',
    endpoints: ['images', 'chat'],
    nanoUsdPerImage: 67_000_000,
    outputTokensPerImage: 1120,
  },
  {
    id: 'local/easel/sketch',
    provider: 'local',
    endpoints: ['images', 'images.edits', 'chat'],
    nanoUsdPerImage: 0,
    outputTokensPerImage: 0,
  },
];

const COLUMNS = [
  'id',
  'created_at',
  'request_id',
  'api_key_id',
  'team',
  'endpoint',
  'model',
  'served_model',
  'provider',
  'route',
  'status',
  'http_status',
  'error_code',
  'latency_ms',
  'upstream_latency_ms',
  'images',
  'size',
  'quality',
  'input_text_tokens',
  'output_image_tokens',
  'input_tokens',
  'output_tokens',
  'cost_usd',
  'price_version',
  'prompt_sha256',
  'prompt_length',
];

/** mulberry32: a small, fast, seeded PRNG, so a seed gives the same data every time. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function parseOptions(): SeedOptions {
  const count = (value: string | undefined, fallback: number, name: string, max: number): number => {
    if (value === undefined) return fallback;
    if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) {
      throw new Error(`--${name} must be a whole number from 1 to ${max} (got "${value}")`);
    }
    return Number(value);
  };
  const { values } = parseArgs({
    options: {
      records: { type: 'string' },
      months: { type: 'string' },
      keys: { type: 'string' },
      teams: { type: 'string' },
      seed: { type: 'string' },
    },
    strict: true,
  });
  return {
    records: count(values.records, 1_000_000, 'records', 1_000_000_000),
    months: count(values.months, 13, 'months', 120),
    keys: count(values.keys, 400, 'keys', 100_000),
    teams: count(values.teams, 120, 'teams', 100_000),
    seed: count(values.seed, 1, 'seed', 2 ** 31),
  };
}

/** USD with 12 decimals from a whole number of nano-USD: exact, no float arithmetic on money. */
function usd(nano: number): string {
  return `${Math.floor(nano / 1e9)}.${String(nano % 1e9).padStart(9, '0')}000`;
}

/** The records as COPY text, in time order, `rows` at a time. */
function* recordChunks(options: SeedOptions, run: string, from: Date, to: Date, rows = 5_000): Generator<string> {
  const random = prng(options.seed);
  const keys = Array.from({ length: options.keys }, (_, index) => {
    const models = Array.from(
      { length: 1 + Math.floor(random() * 3) },
      () => MODELS[Math.floor(random() * MODELS.length)]!,
    );
    return { id: randomUUID(), team: `team-${String(index % options.teams).padStart(3, '0')}`, models };
  });
  // Busier keys first: key k gets a share proportional to 1 / (k + 10).
  const weights = keys.map((_, index) => 1 / (index + 10));
  const cumulative: number[] = [];
  weights.reduce((sum, weight, index) => (cumulative[index] = sum + weight), 0);
  const totalWeight = cumulative.at(-1)!;
  const pickKey = () => {
    const target = random() * totalWeight;
    let low = 0;
    let high = cumulative.length - 1;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (cumulative[middle]! < target) low = middle + 1;
      else high = middle;
    }
    return keys[low]!;
  };
  const hashes = Array.from({ length: 997 }, () => randomUUID().replaceAll('-', '') + randomUUID().replaceAll('-', ''));
  const span = to.getTime() - from.getTime();
  let chunk = '';
  for (let i = 0; i < options.records; i++) {
    const createdAt = new Date(from.getTime() + Math.floor((span * (i + random())) / options.records));
    const key = pickKey();
    const model = key.models[i % key.models.length]!;
    const endpoint = model.endpoints[Math.floor(random() * model.endpoints.length)]!;
    const failed = random() < 0.03;
    const images = failed ? 0 : 1 + Math.floor(random() * 4);
    const inputTokens = 20 + Math.floor(random() * 200);
    const outputTokens = images * model.outputTokensPerImage;
    const cost = images * model.nanoUsdPerImage + (model.nanoUsdPerImage > 0 ? inputTokens * 5_000 : 0);
    const latency = 800 + Math.floor(random() * 20_000);
    chunk += [
      randomUUID(),
      createdAt.toISOString(),
      `seed-${run}-${i}`,
      key.id,
      key.team,
      endpoint,
      model.id,
      model.id,
      model.provider,
      'default',
      failed ? 'error' : 'success',
      failed ? 502 : 200,
      failed ? 'upstream_error' : '\\N',
      latency,
      latency - 12,
      images,
      '1024x1024',
      'medium',
      inputTokens,
      outputTokens,
      inputTokens,
      outputTokens,
      usd(failed ? 0 : cost),
      1,
      hashes[i % hashes.length],
      40 + (i % 300),
    ].join('\t');
    chunk += '\n';
    if (i % rows === rows - 1) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}

async function seed(url: string, options: SeedOptions): Promise<void> {
  const now = new Date();
  const from = monthStart(now, -(options.months - 1));
  const dataSource = await new DataSource(buildDataSourceOptions(url)).initialize();
  try {
    await runMigrationsExclusively(dataSource);
    const months = Array.from({ length: options.months }, (_, index) => monthStart(from, index));
    await withSchemaLock(dataSource, (runner) => ensureUsagePartitions(runner, months));
  } finally {
    await dataSource.destroy();
  }

  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const started = performance.now();
    // One transaction: the records and their rollups appear together, or not at all.
    await client.query('BEGIN');
    const run = randomUUID().slice(0, 8);
    const copy = client.query(copyFrom(`COPY usage_records (${COLUMNS.join(', ')}) FROM STDIN`));
    let written = 0;
    for (const chunk of recordChunks(options, run, from, now)) {
      if (!copy.write(chunk)) await once(copy, 'drain');
      written += 5_000;
      if (written % 1_000_000 === 0) process.stdout.write(`  ${written.toLocaleString('en')} records\n`);
    }
    copy.end();
    await once(copy, 'finish');
    const copied = performance.now();
    console.log(
      `COPY: ${options.records.toLocaleString('en')} records in ${((copied - started) / 1000).toFixed(1)} s (${Math.round(options.records / ((copied - started) / 1000)).toLocaleString('en')} records/s)`,
    );
    const rolled = await client.query(
      `INSERT INTO usage_daily_rollups AS u
       SELECT (created_at AT TIME ZONE 'UTC')::date, api_key_id, team, endpoint, model, provider, status,
              count(*), sum(images), sum(input_tokens), sum(output_tokens), sum(cost_usd)
         FROM usage_records WHERE created_at >= $1 AND created_at <= $2 AND request_id LIKE $3
        GROUP BY 1, 2, 3, 4, 5, 6, 7
       ON CONFLICT (day, api_key_id, team, endpoint, model, provider, status) DO UPDATE SET
         requests = u.requests + EXCLUDED.requests, images = u.images + EXCLUDED.images,
         input_tokens = u.input_tokens + EXCLUDED.input_tokens, output_tokens = u.output_tokens + EXCLUDED.output_tokens,
         cost_usd = u.cost_usd + EXCLUDED.cost_usd`,
      [from, now, `seed-${run}-%`],
    );
    await client.query('COMMIT');
    await client.query('ANALYZE usage_records');
    await client.query('ANALYZE usage_daily_rollups');
    console.log(
      `Rollups: ${rolled.rowCount?.toLocaleString('en')} rows; all done in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    await client.end();
  }
}

async function main(): Promise<void> {
  let options: SeedOptions;
  try {
    options = parseOptions();
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\nusage: ${USAGE}`);
    process.exit(2);
  }
  const config = AppConfig.fromEnv(process.env);
  let embedded: EmbeddedPostgresHandle | undefined;
  if (!config.database.url) {
    embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, database: 'easel' });
  }
  try {
    console.log(
      `Seeding ${options.records.toLocaleString('en')} usage records over ${options.months} months, ${options.keys} keys, ${options.teams} teams into ${config.database.url ? 'DATABASE_URL' : `the embedded PostgreSQL of ${config.dataDir}`}`,
    );
    await seed(config.database.url ?? embedded!.url, options);
  } finally {
    await embedded?.stop();
  }
}

await main();
