import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { FakeGeminiApiServer, inputImagesOf } from '../../../test/fakes/fake-vertex.server.js';
import { errorRejectedBy, errorThrownBy } from '../../../test/utils/thrown-error.js';
import { ErrorCode } from '../../common/errors/error-code.enum.js';
import { GatewayError } from '../../common/errors/gateway.error.js';
import { ByteSpool } from '../../common/spool/byte-spool.js';
import { AppConfig } from '../../config/app.config.js';
import { loadModelCatalogue, type RouteDefinition } from '../../config/models.catalogue.js';
import type { ChatRequest, ChatStreamEvent } from '../chat-provider.interface.js';
import { UpstreamHttp } from '../upstream-http.js';
import { GeminiApiAdapter, type GeminiApiTarget } from './gemini-api.adapter.js';

const CATALOGUE = loadModelCatalogue(fileURLToPath(new URL('../../../config/models.yaml', import.meta.url)));
const LITE = CATALOGUE.find((model) => model.id === 'gemini/google/gemini-3.1-flash-lite-image')!;
const KEY = 'AIza-adapter-spec';
const CHAT: ChatRequest = {
  messages: [{ role: 'user', parts: [{ type: 'text', text: 'a tram in the rain' }] }],
  modalities: ['image', 'text'],
  n: 1,
};

function route(overrides: Partial<RouteDefinition> = {}): RouteDefinition {
  return { name: 'default', weight: 1, fallback: false, ...overrides };
}

function adapter(env: Record<string, string>): GeminiApiAdapter {
  const config = AppConfig.fromEnv(env);
  return new GeminiApiAdapter(config, new UpstreamHttp(config, new ByteSpool(config.spool)));
}

describe(`${GeminiApiAdapter.name}.resolveRoute`, () => {
  it("calls Google's v1beta endpoint with GEMINI_API_KEY by default, the model being the id's last segment", () => {
    expect(adapter({ GEMINI_API_KEY: KEY }).resolveRoute(LITE, route())).toEqual({
      target: {
        modelUrl: 'https://generativelanguage.googleapis.com/v1beta/models/gemini-3.1-flash-lite-image',
        candidatesPerCall: 1,
        pixels: 'gemini-3',
        apiKey: KEY,
      },
      missing: [],
    });
  });

  it("takes GEMINI_BASE_URL (without a trailing slash), or the route's own variables and upstream model", () => {
    const byDefault = adapter({ GEMINI_API_KEY: KEY, GEMINI_BASE_URL: 'http://127.0.0.1:9/v1beta/' });
    const byRoute = adapter({
      GEMINI_API_KEY: KEY,
      EU_GEMINI_URL: 'http://proxy.test/gemini',
      EU_GEMINI_KEY: 'AIza-eu',
    });

    expect(byDefault.resolveRoute(LITE, route()).target).toMatchObject({
      modelUrl: 'http://127.0.0.1:9/v1beta/models/gemini-3.1-flash-lite-image',
    });
    expect(
      byRoute.resolveRoute(
        LITE,
        route({
          endpoint_env: 'EU_GEMINI_URL',
          api_key_env: 'EU_GEMINI_KEY',
          upstream_model: 'gemini-3.1-flash-lite-image-001',
        }),
      ).target,
    ).toMatchObject({ modelUrl: 'http://proxy.test/gemini/models/gemini-3.1-flash-lite-image-001', apiKey: 'AIza-eu' });
  });

  it('names the missing key variable', () => {
    expect(adapter({}).resolveRoute(LITE, route())).toEqual({ missing: ['GEMINI_API_KEY'] });
    expect(adapter({ GEMINI_API_KEY: KEY }).resolveRoute(LITE, route({ api_key_env: 'OTHER_KEY' }))).toEqual({
      missing: ['OTHER_KEY'],
    });
  });

  it("refuses to boot on a route's base URL that is not http(s)", () => {
    const error = errorThrownBy(
      () => adapter({ GEMINI_API_KEY: KEY, MY_BASE: 'ftp://x' }).resolveRoute(LITE, route({ endpoint_env: 'MY_BASE' })),
      Error,
    );

    expect(error.message).toBe(
      'MY_BASE must be an http(s) URL (model gemini/google/gemini-3.1-flash-lite-image, route default)',
    );
  });
});

