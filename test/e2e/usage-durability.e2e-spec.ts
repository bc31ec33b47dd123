import { randomUUID } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { generateApiKeySecret } from '../../src/auth/api-key.secret.js';
import { parseUsd, toNumericString } from '../../src/common/money/usd.js';
import { type EmbeddedPostgresHandle, startEmbeddedPostgres } from '../../src/database/embedded-postgres.js';
import { SPOOL_STALL_MS, UsageRecorder, type UsageRecordRow } from '../../src/usage/usage.recorder.js';
import { createApiKey } from '../factories/api-key.factory.js';
import { imageRequest } from '../factories/request-body.factory.js';
import { createTeam } from '../factories/team.factory.js';
import { FakeAzureOpenAiServer } from '../fakes/fake-azure-openai.server.js';
import { type ServerProcess, startServerProcess } from '../utils/server-process.js';
import { createTestApp, type TestApp } from '../utils/test-app.js';
import { createTestDatabase } from '../utils/test-database.js';
import { AZURE_KEY } from '../utils/upstream-apps.js';
import { waitFor } from '../utils/wait-for.js';

const LOCAL = imageRequest();

/** A usage record as the HTTP hook makes one (for records written straight to the recorder). */
function usageRow(requestId: string, overrides: Partial<UsageRecordRow> = {}): UsageRecordRow {
  return {
    id: randomUUID(),
    createdAt: new Date().toISOString(),
    requestId,
    apiKeyId: null,
    team: 'default',
    endpoint: 'images',
    model: 'local/easel/sketch',
    servedModel: 'local/easel/sketch',
    provider: 'local',
    route: 'local',
    status: 'success',
    httpStatus: 200,
    errorCode: null,
    latencyMs: 5,
    upstreamLatencyMs: 4,
    images: 1,
    inputImages: 0,
    inputImageBytes: 0,
    size: '256x256',
    quality: 'low',
    inputTextTokens: 0,
    inputImageTokens: 0,
    cachedInputTokens: 0,
    outputTextTokens: 0,
    outputImageTokens: 0,
    inputTokens: 0,
    outputTokens: 0,
    costUsd: '0.000000000000',
    priceVersion: null,
    user: null,
    promptSha256: null,
    promptLength: null,
    promptText: null,
    ...overrides,
  };
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

async function metric(sut: TestApp, line: RegExp): Promise<number> {
  const text = await (await sut.http('/metrics')).text();
  const match = new RegExp(`^${line.source} (\\S+)$`, 'm').exec(text);
  return match ? Number(match[1]) : 0;
}

async function readDeadLetters(dataDir: string): Promise<Array<Record<string, unknown>>> {
  const text = await readFile(join(dataDir, 'usage-spool', 'rejected.ndjson'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

async function spoolFiles(dataDir: string): Promise<string[]> {
  return (await readdir(join(dataDir, 'usage-spool')).catch(() => [] as string[])).filter(
    (name) => name !== 'rejected.ndjson',
  );
}

describe('Usage records that PostgreSQL refuses', () => {
  let sut: TestApp;
  const logs: string[] = [];
  const logged = (text: string) => logs.filter((line) => line.includes(text));

  beforeAll(async () => {
    sut = await createTestApp({ logs });
  });

  afterAll(() => sut.close());

  it('stores every other record of a batch that has NUL bytes in its text, the NUL bytes removed', async () => {
    await createTeam(sut, { name: 'neighbours' });
    const { key } = await createApiKey(sut);
    const { key: neighbour } = await createApiKey(sut, { team: 'neighbours' });
    const send = (apiKey: string, id: string, body: object) =>
      sut.http('/v1/images/generations', {
        key: apiKey,
        body: { ...LOCAL, prompt: id, ...body },
        headers: { 'x-request-id': id },
      });

    // At once, so the records share a batch.
    const responses = await Promise.all([
      ...Array.from({ length: 6 }, (_, i) => send(neighbour, `nul-neighbour-${i}`, {})),
      send(key, 'nul-user', { user: '\u0000' }),
      send(key, 'nul-model', { model: 'local/\u0000sketch' }),
      send(key, 'nul-surrogate', { user: 'half \uD800 a pair' }),
    ]);
    expect(responses.slice(0, 6).map((response) => response.status)).toEqual(Array(6).fill(200));

    const rows = await waitFor(
      () =>
        query<{ request_id: string; team: string; model: string | null; user: string | null }>(
          sut.database.url,
          `SELECT request_id, team, model, "user" FROM usage_records WHERE request_id LIKE 'nul-%' ORDER BY request_id`,
        ),
      (found) => found.length === 9,
    );
    expect(rows.filter((row) => row.team === 'neighbours')).toHaveLength(6);
    for (const row of rows) {
      expect(row.model ?? '').not.toContain('\u0000');
      expect(row.user ?? '').not.toContain('\u0000');
    }
    expect(rows.find((row) => row.request_id === 'nul-model')!.model ?? 'local/sketch').toBe('local/sketch');
    expect(await spoolFiles(sut.dataDir)).toEqual([]);
  });

  it('moves a record PostgreSQL can never store to the dead-letter file, with a log line and a metric, and stores the rest of its batch', async () => {
    const recorder = sut.app.get(UsageRecorder);
    const rejectedBefore = await metric(sut, /easel_usage_records_rejected_total\{reason="refused"\}/);

    recorder.record(usageRow('dead-letter-before'));
    recorder.record(usageRow('dead-letter-overflow', { costUsd: '123456789.5' })); // numeric(20,12) holds 8 integer digits
    recorder.record(usageRow('dead-letter-after'));

    const rows = await waitFor(
      () =>
        query<{ request_id: string }>(
          sut.database.url,
          `SELECT request_id FROM usage_records WHERE request_id LIKE 'dead-letter-%' ORDER BY request_id`,
        ),
      (found) => found.length === 2,
    );
    expect(rows.map((row) => row.request_id)).toEqual(['dead-letter-after', 'dead-letter-before']);
    const letters = await waitFor(
      () => readDeadLetters(sut.dataDir),
      (found) => found.some((letter) => JSON.stringify(letter).includes('dead-letter-overflow')),
    );
    expect(letters).toContainEqual(
      expect.objectContaining({
        reason: 'refused',
        detail: expect.stringContaining('22003'),
        record: expect.objectContaining({ requestId: 'dead-letter-overflow', costUsd: '123456789.5' }),
      }),
    );
    expect(await metric(sut, /easel_usage_records_rejected_total\{reason="refused"\}/)).toBe(rejectedBefore + 1);
    expect(logged('dead-letter-overflow')).toEqual([expect.stringContaining('rejected.ndjson')]);
    expect(await spoolFiles(sut.dataDir)).toEqual([]);
    expect(await metric(sut, /easel_usage_spool_bytes/)).toBe(0);
  });

  it('spools records while PostgreSQL refuses them for another reason, shows the spool ageing, and replays it once it can', async () => {
    const { key } = await createApiKey(sut);
    const recorder = sut.app.get(UsageRecorder);
    await query(sut.database.url, 'ALTER TABLE usage_records RENAME TO usage_records_away');
    try {
      expect(
        (
          await sut.http('/v1/images/generations', {
            key,
            body: { ...LOCAL, prompt: 'away' },
            headers: { 'x-request-id': 'table-away' },
          })
        ).status,
      ).toBe(200);
      await waitFor(
        () => spoolFiles(sut.dataDir),
        (files) => files.length > 0,
      );
      // Two replays or more have failed: PostgreSQL answers, and the spool does not shrink.
      await waitFor(
        async () => recorder.spoolStalledMs(),
        (stalled) => stalled > 4_500,
      );
      expect(await metric(sut, /easel_usage_spool_oldest_record_age_seconds/)).toBeGreaterThan(1);
      expect(await metric(sut, /easel_usage_spool_bytes/)).toBeGreaterThan(0);
      expect(logged('Usage spool replay failed')).toEqual([expect.stringContaining('usage_records')]); // once, not every 2 s
      // Not yet a minute: still ready; past it, not ready.
      expect((await sut.http('/health/ready')).status).toBe(200);
      expect(recorder.spoolStalledMs(Date.now() + SPOOL_STALL_MS)).toBeGreaterThan(SPOOL_STALL_MS);
    } finally {
      await query(sut.database.url, 'ALTER TABLE usage_records_away RENAME TO usage_records');
    }
    await waitFor(
      () => query(sut.database.url, `SELECT 1 FROM usage_records WHERE request_id = 'table-away'`),
      (rows) => rows.length === 1,
    );
    await waitFor(
      () => metric(sut, /easel_usage_spool_oldest_record_age_seconds/),
      (age) => age === 0,
    );
    expect(recorder.spoolStalledMs()).toBe(0);
  });
});

describe('A usage spool torn by a crash', () => {
  it('replays its whole records at start and moves the torn and garbage lines to the dead-letter file', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'easel-torn-'));
    await mkdir(join(dataDir, 'usage-spool'));
    const lines = [
      JSON.stringify(usageRow('torn-1')),
      '\u0000\u0000\u0000garbage',
      JSON.stringify(usageRow('torn-2')),
      JSON.stringify(usageRow('torn-3')).slice(0, 57),
    ];
    // The file an earlier version appended to: a crash tore its last line.
    await writeFile(join(dataDir, 'usage-spool', 'spool.ndjson'), lines.join('\n'));

    const sut = await createTestApp({ dataDir });
    try {
      const rows = await waitFor(
        () =>
          query<{ request_id: string }>(
            sut.database.url,
            `SELECT request_id FROM usage_records WHERE request_id LIKE 'torn-%' ORDER BY request_id`,
          ),
        (found) => found.length === 2,
      );
      expect(rows.map((row) => row.request_id)).toEqual(['torn-1', 'torn-2']);
      const letters = await waitFor(
        () => readDeadLetters(dataDir),
        (found) => found.length === 2,
      );
      expect(letters).toEqual([
        expect.objectContaining({ reason: 'unparseable', line: lines[1] }),
        expect.objectContaining({ reason: 'unparseable', line: lines[3] }),
      ]);
      expect(await metric(sut, /easel_usage_records_rejected_total\{reason="unparseable"\}/)).toBe(2);
      expect(await spoolFiles(dataDir)).toEqual([]);
    } finally {
      await sut.close();
    }
  });
});

/**
 * PostgreSQL goes away while a request with a budget runs: its reservation is settled once it is
 * back, exactly once. This test runs its own PostgreSQL server, since it stops it.
 */
describe('A budget reservation whose request ends while PostgreSQL is away', () => {
  let dir: string;
  let server: EmbeddedPostgresHandle;
  let azure: FakeAzureOpenAiServer;
  let sut: TestApp;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'easel-settle-'));
    server = await startEmbeddedPostgres({ dataDir: dir, database: 'easel' });
    azure = await new FakeAzureOpenAiServer({ apiKey: AZURE_KEY, deployments: ['gpt-image-1.5'] }).start();
    sut = await createTestApp({
      database: { url: server.url, drop: async () => undefined },
      env: { AZURE_OPENAI_ENDPOINT: azure.baseUrl, AZURE_OPENAI_API_KEY: AZURE_KEY },
    });
  });

  afterAll(async () => {
    await sut?.close();
    await azure?.stop();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('settles it once PostgreSQL is back: spent is the actual cost, nothing stays reserved, and a replay does not settle it twice', async () => {
    const { key, id } = await createApiKey(sut, { monthly_budget_usd: '1' });
    const spend = () =>
      query<{ spent: string; reserved: string }>(
        sut.database.url,
        `SELECT spent, reserved FROM budget_spend WHERE scope = $1`,
        [`key:${id}`],
      );
    azure.responseDelayMs = 1_500;

    const answer = sut.http('/v1/images/generations', {
      key,
      body: {
        model: 'azure/openai/gpt-image-1.5',
        prompt: 'settle later',
        size: '1024x1024',
        quality: 'low',
        response_format: 'b64_json',
      },
      headers: { 'x-request-id': 'settle-later' },
    });
    const [reserved] = await waitFor(spend, (rows) => rows[0] !== undefined && rows[0].reserved !== '0.000000000000');
    expect(reserved!.spent).toBe('0.000000000000');
    await server.stop();
    const response = await answer;
    expect(response.status).toBe(200);
    const cost = toNumericString(parseUsd(response.headers.get('x-easel-cost-usd')!));
    expect(cost).not.toBe('0.000000000000');

    const spoolDir = join(sut.dataDir, 'usage-spool');
    const [spooled] = await waitFor(
      async () => {
        const files = await spoolFiles(sut.dataDir);
        return Promise.all(files.map(async (file) => ({ file, text: await readFile(join(spoolDir, file), 'utf8') })));
      },
      (files) => files.some((file) => file.text.includes('settle-later')),
    );
    // PostgreSQL cannot be reached: not the spool's fault, readiness reports the database only.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(sut.app.get(UsageRecorder).spoolStalledMs()).toBeLessThan(2_500);
    const copy = join(dir, 'spooled-again.ndjson');
    await copyFile(join(spoolDir, spooled!.file), copy);
    await server.start();

    expect(await waitFor(spend, (rows) => rows[0]?.reserved === '0.000000000000', 20_000)).toEqual([
      { spent: cost, reserved: '0.000000000000' },
    ]);

    // The same record replayed again (a crash before its spool file was deleted): no second settlement.
    await copyFile(copy, join(spoolDir, 'spool-1-1-1.ndjson'));
    await waitFor(
      () => spoolFiles(sut.dataDir),
      (files) => files.length === 0,
      20_000,
    );
    expect(await spend()).toEqual([{ spent: cost, reserved: '0.000000000000' }]);
    expect(
      await query(sut.database.url, `SELECT status, cost_usd FROM usage_records WHERE request_id = 'settle-later'`),
    ).toEqual([{ status: 'success', cost_usd: cost }]);
  }, 90_000);
});

