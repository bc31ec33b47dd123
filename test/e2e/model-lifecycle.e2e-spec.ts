import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiKey } from '../factories/api-key.factory.js';
import { createTeam } from '../factories/team.factory.js';
import { FakeAzureOpenAiServer } from '../fakes/fake-azure-openai.server.js';
import { lifecycleHeadersOf } from '../utils/lifecycle-headers.js';
import { startServerProcess } from '../utils/server-process.js';
import { createTestApp, type TestApp } from '../utils/test-app.js';
import { createTestDatabase, type TestDatabase } from '../utils/test-database.js';
import { AZURE_KEY } from '../utils/upstream-apps.js';
import { waitFor } from '../utils/wait-for.js';

/** A 1x1 PNG, as the fake answers images. */
const TINY_PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';

const CAPABILITIES = `
    capabilities:
      sizes: [auto, 1024x1024]
      qualities: [auto]
      backgrounds: [auto]
      output_formats: [png]
      max_n: 2
      max_prompt_chars: 1000`;

/** A deprecated local model (shutdown far ahead), its successor, and an Azure model retired in the past. */
const CATALOGUE = `models:
  - id: local/easel/old-sketch
    provider: local
    endpoints: [images, chat]
    routes: [{ name: local }]${CAPABILITIES}
    pricing: { per_image: "0" }
    lifecycle:
      deprecated_on: 2026-01-01
      shutdown_on: 2099-01-01
      successor: local/easel/new-sketch
  - id: local/easel/new-sketch
    provider: local
    endpoints: [images, chat]
    routes: [{ name: local }]${CAPABILITIES}
    pricing: { per_image: "0" }
  - id: azure/openai/gone
    provider: azure-openai
    endpoints: [images]
    routes: [{ name: default, deployment: gpt-image-1 }]${CAPABILITIES}
    pricing: { per_image: "0.04" }
    lifecycle:
      shutdown_on: 2026-10-23
      successor: local/easel/new-sketch
      after_shutdown: reject
  - id: azure/openai/old-deployment
    provider: azure-openai
    endpoints: [images]
    routes: [{ name: default, deployment: gpt-image-1 }]
    capabilities:
      sizes: [auto, 1024x1024, 1024x1536]
      qualities: [auto, low, medium, high]
      backgrounds: [auto]
      output_formats: [png]
      max_n: 4
      max_prompt_chars: 1000
    pricing: { per_image: "0.04" }
    lifecycle:
      deprecated_on: 2026-06-02
      shutdown_on: 2026-10-23
      successor: azure/openai/new-deployment
      after_shutdown: successor
  - id: azure/openai/new-deployment
    provider: azure-openai
    endpoints: [images]
    routes: [{ name: default, deployment: gpt-image-1.5 }]${CAPABILITIES}
    pricing:
      per_million_tokens: { input_text: "5.00", output_image: "32.00" }
    estimate: { output_image_tokens: 1056 }
  - id: local/easel/retired-sketch
    provider: local
    endpoints: [images, chat]
    routes: [{ name: local }]${CAPABILITIES}
      edits: true
    pricing: { per_image: "0" }
    lifecycle:
      shutdown_on: 2026-01-01
      successor: local/easel/edit-sketch
      after_shutdown: successor
  - id: local/easel/edit-sketch
    provider: local
    endpoints: [images, chat]
    routes: [{ name: local }]${CAPABILITIES}
      edits: true
    pricing: { per_image: "0" }
`;

