import { createApiKey } from '../factories/api-key.factory.js';
import { FakeAzureOpenAiServer } from '../fakes/fake-azure-openai.server.js';
import type { FakeHttpServer } from '../fakes/fake-http.server.js';
import { FakeOpenAiServer } from '../fakes/fake-openai.server.js';
import { FakeGeminiApiServer, FakeVertexServer } from '../fakes/fake-vertex.server.js';
import { createTestApp, type TestApp } from './test-app.js';

export const AZURE_KEY = 'azure-test-key-0123456789';
export const OPENAI_KEY = 'sk-openai-test-key-0123456789';
export const VERTEX_TOKEN = 'vertex-test-token-abc';
export const VERTEX_PROJECT = 'easel-test';
export const VERTEX_LOCATION = 'us-central1';
export const GEMINI_API_KEY = 'AIza-gemini-test-key-0123456789';

export interface UpstreamApp<F extends FakeHttpServer> {
  fake: F;
  sut: TestApp;
  /** An API key of the default team. */
  key: string;
}

/** A fake Azure OpenAI resource with the catalogue's gpt-image deployments, and an app pointed at it. */
export async function startWithAzure(): Promise<UpstreamApp<FakeAzureOpenAiServer>> {
  const fake = await new FakeAzureOpenAiServer({
    apiKey: AZURE_KEY,
    deployments: ['gpt-image-1', 'gpt-image-1.5', 'gpt-image-2'],
  }).start();
  const sut = await createTestApp({ env: { AZURE_OPENAI_ENDPOINT: fake.baseUrl, AZURE_OPENAI_API_KEY: AZURE_KEY } });
  return { fake, sut, key: (await createApiKey(sut)).key };
}

/** A fake OpenAI API serving the catalogue's openai models, and an app pointed at it. */
export async function startWithOpenAi(): Promise<UpstreamApp<FakeOpenAiServer>> {
  const fake = await new FakeOpenAiServer({
    apiKey: OPENAI_KEY,
    models: ['gpt-image-2', 'gpt-image-2.6-sunburst', 'gpt-image-2.6-flare'],
  }).start();
  const sut = await createTestApp({ env: { OPENAI_BASE_URL: `${fake.baseUrl}/v1`, OPENAI_API_KEY: OPENAI_KEY } });
  return { fake, sut, key: (await createApiKey(sut)).key };
}

/**
 * A fake Vertex AI serving gemini-2.5-flash-image (in VERTEX_LOCATION) and the Gemini 3 image
 * models of the catalogue (on `global`), and an app pointed at it (plus any `env` of the test's own).
 */
export async function startWithVertex(env: Record<string, string> = {}): Promise<UpstreamApp<FakeVertexServer>> {
  const fake = await new FakeVertexServer({
    accessToken: VERTEX_TOKEN,
    project: VERTEX_PROJECT,
    location: VERTEX_LOCATION,
    models: ['gemini-2.5-flash-image', 'gemini-3-pro-image', 'gemini-3.1-flash-lite-image'],
  }).start();
  const sut = await createTestApp({
    env: { VERTEX_PROJECT, VERTEX_LOCATION, VERTEX_BASE_URL: fake.baseUrl, VERTEX_ACCESS_TOKEN: VERTEX_TOKEN, ...env },
  });
  return { fake, sut, key: (await createApiKey(sut)).key };
}

/** A fake Gemini API serving the catalogue's gemini models, and an app pointed at it. */
export async function startWithGeminiApi(): Promise<UpstreamApp<FakeGeminiApiServer>> {
  const fake = await new FakeGeminiApiServer({
    apiKey: GEMINI_API_KEY,
    models: ['gemini-3-pro-image', 'gemini-3.1-flash-lite-image', 'gemini-nano-banana-2.1'],
  }).start();
  const sut = await createTestApp({ env: { GEMINI_BASE_URL: `${fake.baseUrl}/v1beta`, GEMINI_API_KEY } });
  return { fake, sut, key: (await createApiKey(sut)).key };
}

export async function stopUpstreamApp(app: UpstreamApp<FakeHttpServer> | undefined): Promise<void> {
  await app?.sut.close();
  await app?.fake.stop();
}

export interface UpstreamAppLifecycle {
  /**
   * A new app before every test but the first, on the same fake and database (keys and usage rows
   * stay): what an app keeps for its life, a circuit breaker per model and route above all, does
   * not carry from one test to the next. For describe blocks whose tests make upstream calls fail.
   */
  appPerTest?: boolean;
}

/**
 * Registers the usual lifecycle for a describe block: start the fake and the app before all
 * tests (handing them to `assign`, again after each restart), reset the fake before each, fail a
 * test that sent the fake an unexpected request, and stop both at the end.
 */
export function useUpstreamApp<F extends FakeHttpServer>(
  start: () => Promise<UpstreamApp<F>>,
  assign: (app: UpstreamApp<F>) => void,
  { appPerTest = false }: UpstreamAppLifecycle = {},
): void {
  let app: UpstreamApp<F> | undefined;
  /** True until the first test has run on the app `start` booted. */
  let fresh = false;
  beforeAll(async () => {
    app = await start();
    fresh = true;
    assign(app);
  });
  beforeEach(async () => {
    app!.fake.reset();
    if (appPerTest && !fresh) {
      app!.sut = await app!.sut.restart();
      assign(app!);
    }
    fresh = false;
  });
  afterEach(() => {
    expect(app!.fake.unexpected).toEqual([]);
  });
  afterAll(() => stopUpstreamApp(app));
}