/**
 * The process is killed (SIGKILL: the OOM killer, a node drained past its grace period) while it
 * serves traffic, at a moment when PostgreSQL is slow to take usage records (a lock held on the
 * table), so records of answered requests are still waiting to be written. Started as its own
 * process, restarted on the same data dir and database.
 */
describe('Easel killed (SIGKILL) mid-traffic', () => {
  const TOTAL = 200;
  const CONCURRENCY = 8;
  const SLOW_AFTER = 40;
  const KILL_AFTER = 80;

  it('has exactly one usage record, after a restart, of every request that got its 200', async () => {
    const database = await createTestDatabase();
    const dataDir = await mkdtemp(join(tmpdir(), 'easel-sigkill-'));
    const adminKey = generateApiKeySecret().key;
    const env = {
      DATABASE_URL: database.url,
      EASEL_DATA_DIR: dataDir,
      ADMIN_API_KEY: adminKey,
      LOG_LEVEL: 'warn',
      RATE_LIMIT_RPM: '100000',
    };
    const locker = new pg.Client({ connectionString: database.url });
    let server: ServerProcess | undefined;
    try {
      server = await startServerProcess(env, 120_000);
      const created = await fetch(`${server.baseUrl}/admin/keys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'sigkill', team: 'default' }),
      });
      const { key } = (await created.json()) as { key: string };
      await locker.connect();

      const answered: string[] = [];
      const killed = server;
      let next = 0;
      let gate: Promise<unknown> = Promise.resolve();
      const send = async (i: number): Promise<void> => {
        const id = `sigkill-${i}`;
        // Every fifth an event stream (recorded right before its last byte), the others plain JSON.
        const stream = i % 5 === 4;
        try {
          const response = await fetch(`${killed.baseUrl}/v1/images/generations`, {
            method: 'POST',
            headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'x-request-id': id },
            body: JSON.stringify(
              stream
                ? { model: LOCAL.model, size: LOCAL.size, prompt: `kill ${i}`, stream: true }
                : { ...LOCAL, prompt: `kill ${i}` },
            ),
          });
          const body = await response.text(); // throws when the process dies before the response is complete
          if (response.status === 200 && body.includes(stream ? 'image_generation.completed' : '"b64_json"'))
            answered.push(id);
        } catch {
          return; // no complete answer: not counted
        }
        if (answered.length === SLOW_AFTER)
          gate = locker.query('BEGIN').then(() => locker.query('LOCK TABLE usage_records IN ACCESS EXCLUSIVE MODE'));
        if (answered.length === KILL_AFTER) killed.child.kill('SIGKILL');
      };
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < TOTAL) {
            await gate;
            await send(next++);
          }
        }),
      );
      expect(answered.length).toBeGreaterThanOrEqual(KILL_AFTER); // else it was never killed
      expect(await killed.exited).toEqual({ code: null, signal: 'SIGKILL' });
      await locker.query('ROLLBACK');

      server = await startServerProcess(env, 120_000);
      const counts = async () =>
        new Map(
          (
            await query<{ request_id: string; n: string }>(
              database.url,
              `SELECT request_id, count(*) AS n FROM usage_records WHERE request_id LIKE 'sigkill-%' GROUP BY request_id`,
            )
          ).map((row) => [row.request_id, Number(row.n)]),
        );
      await waitFor(counts, (found) => answered.every((id) => found.has(id)), 30_000).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 2_500)); // one more replay round: nothing may come twice
      const found = await counts();
      console.info(
        `SIGKILL after ${answered.length} complete 200s of ${TOTAL} sent: ${found.size} usage records after the restart ` +
          `(${answered.filter((id) => found.has(id)).length} of the answered requests), ${[...found.values()].filter((n) => n > 1).length} twice`,
      );

      expect(answered.filter((id) => found.get(id) !== 1)).toEqual([]);
      expect([...found].filter(([, n]) => n !== 1)).toEqual([]);
    } finally {
      if (server && server.child.exitCode === null && server.child.signalCode === null) {
        server.child.kill('SIGTERM');
        await server.exited;
      }
      await locker.end().catch(() => undefined);
      await database.drop();
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 300_000);
});
