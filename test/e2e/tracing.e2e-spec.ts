import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { parse, stringify } from 'yaml';
import { UsageRecorder } from '../../src/usage/usage.recorder.js';
import { createApiKey } from '../factories/api-key.factory.js';
import { FakeAzureOpenAiServer } from '../fakes/fake-azure-openai.server.js';
import { createTestApp, type TestApp } from '../utils/test-app.js';
import { AZURE_KEY } from '../utils/upstream-apps.js';
import { waitFor } from '../utils/wait-for.js';

const MODEL = 'azure/openai/gpt-image-1.5';
const PROMPT = 'a lighthouse painted in the style of a secret recipe 7f3a';
const SECONDARY_KEY = 'secondary-key-0123456789';

/**
 * OpenTelemetry tracing against real HTTP fakes: the spans Easel makes itself (the request, its key
 * check, its validation, each upstream attempt, the storage upload and the usage record), exported
 * by an in-memory exporter once a tracer provider is registered, and nothing while none is.
 */
describe('Tracing', () => {
  const exporter = new InMemorySpanExporter();
  let provider: TracerProvider | undefined;
  let primary: FakeAzureOpenAiServer;
  let secondary: FakeAzureOpenAiServer;
  let dir: string;
  let sut: TestApp;
  let key: string;

  beforeAll(async () => {
    primary = await new FakeAzureOpenAiServer({ apiKey: AZURE_KEY, deployments: ['gpt-image-1.5'] }).start();
    secondary = await new FakeAzureOpenAiServer({ apiKey: SECONDARY_KEY, deployments: ['gpt-image-1.5-eu'] }).start();
    // The shipped catalogue, with a fallback route for the model on a second Azure resource.
    const catalogue = parse(await readFile('config/models.yaml', 'utf8')) as {
      models: Array<{ id: string; routes: object[] }>;
    };
    catalogue.models
      .find((model) => model.id === MODEL)!
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
        AZURE_SECONDARY_API_KEY: SECONDARY_KEY,
      },
    });
    ({ key } = await createApiKey(sut));
  });

  afterAll(async () => {
    await sut.close();
    await primary.stop();
    await secondary.stop();
    await rm(dir, { recursive: true, force: true });
    await provider?.shutdown();
    trace.disable();
    context.disable();
  });

  /** The primary route fails with a 500 (retried), then a 429 asking for a minute (not waited for: fallback). */
  const generate = async () => {
    primary.enqueue(
      { status: 500, body: { error: { code: 'InternalServerError', message: 'boom' } } },
      { status: 429, headers: { 'retry-after': '60' }, body: { error: { code: '429', message: 'slow down' } } },
    );
    const response = await sut.http('/v1/images/generations', { key, body: { model: MODEL, prompt: PROMPT } });
    expect(response.status).toBe(200);
    await response.json();
    expect(primary.generationRequests).toHaveLength(2);
    expect(secondary.generationRequests).toHaveLength(1);
    return response;
  };

  beforeEach(() => {
    primary.reset();
    secondary.reset();
    exporter.reset();
  });

  it('records no span while no SDK is registered (tracing off)', async () => {
    await generate();
    await sut.app.get(UsageRecorder).flush();
    expect(trace.getActiveSpan()).toBeUndefined();
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it('traces a request with one retry and a fallback: its spans, their tree and their attributes', async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
    trace.setGlobalTracerProvider(provider);

    const response = await generate();
    const root = await waitFor(
      async () => exporter.getFinishedSpans().find((span) => span.name === 'easel.request'),
      (span) => span !== undefined,
    );
    const spans = exporter.getFinishedSpans();
    const traceId = root!.spanContext().traceId;
    const inTrace = spans.filter((span) => span.spanContext().traceId === traceId);
    const childrenOf = (parent: ReadableSpan) =>
      inTrace.filter((span) => span.parentSpanContext?.spanId === parent.spanContext().spanId);

    // One root, with the request's steps as its children.
    expect(root!.parentSpanContext).toBeUndefined();
    expect(childrenOf(root!).map((span) => span.name)).toEqual(
      expect.arrayContaining([
        'easel.auth',
        'easel.validate',
        'easel.upstream.attempt',
        'easel.storage.put',
        'easel.usage.record',
      ]),
    );
    expect(inTrace.every((span) => span === root || span.parentSpanContext?.spanId !== undefined)).toBe(true);
    expect(root!.attributes).toMatchObject({
      'http.request.method': 'POST',
      'http.route': '/v1/images/generations',
      'http.response.status_code': 200,
      'gen_ai.system': 'azure-openai',
      'gen_ai.request.model': MODEL,
      'gen_ai.response.model': MODEL,
      'easel.route': 'secondary',
      'easel.cost_usd': response.headers.get('x-easel-cost-usd'),
    });
    expect(root!.attributes['gen_ai.usage.input_tokens']).toEqual(expect.any(Number));
    expect(root!.attributes['gen_ai.usage.output_tokens']).toBeGreaterThan(0);
    expect(Number(root!.attributes['easel.cost_usd'])).toBeGreaterThan(0);

    // One span per attempt, in order: the first try, its retry on the same route, the fallback.
    const attempts = childrenOf(root!)
      .filter((span) => span.name === 'easel.upstream.attempt')
      .sort((a, b) => Number(a.attributes['easel.attempt']) - Number(b.attributes['easel.attempt']));
    expect(attempts.map((span) => span.attributes)).toEqual([
      expect.objectContaining({
        'easel.route': 'default',
        'easel.attempt': 1,
        'easel.retry': false,
        'easel.fallback': false,
        'easel.outcome': 'retry',
        'http.response.status_code': 500,
        'error.type': 'upstream_error',
      }),
      expect.objectContaining({
        'easel.route': 'default',
        'easel.attempt': 2,
        'easel.retry': true,
        'easel.fallback': false,
        'easel.outcome': 'failed',
        'http.response.status_code': 429,
      }),
      expect.objectContaining({
        'easel.route': 'secondary',
        'easel.attempt': 3,
        'easel.retry': false,
        'easel.fallback': true,
        'easel.outcome': 'success',
      }),
    ]);
    expect(attempts.map((span) => span.status.code)).toEqual([2, 2, 0]);

    const put = childrenOf(root!).find((span) => span.name === 'easel.storage.put')!;
    expect(put.attributes).toMatchObject({ 'easel.image.format': 'png', 'easel.image.bytes': expect.any(Number) });
    expect(childrenOf(root!).find((span) => span.name === 'easel.validate')!.attributes).toEqual({
      'easel.validate.part': 'body',
    });

    // The batch INSERT that stores the record is a trace of its own.
    await sut.app.get(UsageRecorder).flush();
    const insert = exporter.getFinishedSpans().find((span) => span.name === 'easel.usage.insert');
    expect(insert).toBeDefined();
    expect(insert!.parentSpanContext).toBeUndefined();
    expect(insert!.spanContext().traceId).not.toBe(traceId);
    expect(insert!.attributes['easel.usage.rows']).toBeGreaterThanOrEqual(1);

    // Never the prompt, the key or an image.
    const recorded = JSON.stringify(exporter.getFinishedSpans().map((span) => span.attributes));
    expect(recorded).not.toContain(PROMPT);
    expect(recorded).not.toContain('lighthouse');
    expect(recorded).not.toContain(key);
    expect(recorded).not.toContain(key.slice(0, 12));
    expect(recorded).not.toContain(AZURE_KEY);
    expect(recorded).not.toMatch(/[A-Za-z0-9+/]{200,}/);
  });
});
