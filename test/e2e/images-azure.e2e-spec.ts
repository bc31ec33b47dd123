import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { createApiKey } from '../factories/api-key.factory.js';
import { CONTENT_FILTER_BODIES, FakeAzureOpenAiServer } from '../fakes/fake-azure-openai.server.js';
import { createTestApp, type TestApp } from '../utils/test-app.js';
import { AZURE_KEY, startWithAzure, useUpstreamApp } from '../utils/upstream-apps.js';

const MODEL = 'azure/openai/gpt-image-1.5';

describe('POST /v1/images/generations through Azure OpenAI', () => {
  let azure: FakeAzureOpenAiServer;
  let sut: TestApp;
  let key: string;

  useUpstreamApp(startWithAzure, (app) => ({ fake: azure, sut, key } = app));

  it('reaches deployment gpt-image-1.5 with every parameter as Azure expects', async () => {
    const result = await sut.openai(key).images.generate({
      model: MODEL,
      prompt: 'a paper boat on a pond',
      n: 2,
      size: '1536x1024',
      quality: 'low',
      background: 'opaque',
      output_format: 'jpeg',
      output_compression: 60,
      moderation: 'low',
      user: 'end-user-7',
      response_format: 'b64_json',
    });

    expect(azure.generationRequests).toHaveLength(1);
    const [call] = azure.generationRequests;
    expect(call!.path).toBe('/openai/deployments/gpt-image-1.5/images/generations');
    expect(call!.query.get('api-version')).toBe('2025-04-01-preview');
    expect(call!.headers['api-key']).toBe(AZURE_KEY);
    expect(call!.headers.authorization).toBeUndefined();
    expect(call!.body).toEqual({
      prompt: 'a paper boat on a pond',
      n: 2,
      size: '1536x1024',
      quality: 'low',
      background: 'opaque',
      output_format: 'jpeg',
      output_compression: 60,
      moderation: 'low',
      user: 'end-user-7',
    });
    expect(result.data).toHaveLength(2);
    const metadata = await sharp(Buffer.from(result.data![0]!.b64_json!, 'base64')).metadata();
    expect(metadata).toMatchObject({ format: 'jpeg', width: 1536, height: 1024 });
    expect(result).toMatchObject({
      model: MODEL,
      size: '1536x1024',
      quality: 'low',
      output_format: 'jpeg',
      background: 'opaque',
    });
  });

  it('passes base64 on exactly as Azure sent it, also when Azure escaped it', async () => {
    const image = randomBytes(300_000).toString('base64');
    const escaped = randomBytes(300_000).toString('base64');
    azure.enqueue({
      status: 200,
      raw: `{"created":1,"data":[{"b64_json":"${image}"},{"b64_json":"${escaped.replaceAll('/', '\\/')}"}],"size":"1024x1024","quality":"low","output_format":"png","background":"opaque"}`,
    });

    const response = await sut.http('/v1/images/generations', {
      key,
      body: { model: MODEL, prompt: 'noise', n: 2, response_format: 'b64_json' },
    });

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const text = await response.text();
    expect(Number(response.headers.get('content-length'))).toBe(Buffer.byteLength(text));
    expect(response.headers.get('transfer-encoding')).toBeNull();
    const body = JSON.parse(text) as { data: Array<{ b64_json: string }>; size: string };
    expect(body.data.map((item) => item.b64_json)).toEqual([image, escaped]);
    expect(body.size).toBe('1024x1024');
  });

  it('passes the upstream usage through and charges it at the catalogue price', async () => {
    const prompt = 'x'.repeat(200); // the fake counts 50 text tokens
    const response = await sut.http('/v1/images/generations', {
      key,
      body: {
        model: MODEL,
        prompt,
        size: '1024x1024',
        quality: 'low',
        response_format: 'b64_json',
      },
    });

    expect(response.status).toBe(200);
    const body = (await response.json()) as { usage: unknown };
    expect(body.usage).toEqual({
      input_tokens: 50,
      input_tokens_details: { text_tokens: 50, image_tokens: 0 },
      output_tokens: 272,
      output_tokens_details: { text_tokens: 0, image_tokens: 272 },
      total_tokens: 322,
    });
    // (50 × $5 + 272 × $32) / 1e6
    expect(response.headers.get('x-easel-cost-usd')).toBe('0.008954');
  });

  it('never forwards response_format and stores the image for url responses', async () => {
    const result = await sut.openai(key).images.generate({ model: MODEL, prompt: 'a kite', size: '1024x1536' });

    expect(azure.generationRequests[0]!.body).toEqual({
      prompt: 'a kite',
      n: 1,
      size: '1024x1536',
      output_format: 'png',
    });
    const download = await fetch(result.data![0]!.url!);
    expect(download.headers.get('content-type')).toBe('image/png');
    const metadata = await sharp(Buffer.from(await download.arrayBuffer())).metadata();
    expect(metadata).toMatchObject({ format: 'png', width: 1024, height: 1536 });
  });

  it.each(Object.keys(CONTENT_FILTER_BODIES) as Array<keyof typeof CONTENT_FILTER_BODIES>)(
    'turns an Azure %s refusal into 400 content_policy_violation without retrying',
    async (code) => {
      azure.enqueue({ status: 400, body: CONTENT_FILTER_BODIES[code] });

      const response = await sut.http('/v1/images/generations', {
        key,
        body: { model: MODEL, prompt: 'something refused' },
      });

      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({
        error: {
          message: expect.any(String),
          type: 'invalid_request_error',
          param: 'prompt',
          code: 'content_policy_violation',
        },
      });
      expect(azure.generationRequests).toHaveLength(1);
    },
  );
});

