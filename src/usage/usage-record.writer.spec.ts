import { randomUUID } from 'node:crypto';
import { useMigratedDataSource } from '../../test/utils/migrated-data-source.js';
import { BudgetSpendRepository } from '../budgets/budget-spend.repository.js';
import { BudgetsService, monthOf } from '../budgets/budgets.service.js';
import { TeamEntity } from '../teams/team.entity.js';
import { TeamsService } from '../teams/teams.service.js';
import type { UsageRecordRow } from './usage.recorder.js';
import { UsageRecordEntity } from './usage-record.entity.js';
import { isDataError, UsageRecordWriter } from './usage-record.writer.js';

/** A failed chat request's record: the fewest fields a test has to think about. */
function failedChat(overrides: Partial<UsageRecordRow> = {}): UsageRecordRow {
  return {
    id: randomUUID(),
    createdAt: new Date().toISOString(),
    requestId: `writer-${randomUUID()}`,
    team: 'default',
    apiKeyId: null,
    endpoint: 'chat',
    model: null,
    servedModel: null,
    provider: null,
    route: null,
    status: 'error',
    httpStatus: 502,
    errorCode: 'upstream_error',
    latencyMs: 3,
    upstreamLatencyMs: null,
    images: 0,
    inputImages: 0,
    inputImageBytes: 0,
    size: null,
    quality: null,
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

/** The usage_records insert on a real PostgreSQL: each record once, its reservation settled with it. */
describe(UsageRecordWriter.name, () => {
  const database = useMigratedDataSource();
  let spend: BudgetSpendRepository;
  let sut: UsageRecordWriter;

  beforeAll(() => {
    const { dataSource } = database;
    spend = new BudgetSpendRepository(dataSource);
    const budgets = new BudgetsService(spend, new TeamsService(dataSource.getRepository(TeamEntity)));
    sut = new UsageRecordWriter(dataSource.getRepository(UsageRecordEntity), budgets);
  });

  const stored = (rows: UsageRecordRow[]) =>
    database.dataSource.getRepository(UsageRecordEntity).countBy(rows.map(({ id }) => ({ id })));

  it('stores a record written twice once', async () => {
    const rows = [failedChat(), failedChat(), failedChat()];

    await sut.insert(rows);
    await sut.insert([...rows, failedChat()].reverse());

    await expect(stored(rows)).resolves.toBe(3);
  });

  it('stores every field as it was recorded: exact cost, text with quotes and emoji, the time to the microsecond', async () => {
    const row = failedChat({
      createdAt: '2026-12-03T08:01:02.345Z',
      apiKeyId: randomUUID(),
      endpoint: 'images',
      model: 'azure/openai/gpt-image-1',
      provider: 'azure-openai',
      route: 'primary',
      status: 'success',
      httpStatus: 200,
      errorCode: null,
      upstreamLatencyMs: 1234,
      images: 2,
      size: '1024x1024',
      quality: 'high',
      inputTextTokens: 17,
      outputImageTokens: 4160,
      inputTokens: 17,
      outputTokens: 4160,
      costUsd: '12345678.123456789012',
      priceVersion: 3,
      user: 'user "1" \\ \u00e9 🦦',
      promptSha256: 'a'.repeat(64),
      promptLength: 39,
      promptText: 'A watercolour otter, "reading"\na newspaper 🦦',
    });

    await sut.insert([row]);

    const [stored] = await database.dataSource.query(
      `SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS') AS created, cost_usd::text AS cost, *
         FROM usage_records WHERE id = $1`,
      [row.id],
    );
    expect(stored).toMatchObject({
      created: '2026-12-03T08:01:02.345',
      cost: '12345678.123456789012',
      api_key_id: row.apiKeyId,
      http_status: 200,
      upstream_latency_ms: 1234,
      images: 2,
      output_image_tokens: 4160,
      price_version: 3,
      user: row.user,
      prompt_sha256: row.promptSha256,
      prompt_text: row.promptText,
      error_code: null,
    });
  });

  it("settles a record's reservation when it stores the record, and only then", async () => {
    const scope = `key:${randomUUID()}`;
    const month = monthOf(new Date());
    await expect(spend.reserve([{ scope, limit: '1' }], month, '0.5')).resolves.toBe(-1);
    const row = failedChat({ costUsd: '0.200000000000', reservation: { scopes: [scope], month, estimate: '0.5' } });

    await sut.insert([row]);
    await sut.insert([row]);

    const [budget] = await database.dataSource.query('SELECT spent, reserved FROM budget_spend WHERE scope = $1', [
      scope,
    ]);
    expect(budget).toEqual({ spent: '0.200000000000', reserved: '0.000000000000' });
  });

  it("throws PostgreSQL's refusal of a record's data as a data error, storing none of its batch", async () => {
    const rows = [failedChat(), failedChat({ costUsd: 'not a number' })];

    const error = await sut.insert(rows).catch((caught: unknown) => caught);

    expect(isDataError(error)).toBe(true);
    await expect(stored(rows)).resolves.toBe(0);
  });

  it("adds the records it stores to their days' rollups, once, however often a batch is written", async () => {
    const apiKeyId = randomUUID();
    const images = (createdAt: string, costUsd: string, status: 'success' | 'error' = 'success') =>
      failedChat({
        apiKeyId,
        createdAt,
        endpoint: 'images',
        model: 'm',
        status,
        images: 2,
        outputTokens: 100,
        costUsd,
      });
    const rows = [
      images('2026-11-30T23:59:59.999Z', '0.100000000001'),
      images('2026-12-01T00:00:00.000Z', '0.200000000002'),
      images('2026-12-01T13:00:00.000Z', '0.300000000003'),
      images('2026-12-01T14:00:00.000Z', '0', 'error'),
    ];

    await Promise.all([sut.insert(rows), sut.insert(rows.slice(1).reverse())]);
    await sut.insert(rows);

    const rollups = await database.dataSource.query(
      `SELECT to_char(day, 'YYYY-MM-DD') AS day, status, requests::int, images::int, output_tokens::int, cost_usd::text
         FROM usage_daily_rollups WHERE api_key_id = $1 ORDER BY day, status`,
      [apiKeyId],
    );
    expect(rollups).toEqual([
      { day: '2026-11-30', status: 'success', requests: 1, images: 2, output_tokens: 100, cost_usd: '0.100000000001' },
      { day: '2026-12-01', status: 'error', requests: 1, images: 2, output_tokens: 100, cost_usd: '0.000000000000' },
      { day: '2026-12-01', status: 'success', requests: 2, images: 4, output_tokens: 200, cost_usd: '0.500000000005' },
    ]);
  });

  it('keeps writing when the database publishes its changes (logical replication, change capture)', async () => {
    const { dataSource } = database;
    await dataSource.query('CREATE PUBLICATION writer_spec FOR ALL TABLES');
    try {
      const apiKeyId = randomUUID();
      await sut.insert([failedChat({ apiKeyId })]);
      await sut.insert([failedChat({ apiKeyId })]);
      const [{ requests }] = await dataSource.query(
        'SELECT requests::int FROM usage_daily_rollups WHERE api_key_id = $1',
        [apiKeyId],
      );
      expect(requests).toBe(2);
    } finally {
      await dataSource.query('DROP PUBLICATION writer_spec');
    }
  });

  it('stores a record of a month that has no partition yet, making the partition', async () => {
    const row = failedChat({ createdAt: '2009-02-28T12:00:00.000Z' });

    await sut.insert([row, failedChat()]);

    await expect(stored([row])).resolves.toBe(1);
    const [partition] = await database.dataSource.query(
      `SELECT tableoid::regclass::text AS name FROM usage_records WHERE id = $1`,
      [row.id],
    );
    expect(partition).toEqual({ name: 'usage_records_y2009m02' });
  });

  it('makes text storable in its column: NUL removed, clipped to the column', () => {
    const row = failedChat({ user: `a\u0000b${'x'.repeat(300)}` });

    const clean = sut.storable(row);

    expect(clean.user).toBe(`ab${'x'.repeat(254)}`);
    expect(sut.storable(clean)).toBe(clean);
  });
});
