import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiKey } from '../factories/api-key.factory.js';
import { FakeAzureOpenAiServer } from '../fakes/fake-azure-openai.server.js';
import { createTestApp, type TestApp } from '../utils/test-app.js';
import { AZURE_KEY } from '../utils/upstream-apps.js';

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
    azure = await new FakeAzureOpenAiServer({ apiKey: AZURE_KEY, deployments: ['gpt-image-1'] }).start();
    sut = await createTestApp({
      env: { EASEL_MODELS_FILE: file, AZURE_OPENAI_ENDPOINT: azure.baseUrl, AZURE_OPENAI_API_KEY: AZURE_KEY },
    });
    ({ key } = await createApiKey(sut));
  });

  afterAll(async () => {
    await sut.close();
    await azure.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const LIFECYCLE_HEADERS = {
    deprecation: '@1767225600',
    sunset: 'Thu, 01 Jan 2099 00:00:00 GMT',
    link: '</v1/models/local%2Feasel%2Fnew-sketch>; rel="successor-version"',
  };
  const lifecycleHeaders = (response: Response) => ({
    deprecation: response.headers.get('deprecation'),
    sunset: response.headers.get('sunset'),
    link: response.headers.get('link'),
  });

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
      expect(lifecycleHeaders(response)).toEqual(LIFECYCLE_HEADERS);
  });

  it('leaves the responses of a model without a lifecycle alone', async () => {
    const response = await sut.http('/v1/images/generations', {
      key,
      body: { model: 'local/easel/new-sketch', prompt: 'a fox', response_format: 'b64_json' },
    });

    expect(response.status).toBe(200);
    expect(lifecycleHeaders(response)).toEqual({ deprecation: null, sunset: null, link: null });
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
    ]);
  });
});