describe('POST /v1/images/generations through a failing Azure OpenAI', () => {
  let azure: FakeAzureOpenAiServer;
  let sut: TestApp;
  let key: string;

  // Every failure counts against the route's circuit breaker, which lives as long as the app:
  // each test gets an app of its own, so none inherits the failures of the tests before it.
  useUpstreamApp(startWithAzure, (app) => ({ fake: azure, sut, key } = app), { appPerTest: true });

  it('retries an upstream 429 after its Retry-After, then succeeds', async () => {
    azure.enqueue({
      status: 429,
      headers: { 'retry-after-ms': '100' },
      body: { error: { code: '429', message: 'Please retry after 0.1 seconds.' } },
    });

    const response = await sut.http('/v1/images/generations', {
      key,
      body: { model: MODEL, prompt: 'busy', response_format: 'b64_json' },
    });

    expect(response.status).toBe(200);
    expect(azure.generationRequests).toHaveLength(2);
  });

  it('reports an upstream that keeps answering 429 as 502 upstream_error with its Retry-After, after two retries', async () => {
    const busy = {
      status: 429,
      headers: { 'retry-after': '1' },
      body: { error: { code: '429', message: 'Please retry after 1 second.' } },
    };
    azure.enqueue(busy, busy, busy);

    const response = await sut.http('/v1/images/generations', {
      key,
      body: { model: MODEL, prompt: 'busy' },
    });

    expect(response.status).toBe(502);
    expect(response.headers.get('retry-after')).toBe('1');
    expect(await response.json()).toMatchObject({ error: { type: 'upstream_error', code: 'upstream_error' } });
    expect(azure.generationRequests).toHaveLength(3);
  });

  it('retries a 500 once and succeeds', async () => {
    azure.enqueue({ status: 500, body: { error: { code: 'InternalServerError', message: 'boom' } } });

    const response = await sut.http('/v1/images/generations', {
      key,
      body: { model: MODEL, prompt: 'flaky', response_format: 'b64_json' },
    });

    expect(response.status).toBe(200);
    expect(azure.generationRequests).toHaveLength(2);
  });

  it.each([
    [
      'a 500 three times',
      [500, 500, 500].map((status) => ({ status, body: { error: { code: 'InternalServerError', message: 'boom' } } })),
      3,
    ],
    ['a non-JSON body (not retried)', [{ status: 200, raw: '<html>oops</html>' }], 1],
    ['a 200 without images (not retried)', [{ status: 200, body: { created: 1, data: [] } }], 1],
    [
      'a 401, wrong Easel credentials (not retried)',
      [{ status: 401, body: { error: { code: '401', message: 'Access denied' } } }],
      1,
    ],
  ])('reports %s from Azure as 502 upstream_error', async (_name, scripted, calls) => {
    azure.enqueue(...scripted);

    const response = await sut.http('/v1/images/generations', {
      key,
      body: { model: MODEL, prompt: 'p' },
    });

    expect(azure.generationRequests).toHaveLength(calls);
    expect(response.status).toBe(502);
    const body = (await response.json()) as { error: { message: string } };
    expect(body).toMatchObject({ error: { type: 'upstream_error', code: 'upstream_error' } });
    expect(body.error.message).not.toContain(AZURE_KEY);
  });
});

describe('Azure models without Azure settings', () => {
  let sut: TestApp;
  let key: string;

  beforeAll(async () => {
    sut = await createTestApp();
    ({ key } = await createApiKey(sut));
  });

  afterAll(async () => {
    await sut.close();
  });

  it('lists them as unavailable and answers 503 model_unavailable naming the missing variables', async () => {
    const models = await sut.openai(key).models.list();
    const azureModel = models.data.find((model) => model.id === MODEL) as unknown as Record<string, unknown>;
    expect(azureModel).toMatchObject({
      available: false,
      unavailable_reason: expect.stringContaining('AZURE_OPENAI_ENDPOINT'),
    });

    const response = await sut.http('/v1/images/generations', {
      key,
      body: { model: MODEL, prompt: 'p' },
    });
    expect(response.status).toBe(503);
    const body = (await response.json()) as { error: { message: string; code: string } };
    expect(body.error.code).toBe('model_unavailable');
    expect(body.error.message).toContain('AZURE_OPENAI_API_KEY');
  });
});