describe(GeminiApiAdapter.name, () => {
  let gemini: FakeGeminiApiServer;
  let http: UpstreamHttp;
  let sut: GeminiApiAdapter;
  let target: GeminiApiTarget;
  const signal = () => new AbortController().signal;

  beforeAll(async () => {
    gemini = await new FakeGeminiApiServer({ apiKey: KEY, models: ['gemini-3.1-flash-lite-image'] }).start();
    const config = AppConfig.fromEnv({ GEMINI_API_KEY: KEY, GEMINI_BASE_URL: `${gemini.baseUrl}/v1beta` });
    http = new UpstreamHttp(config, new ByteSpool(config.spool));
    sut = new GeminiApiAdapter(config, http);
    target = sut.resolveRoute(LITE, route()).target!;
  });

  afterAll(async () => {
    await http.onApplicationShutdown();
    await gemini.stop();
  });

  beforeEach(() => gemini.reset());

  afterEach(() => {
    expect(gemini.unexpected).toEqual([]);
    for (const request of gemini.generationRequests) {
      expect(request.headers['x-goog-api-key']).toBe(KEY);
      expect(request.headers.authorization).toBeUndefined();
      expect(request.query.has('key')).toBe(false);
    }
  });

  it('generates images at POST {base}/models/{model}:generateContent', async () => {
    const result = await sut.generateImages(
      target,
      { prompt: 'a red tram', n: 1, size: '1024x1536', outputFormat: 'png' },
      signal(),
    );

    expect(gemini.generationRequests.map((request) => request.path)).toEqual([
      '/v1beta/models/gemini-3.1-flash-lite-image:generateContent',
    ]);
    expect(result.size).toBe('848x1264');
    expect(await sharp(result.images[0]!.bytes()).metadata()).toMatchObject({ width: 848, height: 1264 });
  });

  it('edits: the prompt, then the images, their tokens billed at the model’s rate', async () => {
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#fa0' } })
      .png()
      .toBuffer();

    const result = await sut.editImages(
      target,
      {
        prompt: 'paint it blue',
        n: 1,
        size: 'auto',
        outputFormat: 'png',
        images: [{ bytes: png, format: 'png', mimeType: 'image/png', width: 8, height: 8 }],
      },
      signal(),
    );

    expect(inputImagesOf(gemini.generationRequests[0]!).map((image) => image.bytes)).toEqual([png]);
    expect(result.usage.inputImageTokens).toBe(1120);
  });

  it('answers chat, unary and streamed (:streamGenerateContent?alt=sse)', async () => {
    const unary = await sut.chat(target, CHAT, signal());
    const events: ChatStreamEvent[] = [];
    for await (const event of sut.chatStream(target, CHAT, signal())) events.push(event);

    expect(unary.choices[0]).toMatchObject({ index: 0, finishReason: 'stop', images: [{ mimeType: 'image/png' }] });
    expect(gemini.generationRequests[1]!.path).toBe('/v1beta/models/gemini-3.1-flash-lite-image:streamGenerateContent');
    expect(gemini.generationRequests[1]!.query.get('alt')).toBe('sse');
    expect(events.at(-1)).toMatchObject({ type: 'usage', usage: { outputImageTokens: 1120, images: 1 } });
  });

  it('names the Gemini API in its errors (a tier the model does not make: 400 from Google)', async () => {
    const error = await errorRejectedBy(
      () =>
        sut.generateImages(target, { prompt: 'x', n: 1, size: 'auto', imageSize: '2K', outputFormat: 'png' }, signal()),
      GatewayError,
    );

    expect(error.code).toBe(ErrorCode.InvalidRequest);
    expect(error.message).toMatch(/^Gemini API rejected the request: .*image size "2K"/);
  });
});