describe('Model lifecycle from the catalogue', () => {
  let dir: string;
  let azure: FakeAzureOpenAiServer;
  let sut: TestApp;
  let key: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'easel-lifecycle-'));
    const file = join(dir, 'models.yaml');
    await writeFile(file, CATALOGUE);
    azure = await new FakeAzureOpenAiServer({
      apiKey: AZURE_KEY,
      deployments: ['gpt-image-1', 'gpt-image-1.5'],
    }).start();
    sut = await createTestApp({
      env: { EASEL_MODELS_FILE: file, AZURE_OPENAI_ENDPOINT: azure.baseUrl, AZURE_OPENAI_API_KEY: AZURE_KEY },
    });
    ({ key } = await createApiKey(sut));
  });

  beforeEach(() => azure.reset());

  afterAll(async () => {
    await sut.close();
    await azure.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** A deprecated model serves itself: no x-easel-served-model. */
  const LIFECYCLE_HEADERS = {
    served: null,
    deprecation: '@1767225600',
    sunset: 'Thu, 01 Jan 2099 00:00:00 GMT',
    link: '</v1/models/local%2Feasel%2Fnew-sketch>; rel="successor-version"',
  };
  it('announces a deprecated model on every response (streams and refusals too): Deprecation, Sunset, the successor Link', async () => {
    const image = await sut.http('/v1/images/generations', {
      key,
      body: { model: 'local/easel/old-sketch', prompt: 'a fox', response_format: 'b64_json' },
    });
    const chat = await sut.http('/v1/chat/completions', {
      key,
      body: { model: 'local/easel/old-sketch', messages: [{ role: 'user', content: 'a fox' }] },
    });
    const stream = await sut.http('/v1/chat/completions', {
      key,
      body: { model: 'local/easel/old-sketch', stream: true, messages: [{ role: 'user', content: 'a fox' }] },
    });
    await stream.text();
    const refused = await sut.http('/v1/images/generations', {
      key,
      body: { model: 'local/easel/old-sketch', prompt: 'a fox', size: '512x512' },
    });

    expect([image.status, chat.status, stream.status, refused.status]).toEqual([200, 200, 200, 400]);
    for (const response of [image, chat, stream, refused])
      expect(lifecycleHeadersOf(response)).toEqual(LIFECYCLE_HEADERS);
  });

  it('leaves the responses of a model without a lifecycle alone', async () => {
    const response = await sut.http('/v1/images/generations', {
      key,
      body: { model: 'local/easel/new-sketch', prompt: 'a fox', response_format: 'b64_json' },
    });

    expect(response.status).toBe(200);
    expect(lifecycleHeadersOf(response)).toEqual({ served: null, deprecation: null, sunset: null, link: null });
  });

  it('refuses a retired model whose catalogue says reject with 410 model_retired naming the successor, and no upstream call', async () => {
    const response = await sut.http('/v1/images/generations', {
      key,
      body: { model: 'azure/openai/gone', prompt: 'a fox' },
    });

    expect(response.status).toBe(410);
    expect(await response.json()).toMatchObject({
      error: {
        type: 'invalid_request_error',
        code: 'model_retired',
        param: 'model',
        message: expect.stringContaining("use 'local/easel/new-sketch' instead"),
      },
    });
    expect(azure.requests).toEqual([]);
  });

  it('serves a retired model whose catalogue says successor with the successor: its deployment, prices and model id; the record keeps both ids', async () => {
    azure.enqueue({
      status: 200,
      body: {
        created: 1,
        data: [{ b64_json: TINY_PNG }],
        size: '1024x1024',
        quality: 'medium',
        output_format: 'png',
        background: 'opaque',
        usage: {
          input_tokens: 21,
          input_tokens_details: { text_tokens: 21, image_tokens: 0 },
          output_tokens: 1056,
          output_tokens_details: { image_tokens: 1056, text_tokens: 0 },
          total_tokens: 1077,
        },
      },
    });
    const response = await sut.http('/v1/images/generations', {
      key,
      body: { model: 'azure/openai/old-deployment', prompt: 'a fox', size: '1024x1024', response_format: 'b64_json' },
      headers: { 'x-request-id': 'served-by-successor' },
    });

    expect(response.status).toBe(200);
    expect(lifecycleHeadersOf(response)).toEqual({
      served: 'azure/openai/new-deployment',
      deprecation: '@1780358400',
      sunset: 'Fri, 23 Oct 2026 00:00:00 GMT',
      link: '</v1/models/azure%2Fopenai%2Fnew-deployment>; rel="successor-version"',
    });
    expect(await response.json()).toMatchObject({
      model: 'azure/openai/new-deployment',
      data: [{ b64_json: TINY_PNG }],
    });
    // The successor's token prices, not the retired model's $0.04 an image: (21 × 5 + 1056 × 32) / 1e6.
    expect(response.headers.get('x-easel-cost-usd')).toBe('0.033897');
    expect(azure.requests.map((request) => request.path)).toEqual([
      '/openai/deployments/gpt-image-1.5/images/generations',
    ]);
    const record = await usageRecord('served-by-successor');
    expect(record).toMatchObject({
      model: 'azure/openai/old-deployment',
      served_model: 'azure/openai/new-deployment',
      status: 'success',
      cost_usd: '0.033897',
    });
  });

  it("judges such a request by the successor's capabilities, naming it, before any upstream call", async () => {
    const response = await sut.http('/v1/images/generations', {
      key,
      // 1024x1536 was the retired model's; the successor does not make it.
      body: { model: 'azure/openai/old-deployment', prompt: 'a fox', size: '1024x1536' },
    });

    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      error: { param: 'size', message: expect.stringContaining('azure/openai/new-deployment') },
    });
    expect(azure.requests).toEqual([]);
  });

  it('serves chat and edits of a retired model with its successor too, and says so in the answer', async () => {
    const chat = await sut.http('/v1/chat/completions', {
      key,
      body: { model: 'local/easel/retired-sketch', messages: [{ role: 'user', content: 'a fox' }] },
    });
    const form = new FormData();
    form.append('model', 'local/easel/retired-sketch');
    form.append('prompt', 'a hat on the fox');
    form.append('response_format', 'b64_json');
    form.append('image', new Blob([Buffer.from(TINY_PNG, 'base64')], { type: 'image/png' }), 'fox.png');
    const edit = await fetch(`${sut.baseUrl}/v1/images/edits`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}` },
      body: form,
    });

    expect([chat.status, edit.status]).toEqual([200, 200]);
    expect(((await chat.json()) as { model: string }).model).toBe('local/easel/edit-sketch');
    expect(((await edit.json()) as { model: string }).model).toBe('local/easel/edit-sketch');
    for (const response of [chat, edit]) {
      expect(response.headers.get('x-easel-served-model')).toBe('local/easel/edit-sketch');
    }
  });

  it('serves a key allowed only the retired model with its successor: the operator chose it, so the team keeps working', async () => {
    const limited = await createApiKey(sut, { allowed_models: ['local/easel/retired-sketch'] });
    const served = await sut.http('/v1/images/generations', {
      key: limited.key,
      body: { model: 'local/easel/retired-sketch', prompt: 'a fox', response_format: 'b64_json' },
    });
    const direct = await sut.http('/v1/images/generations', {
      key: limited.key,
      body: { model: 'local/easel/edit-sketch', prompt: 'a fox', response_format: 'b64_json' },
    });

    expect(served.status).toBe(200);
    expect(served.headers.get('x-easel-served-model')).toBe('local/easel/edit-sketch');
    // The successor by its own id stays outside the key's allowed models.
    expect(direct.status).toBe(403);
  });

  it('counts calls to deprecated and retired models by key in /metrics, and GET /admin/usage?deprecated=true names who made them', async () => {
    const team = await createTeam(sut);
    const caller = await createApiKey(sut, { team: team.name });
    await sut.http('/v1/images/generations', {
      key: caller.key,
      body: { model: 'local/easel/old-sketch', prompt: 'a fox', response_format: 'b64_json' },
    });
    await sut.http('/v1/images/generations', {
      key: caller.key,
      body: { model: 'azure/openai/gone', prompt: 'a fox' },
    });
    await sut.http('/v1/images/generations', {
      key: caller.key,
      body: { model: 'local/easel/new-sketch', prompt: 'a fox', response_format: 'b64_json' },
    });

    const metrics = await (await sut.http('/metrics')).text();
    expect(metrics).toContain(
      `easel_deprecated_model_requests_total{model="local/easel/old-sketch",state="deprecated",api_key="${caller.id}"} 1`,
    );
    expect(metrics).toContain(
      `easel_deprecated_model_requests_total{model="azure/openai/gone",state="retired",api_key="${caller.id}"} 1`,
    );
    expect(metrics).not.toContain('easel_deprecated_model_requests_total{model="local/easel/new-sketch"');

    const report = async (query: string) => {
      const response = await sut.http(`/admin/usage?team=${team.name}&${query}`, { key: sut.adminKey });
      expect(response.status).toBe(200);
      return (await response.json()) as { rows: Array<{ group: string; requests: number }> };
    };
    await waitFor(
      () => report('group_by=model'),
      ({ rows }) => rows.reduce((sum, row) => sum + row.requests, 0) === 3,
    );
    expect((await report('deprecated=true&group_by=model')).rows).toEqual([
      expect.objectContaining({ group: 'azure/openai/gone', requests: 1 }),
      expect.objectContaining({ group: 'local/easel/old-sketch', requests: 1 }),
    ]);
    expect((await report('deprecated=true&group_by=api_key')).rows).toEqual([
      expect.objectContaining({ group: caller.id, requests: 2 }),
    ]);
    expect((await report('deprecated=false&group_by=model')).rows).toEqual([
      expect.objectContaining({ group: 'local/easel/new-sketch', requests: 1 }),
    ]);
    const bad = await sut.http('/admin/usage?deprecated=yes', { key: sut.adminKey });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { param: 'deprecated' } });
  });

  it('lists the lifecycle in /v1/models', async () => {
    const { data } = (await (await sut.http('/v1/models', { key })).json()) as {
      data: Array<{ id: string; shutdown_date: string | null; deprecated: boolean; successor: string | null }>;
    };

    expect(
      data.map(({ id, shutdown_date, deprecated, successor }) => ({ id, shutdown_date, deprecated, successor })),
    ).toEqual([
      {
        id: 'local/easel/old-sketch',
        shutdown_date: '2099-01-01',
        deprecated: true,
        successor: 'local/easel/new-sketch',
      },
      { id: 'local/easel/new-sketch', shutdown_date: null, deprecated: false, successor: null },
      { id: 'azure/openai/gone', shutdown_date: '2026-10-23', deprecated: true, successor: 'local/easel/new-sketch' },
      {
        id: 'azure/openai/old-deployment',
        shutdown_date: '2026-10-23',
        deprecated: true,
        successor: 'azure/openai/new-deployment',
      },
      { id: 'azure/openai/new-deployment', shutdown_date: null, deprecated: false, successor: null },
      {
        id: 'local/easel/retired-sketch',
        shutdown_date: '2026-01-01',
        deprecated: true,
        successor: 'local/easel/edit-sketch',
      },
      { id: 'local/easel/edit-sketch', shutdown_date: null, deprecated: false, successor: null },
    ]);
  });

  /** The usage record of a request, through the admin API, once it is stored. */
  async function usageRecord(requestId: string): Promise<Record<string, unknown>> {
    const page = await waitFor(
      async () =>
        (await (await sut.http('/admin/usage/records?limit=1000', { key: sut.adminKey })).json()) as {
          data: Array<Record<string, unknown>>;
        },
      ({ data }) => data.some((record) => record.request_id === requestId),
    );
    return page.data.find((record) => record.request_id === requestId)!;
  }
});

describe('A catalogue whose lifecycle is wrong', () => {
  let dir: string;
  let database: TestDatabase;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'easel-lifecycle-bad-'));
    database = await createTestDatabase();
  });

  afterAll(async () => {
    await database.drop();
    await rm(dir, { recursive: true, force: true });
  });

  const model = (id: string, endpoints: string, lifecycle = '') => `
  - id: ${id}
    provider: local
    endpoints: [${endpoints}]
    routes: [{ name: local }]${CAPABILITIES}
    pricing: { per_image: "0" }${lifecycle}`;

  it.each([
    [
      'an unknown successor',
      model(
        'local/easel/old',
        'images',
        '\n    lifecycle: { shutdown_on: 2026-10-23, successor: local/easel/nowhere }',
      ),
      "local/easel/old: lifecycle.successor 'local/easel/nowhere' is not a model of this catalogue",
    ],
    [
      'a successor that serves another endpoint',
      model(
        'local/easel/old',
        'images, chat',
        '\n    lifecycle: { shutdown_on: 2026-10-23, successor: local/easel/new }',
      ) + model('local/easel/new', 'images'),
      "local/easel/old: lifecycle.successor 'local/easel/new' does not serve chat, which local/easel/old serves",
    ],
  ])('stops the start on %s, naming the model and the successor', async (_what, models, message) => {
    const file = join(dir, `${randomUUID()}.yaml`);
    await writeFile(file, `models:${models}\n`);

    // The real server, as `npm start` runs it: it exits during its start, saying why.
    await expect(
      startServerProcess({ EASEL_MODELS_FILE: file, DATABASE_URL: database.url, EASEL_DATA_DIR: dir }),
    ).rejects.toThrow(message);
  });
});
