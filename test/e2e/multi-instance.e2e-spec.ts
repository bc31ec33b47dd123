import { createApiKey } from '../factories/api-key.factory.js';
import { imageRequest } from '../factories/request-body.factory.js';
import { FakeAzureOpenAiServer } from '../fakes/fake-azure-openai.server.js';
import { createTestApp, type TestApp } from '../utils/test-app.js';
import { AZURE_KEY } from '../utils/upstream-apps.js';
import { waitFor } from '../utils/wait-for.js';

/**
 * Two Easel instances sharing PostgreSQL and Redis, as behind a load balancer. These tests need a
 * real Redis: with REDIS_URL unset they are reported as skipped (not run), never as passed.
 */
const describeWithRedis = process.env.REDIS_URL ? describe : describe.skip;

const LOCAL = imageRequest({ prompt: 'two instances' });
const CHEAP_AZURE = imageRequest({
  model: 'azure/openai/gpt-image-1.5',
  prompt: 'abcd',
  size: '1024x1024',
  quality: 'low',
});

describeWithRedis('Two instances sharing PostgreSQL and Redis', () => {
  let azure: FakeAzureOpenAiServer;
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    azure = await new FakeAzureOpenAiServer({ apiKey: AZURE_KEY, deployments: ['gpt-image-1.5'] }).start();
    const env = {
      REDIS_URL: process.env.REDIS_URL!,
      AZURE_OPENAI_ENDPOINT: azure.baseUrl,
      AZURE_OPENAI_API_KEY: AZURE_KEY,
    };
    a = await createTestApp({ env });
    b = await createTestApp({ env: { ...env, ADMIN_API_KEY: a.adminKey }, database: a.database });
  });

  afterAll(async () => {
    await b?.close({ keep: true });
    await a?.close();
    await azure?.stop();
  });

  it('reports Redis in readiness', async () => {
    expect(await (await a.http('/health/ready')).json()).toMatchObject({
      status: 'ok',
      info: { database: { status: 'up' }, redis: { status: 'up' } },
    });
  });

  it('holds a key with rpm 2 to two requests a minute across both instances', async () => {
    const { key } = await createApiKey(a, { rpm: 2 });

    expect((await a.http('/v1/images/generations', { key, body: LOCAL })).status).toBe(200);
    expect((await b.http('/v1/images/generations', { key, body: LOCAL })).status).toBe(200);
    for (const instance of [a, b]) {
      const third = await instance.http('/v1/images/generations', { key, body: LOCAL });
      expect(third.status).toBe(429);
      expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0);
    }
  });

  it('refuses a key revoked on one instance on the other within 5 seconds', async () => {
    const { key, id } = await createApiKey(a);
    expect((await b.http('/v1/models', { key })).status).toBe(200); // now cached on b

    const revokedAt = Date.now();
    expect((await a.http(`/admin/keys/${id}`, { key: a.adminKey, method: 'DELETE' })).status).toBe(200);
    await waitFor(
      async () => (await b.http('/v1/models', { key })).status,
      (status) => status === 401,
      5_000,
    );
    expect(Date.now() - revokedAt).toBeLessThan(5_000);
  });

  it('refuses a key expired on one instance on the other within 5 seconds', async () => {
    const { key, id } = await createApiKey(a);
    expect((await b.http('/v1/models', { key })).status).toBe(200);

    const expiredAt = Date.now();
    await a.http(`/admin/keys/${id}`, {
      key: a.adminKey,
      method: 'PATCH',
      body: { expires_at: new Date(expiredAt - 1000).toISOString() },
    });
    await waitFor(
      async () => (await b.http('/v1/models', { key })).status,
      (status) => status === 401,
      5_000,
    );
    expect(Date.now() - expiredAt).toBeLessThan(5_000);
  });

  it('holds a budget under concurrent requests spread over both instances', async () => {
    azure.reset();
    const { key } = await createApiKey(a, { monthly_budget_usd: '0.027' }); // three estimates of 0.008709
    const responses = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        (i % 2 === 0 ? a : b).http('/v1/images/generations', { key, body: CHEAP_AZURE }),
      ),
    );

    expect(responses.filter((response) => response.status === 200)).toHaveLength(3);
    expect(responses.filter((response) => response.status === 429)).toHaveLength(5);
    expect(azure.generationRequests).toHaveLength(3);
  });
});
