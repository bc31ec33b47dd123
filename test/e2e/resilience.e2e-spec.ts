import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { createApiKey } from '../factories/api-key.factory.js';
import { FakeAzureOpenAiServer } from '../fakes/fake-azure-openai.server.js';
import { createTestApp, type TestApp } from '../utils/test-app.js';
import { AZURE_KEY } from '../utils/upstream-apps.js';
import { waitFor } from '../utils/wait-for.js';

const BODY = { model: 'azure/openai/gpt-image-1.5', prompt: 'resilience', response_format: 'b64_json' };
/** An Azure model with no second route: its failures have nowhere to fall back to. */
const SINGLE_ROUTE_MODEL = 'azure/openai/gpt-image-2';
const FAILING = { status: 500, body: { error: { code: 'InternalServerError', message: 'boom' } } };

/**
 * Upstream faults against real HTTP fakes: retries with backoff, fallback to the model's next
 * route (a second Azure resource), the circuit breaker, timeouts, resets, oversized bodies.
 */
describe('Upstream faults', () => {
  let primary: FakeAzureOpenAiServer;
  let secondary: FakeAzureOpenAiServer;
  let dir: string;
  let sut: TestApp;
  let key: string;

  beforeAll(async () => {
    primary = await new FakeAzureOpenAiServer({
      apiKey: AZURE_KEY,
      deployments: ['gpt-image-1.5', 'gpt-image-2'],
    }).start();
    secondary = await new FakeAzureOpenAiServer({
      apiKey: 'secondary-key-0123456789',
      deployments: ['gpt-image-1.5-eu'],
    }).start();
    // The shipped catalogue, with a second route for gpt-image-1.5 on another resource.
    const catalogue = parse(await readFile('config/models.yaml', 'utf8')) as {
      models: Array<{ id: string; routes: object[] }>;
    };
    catalogue.models
      .find((model) => model.id === BODY.model)!
      .routes.push({
        name: 'secondary',
        deployment: 'gpt-image-1.5-eu',
        endpoint_env: 'AZURE_SECONDARY_ENDPOINT',
        api_key_env: 'AZURE_SECONDARY_API_KEY',
        fallback: true,
      });
    dir = await mkdtemp(join(tmpdir(), 'easel-catalogue-'));
    await writeFile(join(dir, 'models.yaml'), stringify(catalogue));
    sut = await createTestApp({
      env: {
        EASEL_MODELS_FILE: join(dir, 'models.yaml'),
        AZURE_OPENAI_ENDPOINT: primary.baseUrl,
        AZURE_OPENAI_API_KEY: AZURE_KEY,
        AZURE_SECONDARY_ENDPOINT: secondary.baseUrl,
        AZURE_SECONDARY_API_KEY: 'secondary-key-0123456789',
        UPSTREAM_TIMEOUT_MS: '400',
        MAX_RESPONSE_BYTES: '1000000',
      },
    });
    ({ key } = await createApiKey(sut));
  });

  // Every test here makes routes fail, and a route's circuit breaker lives as long as the app: each
  // test gets a new app on the same database, so its breakers start closed and the usage rows of
  // all the tests stay for the last one.
  beforeEach(async () => {
    primary.reset();
    secondary.reset();
    sut = await sut.restart();
  });

  afterAll(async () => {
    await sut.close();
    await primary.stop();
    await secondary.stop();
    await rm(dir, { recursive: true, force: true });
  });

  let sent = 0;
  const generate = (body: object = BODY) => {
    sent++;
    return sut.http('/v1/images/generations', { key, body });
  };

  it('falls back to the next route when one keeps failing (one try and two retries each)', async () => {
    primary.enqueue(FAILING, FAILING, FAILING);
    const response = await generate();
    expect(response.status).toBe(200);
    expect(primary.generationRequests).toHaveLength(3);
    expect(secondary.generationRequests).toHaveLength(1);
    expect(secondary.generationRequests[0]!.path).toBe('/openai/deployments/gpt-image-1.5-eu/images/generations');
  });

  it('gives up with 502 when every route keeps failing', async () => {
    primary.enqueue(...Array(3).fill(FAILING));
    secondary.enqueue(...Array(3).fill(FAILING));
    const response = await generate();
    expect(response.status).toBe(502);
    expect(primary.generationRequests).toHaveLength(3);
    expect(secondary.generationRequests).toHaveLength(3);
  });

  it('retries a reset connection on the same route', async () => {
    primary.enqueue({ status: 200, reset: true });
    const response = await generate();
    expect(response.status).toBe(200);
    expect(primary.generationRequests).toHaveLength(2);
    expect(secondary.generationRequests).toHaveLength(0);
  });

  it('times out a slow attempt (UPSTREAM_TIMEOUT_MS) and answers 504 when every attempt is slow', async () => {
    const slow = { status: 200, delayMs: 1_500, body: {} };
    primary.enqueue(slow, slow, slow);
    secondary.enqueue(slow, slow, slow);
    const response = await generate({ ...BODY, model: SINGLE_ROUTE_MODEL });
    expect(response.status).toBe(504);
    expect(await response.json()).toMatchObject({ error: { type: 'upstream_error', code: 'upstream_timeout' } });
    expect(primary.generationRequests).toHaveLength(3);
  });

  it('refuses a response larger than MAX_RESPONSE_BYTES with a clear 502, without retrying it', async () => {
    primary.enqueue({ status: 200, body: { created: 1, data: [{ b64_json: 'A'.repeat(1_100_000) }] } });
    const response = await generate({ ...BODY, model: SINGLE_ROUTE_MODEL });
    expect(response.status).toBe(502);
    expect(((await response.json()) as { error: { message: string } }).error.message).toContain('MAX_RESPONSE_BYTES');
    expect(primary.generationRequests).toHaveLength(1);
  });

  it('never retries a content-policy refusal', async () => {
    primary.enqueue({ status: 400, body: { error: { code: 'contentFilter', message: 'blocked' } } });
    secondary.enqueue({ status: 400, body: { error: { code: 'contentFilter', message: 'blocked' } } });
    const response = await generate();
    expect(response.status).toBe(400);
    expect(primary.generationRequests.length + secondary.generationRequests.length).toBe(1);
  });

  it('left exactly one usage record per request, retries and fallbacks included', async () => {
    const { DataSource } = await import('typeorm');
    const dataSource = sut.app.get(DataSource);
    const count = async () =>
      Number((await dataSource.query(`SELECT count(*) AS n FROM usage_records WHERE endpoint = 'images'`))[0].n);
    await waitFor(count, (n) => n >= sent);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await count()).toBe(sent);
    const routes = (await dataSource.query(
      `SELECT route, status FROM usage_records WHERE endpoint = 'images' ORDER BY created_at LIMIT 1`,
    )) as Array<{ route: string; status: string }>;
    // The first request fell back: its record names the route that answered.
    expect(routes[0]).toEqual({ route: 'secondary', status: 'success' });
  });
});

describe('The circuit breaker', () => {
  let azure: FakeAzureOpenAiServer;
  let sut: TestApp;

  beforeAll(async () => {
    azure = await new FakeAzureOpenAiServer({ apiKey: AZURE_KEY, deployments: ['gpt-image-1.5'] }).start();
    sut = await createTestApp({ env: { AZURE_OPENAI_ENDPOINT: azure.baseUrl, AZURE_OPENAI_API_KEY: AZURE_KEY } });
  });

  afterAll(async () => {
    await sut.close();
    await azure.stop();
  });

  it('opens for a route after 5 failed calls and stops calling it for a while', async () => {
    const { key } = await createApiKey(sut);
    const generate = () => sut.http('/v1/images/generations', { key, body: BODY });
    for (let call = 0; call < 5; call++) {
      azure.enqueue(FAILING, FAILING, FAILING);
      expect((await generate()).status).toBe(502);
    }
    expect(azure.generationRequests).toHaveLength(15);

    const refused = await generate();
    expect(refused.status).toBe(502);
    expect(refused.headers.get('retry-after')).toBe('30');
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/failing/);
    expect(azure.generationRequests).toHaveLength(15);
  });
});
