import { DataSource } from 'typeorm';
import { createApiKey } from '../factories/api-key.factory.js';
import { imageRequest } from '../factories/request-body.factory.js';
import { createTeam } from '../factories/team.factory.js';
import type { FakeAzureOpenAiServer } from '../fakes/fake-azure-openai.server.js';
import type { TestApp } from '../utils/test-app.js';
import { startWithAzure, stopUpstreamApp, type UpstreamApp } from '../utils/upstream-apps.js';
import { waitFor } from '../utils/wait-for.js';

const LOCAL = imageRequest({ prompt: 'limits' });
/** gpt-image-1.5, low quality 1024x1024: estimated (1 × 5 + 272 × 32) / 1e6 = 0.008709 USD. */
const CHEAP_AZURE = imageRequest({
  model: 'azure/openai/gpt-image-1.5',
  prompt: 'abcd',
  size: '1024x1024',
  quality: 'low',
});

describe('Rate limits, budgets and key changes (one instance)', () => {
  let app: UpstreamApp<FakeAzureOpenAiServer>;
  let azure: FakeAzureOpenAiServer;
  let sut: TestApp;

  const patch = (id: string, body: object) =>
    sut.http(`/admin/keys/${id}`, { key: sut.adminKey, method: 'PATCH', body });

  beforeAll(async () => {
    app = await startWithAzure();
    ({ fake: azure, sut } = app);
  });

  beforeEach(() => azure.reset());

  afterAll(() => stopUpstreamApp(app));

  it("refuses a key's third request in a minute with rpm 2: 429 rate_limit_exceeded, Retry-After, rate-limit headers", async () => {
    const { key } = await createApiKey(sut, { rpm: 2 });
    const { key: other } = await createApiKey(sut, { rpm: 2 });

    const first = await sut.http('/v1/images/generations', { key, body: LOCAL });
    expect(first.status).toBe(200);
    expect(first.headers.get('x-ratelimit-limit')).toBe('2');
    expect(first.headers.get('x-ratelimit-remaining')).toBe('1');
    expect((await sut.http('/v1/models', { key })).status).toBe(200);

    const third = await sut.http('/v1/images/generations', {
      key,
      body: LOCAL,
      headers: { 'x-request-id': 'rate-limited' },
    });
    expect(third.status).toBe(429);
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(third.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    expect(await third.json()).toEqual({
      error: {
        message: expect.stringContaining('2 requests per minute'),
        type: 'rate_limit_error',
        param: null,
        code: 'rate_limit_exceeded',
      },
    });

    // The limit is the key's, not the caller's address.
    expect((await sut.http('/v1/images/generations', { key: other, body: LOCAL })).status).toBe(200);

    const dataSource = sut.app.get(DataSource);
    const [record] = await waitFor<Array<Record<string, unknown>>>(
      () =>
        dataSource.query(`SELECT status, http_status, error_code FROM usage_records WHERE request_id = 'rate-limited'`),
      (rows) => rows.length === 1,
    );
    expect(record).toEqual({ status: 'error', http_status: 429, error_code: 'rate_limit_exceeded' });
  });

  it('refuses a request whose estimate exceeds a monthly_budget_usd of 0.008 before any upstream call', async () => {
    const { key } = await createApiKey(sut, { monthly_budget_usd: '0.008' });

    const response = await sut.http('/v1/images/generations', { key, body: CHEAP_AZURE });

    expect(response.status).toBe(429);
    expect(await response.json()).toEqual({
      error: {
        message: expect.stringContaining('0.008 USD'),
        type: 'insufficient_quota',
        param: null,
        code: 'insufficient_quota',
      },
    });
    expect(azure.requests).toHaveLength(0);
    // Free requests still pass.
    expect((await sut.http('/v1/images/generations', { key, body: LOCAL })).status).toBe(200);
  });

  it('lets concurrent requests overrun a budget by no more than one estimate (reserve, then settle)', async () => {
    const { key, id } = await createApiKey(sut, { monthly_budget_usd: '0.027' }); // three estimates of 0.008709
    const responses = await Promise.all(
      Array.from({ length: 6 }, () => sut.http('/v1/images/generations', { key, body: CHEAP_AZURE })),
    );
    const statuses = responses.map((response) => response.status).sort();

    expect(statuses).toEqual([200, 200, 200, 429, 429, 429]);
    expect(azure.generationRequests).toHaveLength(3);

    // Settled with the actual cost: (1 × 5 + 272 × 32) / 1e6 each, reservations released.
    const dataSource = sut.app.get(DataSource);
    const [spend] = await waitFor<Array<{ spent: string; reserved: string }>>(
      () => dataSource.query(`SELECT spent, reserved FROM budget_spend WHERE scope = $1`, [`key:${id}`]),
      (rows) => rows[0]?.reserved === '0.000000000000',
    );
    expect(spend).toEqual({ spent: '0.026127000000', reserved: '0.000000000000' });
    expect((await sut.http('/v1/images/generations', { key, body: CHEAP_AZURE })).status).toBe(429);
  });

  it("applies a team's monthly budget to every key of the team", async () => {
    await createTeam(sut, { name: 'frugal', monthly_budget_usd: '0.005' });
    const { key } = await createApiKey(sut, { team: 'frugal' });

    const response = await sut.http('/v1/images/generations', { key, body: CHEAP_AZURE });
    expect(response.status).toBe(429);
    expect(((await response.json()) as { error: { message: string } }).error.message).toContain("team 'frugal'");
    expect(azure.requests).toHaveLength(0);
  });

  it('changes limits with PATCH at once, null clearing them, and validates the input', async () => {
    const { key, id } = await createApiKey(sut);
    const patched = await patch(id, {
      rpm: 1,
      monthly_budget_usd: '12.5',
      allowed_models: ['local/easel/sketch'],
      name: 'renamed',
    });
    expect(patched.status).toBe(200);
    expect(await patched.json()).toMatchObject({
      id,
      name: 'renamed',
      rpm: 1,
      monthly_budget_usd: '12.5',
      allowed_models: ['local/easel/sketch'],
    });

    expect((await sut.http('/v1/images/generations', { key, body: CHEAP_AZURE })).status).toBe(403);
    // rpm 1: the refused request counted.
    expect((await sut.http('/v1/images/generations', { key, body: LOCAL })).status).toBe(429);

    const cleared = (await (await patch(id, { monthly_budget_usd: null, allowed_models: null })).json()) as Record<
      string,
      unknown
    >;
    expect(cleared).toMatchObject({ monthly_budget_usd: null, allowed_models: null, rpm: 1 });

    expect(await (await patch(id, { name: null })).json()).toMatchObject({ error: { param: 'name' } });
    expect(await (await patch(id, { team: 'no-such-team' })).json()).toMatchObject({ error: { param: 'team' } });
    expect(await (await patch(id, { rpm: 0 })).json()).toMatchObject({ error: { param: 'rpm' } });
    expect(await (await patch(id, { monthly_budget_usd: '123456789' })).json()).toMatchObject({
      error: { param: 'monthly_budget_usd' },
    });
    expect(await (await patch(id, { monthly_budget_usd: 5 })).json()).toMatchObject({ monthly_budget_usd: '5' });
    expect(await (await patch(id, { key_hash: 'x' })).json()).toMatchObject({ error: { code: 'unknown_parameter' } });
  });

  it('expires a key at once when PATCH sets expires_at in the past', async () => {
    const { key, id } = await createApiKey(sut);
    expect((await sut.http('/v1/models', { key })).status).toBe(200);
    await patch(id, { expires_at: new Date(Date.now() - 1000).toISOString() });
    expect((await sut.http('/v1/models', { key })).status).toBe(401);
  });

  it('records when a key was last used', async () => {
    const { key, id } = await createApiKey(sut);
    const before = (await (await sut.http(`/admin/keys/${id}`, { key: sut.adminKey })).json()) as {
      last_used_at: string | null;
    };
    expect(before.last_used_at).toBeNull();
    await sut.http('/v1/models', { key });
    const after = await waitFor(
      async () =>
        ((await (await sut.http(`/admin/keys/${id}`, { key: sut.adminKey })).json()) as { last_used_at: string | null })
          .last_used_at,
      (value) => value !== null,
    );
    expect(Date.now() - Date.parse(after!)).toBeLessThan(60_000);
  });
});

describe('RATE_LIMIT_RPM', () => {
  it('is the limit of keys without their own rpm', async () => {
    const { createTestApp } = await import('../utils/test-app.js');
    const sut = await createTestApp({ env: { RATE_LIMIT_RPM: '3' } });
    try {
      const { key } = await createApiKey(sut);
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await sut.http('/v1/models', { key })).status);
      expect(statuses).toEqual([200, 200, 200, 429]);
    } finally {
      await sut.close();
    }
  });
});
