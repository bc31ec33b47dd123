import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { FakeOpenAiServer } from '../../../test/fakes/fake-openai.server.js';
import {
  EDIT_INPUT_IMAGE_TOKENS,
  outputImageTokens,
  SQUARE_OUTPUT_TOKENS_V2,
} from '../../../test/fakes/fake-openai-images.server.js';
import { errorRejectedBy } from '../../../test/utils/thrown-error.js';
import { ErrorCode } from '../../common/errors/error-code.enum.js';
import { GatewayError } from '../../common/errors/gateway.error.js';
import { ByteSpool } from '../../common/spool/byte-spool.js';
import { AppConfig } from '../../config/app.config.js';
import { loadModelCatalogue, type RouteDefinition } from '../../config/models.catalogue.js';
import { EMPTY_USAGE } from '../../usage/usage-measure.js';
import type { ImageEditRequest, ImageGenerationRequest, ImageStreamEvent } from '../image-provider.interface.js';
import { UpstreamHttp } from '../upstream-http.js';
import { OpenAiAdapter } from './openai.adapter.js';

const CATALOGUE = fileURLToPath(new URL('../../../config/models.yaml', import.meta.url));
const SUNBURST = loadModelCatalogue(CATALOGUE).find((m) => m.id === 'openai/openai/gpt-image-2.6-sunburst')!;

function request(overrides: Partial<ImageGenerationRequest> = {}): ImageGenerationRequest {
  return { prompt: 'an otter', n: 1, size: '1024x1024', outputFormat: 'png', ...overrides };
}

function route(overrides: Partial<RouteDefinition> = {}): RouteDefinition {
  return { name: 'default', weight: 1, fallback: false, ...overrides };
}

describe(OpenAiAdapter.name, () => {
  function adapter(env: Record<string, string | undefined>): OpenAiAdapter {
    return new OpenAiAdapter(AppConfig.fromEnv(env), {} as never);
  }

  /** What `resolveRoute` answers for a route whose key is set. */
  function servedAt(base: string, apiKey: string, model: string): object {
    return {
      target: {
        generationsUrl: `${base}/images/generations`,
        editsUrl: `${base}/images/edits`,
        headers: { authorization: `Bearer ${apiKey}` },
        model,
      },
      missing: [],
    };
  }

  describe('resolveRoute', () => {
    it("calls the public API with OPENAI_API_KEY, naming the model id's last segment", () => {
      const sut = adapter({ OPENAI_API_KEY: 'sk-123' });

      expect(sut.resolveRoute(SUNBURST, SUNBURST.routes[0]!)).toEqual(
        servedAt('https://api.openai.com/v1', 'sk-123', 'gpt-image-2.6-sunburst'),
      );
    });

    it('uses OPENAI_BASE_URL without its trailing slashes', () => {
      const sut = adapter({ OPENAI_API_KEY: 'sk-123', OPENAI_BASE_URL: 'https://proxy.example.com/openai/v1//' });

      expect(sut.resolveRoute(SUNBURST, route()).target!.generationsUrl).toBe(
        'https://proxy.example.com/openai/v1/images/generations',
      );
    });

    it("reads the route's own variables and upstream model", () => {
      const sut = adapter({ OPENAI_API_KEY: 'sk-default', EU_BASE: 'https://eu.example.com/v1/', EU_KEY: 'sk-eu' });

      const resolved = sut.resolveRoute(
        SUNBURST,
        route({
          name: 'eu',
          endpoint_env: 'EU_BASE',
          api_key_env: 'EU_KEY',
          upstream_model: 'gpt-image-2.6-sunburst-eu',
        }),
      );

      expect(resolved).toEqual(servedAt('https://eu.example.com/v1', 'sk-eu', 'gpt-image-2.6-sunburst-eu'));
    });

    it('names the missing key, the default one or the route’s own', () => {
      expect(adapter({ OPENAI_API_KEY: ' ' }).resolveRoute(SUNBURST, route())).toEqual({ missing: ['OPENAI_API_KEY'] });
      expect(adapter({ OPENAI_API_KEY: 'sk-123' }).resolveRoute(SUNBURST, route({ api_key_env: 'EU_KEY' }))).toEqual({
        missing: ['EU_KEY'],
      });
    });

    it('refuses to start on a base URL that is not http(s), key or not', () => {
      const sut = adapter({ EU_BASE: 'api.openai.com/v1' });

      expect(() => sut.resolveRoute(SUNBURST, route({ name: 'eu', endpoint_env: 'EU_BASE' }))).toThrow(
        'EU_BASE must be an http(s) URL (model openai/openai/gpt-image-2.6-sunburst, route eu)',
      );
    });
  });
});

describe(`${OpenAiAdapter.name} against its fake`, () => {
  const API_KEY = 'sk-openai-spec-key';
  let openai: FakeOpenAiServer;
  let http: UpstreamHttp;
  let sut: OpenAiAdapter;
  let photo: Buffer;

  beforeAll(async () => {
    openai = await new FakeOpenAiServer({ apiKey: API_KEY, models: ['gpt-image-2.6-sunburst'] }).start();
    const config = AppConfig.fromEnv({ OPENAI_BASE_URL: `${openai.baseUrl}/v1`, OPENAI_API_KEY: API_KEY });
    http = new UpstreamHttp(config, new ByteSpool(config.spool));
    sut = new OpenAiAdapter(config, http);
    photo = await sharp({ create: { width: 64, height: 64, channels: 4, background: '#08c' } })
      .png()
      .toBuffer();
  });

  afterAll(async () => {
    await http.onApplicationShutdown();
    await openai.stop();
  });

  beforeEach(() => openai.reset());

  const signal = () => new AbortController().signal;
  const target = () => sut.resolveRoute(SUNBURST, SUNBURST.routes[0]!).target!;
  const edit = (overrides: Partial<ImageEditRequest> = {}): ImageEditRequest => ({
    ...request(),
    images: [{ bytes: photo, format: 'png', mimeType: 'image/png', width: 64, height: 64 }],
    ...overrides,
  });
  const collect = async (events: AsyncIterable<ImageStreamEvent>) => {
    const collected: ImageStreamEvent[] = [];
    for await (const event of events) collected.push(event);
    return collected;
  };

  it('generates with the bearer key and the model in the body, and reads the usage', async () => {
    const result = await sut.generateImages(
      target(),
      request({ size: '1280x720', quality: 'xhigh', outputFormat: 'webp' }),
      signal(),
    );

    const [call] = openai.generationRequests;
    expect(call!.path).toBe('/v1/images/generations');
    expect(call!.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(call!.headers['api-key']).toBeUndefined();
    expect(call!.body).toEqual({
      model: 'gpt-image-2.6-sunburst',
      prompt: 'an otter',
      n: 1,
      size: '1280x720',
      quality: 'xhigh',
      output_format: 'webp',
    });
    expect(result).toMatchObject({ size: '1280x720', quality: 'xhigh', outputFormat: 'webp' });
    expect(result.usage).toEqual({
      ...EMPTY_USAGE,
      inputTextTokens: 2,
      outputImageTokens: outputImageTokens('gpt-image-2.6-sunburst', 'xhigh', '1280x720'),
      images: 1,
    });
  });

  it('edits with the model as a form field before the images', async () => {
    const result = await sut.editImages(target(), edit({ size: 'auto', quality: 'low' }), signal());

    const [call] = openai.editRequests;
    expect(call!.request.path).toBe('/v1/images/edits');
    expect(call!.request.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(call!.fields).toEqual({
      model: 'gpt-image-2.6-sunburst',
      prompt: 'an otter',
      n: '1',
      quality: 'low',
      output_format: 'png',
    });
    expect(call!.files).toEqual([{ field: 'image', filename: 'image-0.png', contentType: 'image/png', bytes: photo }]);
    expect(result.usage).toMatchObject({ inputImageTokens: EDIT_INPUT_IMAGE_TOKENS.high, images: 1 });
  });

  it('streams a generation: partial images, the completed one, then what was made and the usage', async () => {
    const events = await collect(sut.generateImagesStream(target(), request({ quality: 'max' }), 2, signal()));

    expect(openai.generationRequests[0]!.body).toMatchObject({
      model: 'gpt-image-2.6-sunburst',
      stream: true,
      partial_images: 2,
    });
    expect(events.map((event) => event.type)).toEqual(['partial', 'partial', 'completed', 'done']);
    expect(events.at(-1)).toEqual({
      type: 'done',
      size: '1024x1024',
      quality: 'max',
      background: 'opaque',
      outputFormat: 'png',
      usage: { ...EMPTY_USAGE, inputTextTokens: 2, outputImageTokens: SQUARE_OUTPUT_TOKENS_V2.max, images: 1 },
    });
  });

  it('streams an edit with stream and partial_images in the form', async () => {
    const events = await collect(sut.editImagesStream(target(), edit(), 1, signal()));

    expect(openai.editRequests[0]!.fields).toMatchObject({
      model: 'gpt-image-2.6-sunburst',
      stream: 'true',
      partial_images: '1',
    });
    expect(events.map((event) => event.type)).toEqual(['partial', 'completed', 'done']);
  });

  it.each<[string, number, object, ErrorCode, boolean]>([
    [
      'a wrong key (401)',
      401,
      { error: { code: 'invalid_api_key', message: 'Incorrect API key' } },
      ErrorCode.UpstreamError,
      false,
    ],
    [
      'an unknown model (404)',
      404,
      { error: { code: 'model_not_found', message: 'no such model' } },
      ErrorCode.UpstreamError,
      false,
    ],
    ['a 429', 429, { error: { code: 'rate_limit_exceeded', message: 'slow down' } }, ErrorCode.UpstreamError, true],
    ['a 500', 500, { error: { message: 'The server had an error' } }, ErrorCode.UpstreamError, true],
    [
      'a moderation refusal',
      400,
      { error: { code: 'moderation_blocked', message: 'Your request was rejected by the safety system.' } },
      ErrorCode.ContentPolicyViolation,
      false,
    ],
    [
      'an invalid value',
      400,
      { error: { code: 'invalid_value', message: 'Invalid size.' } },
      ErrorCode.InvalidRequest,
      false,
    ],
  ])('maps %s as the other upstreams', async (_what, status, body, code, transient) => {
    openai.enqueue({ status, body });

    const failure = await errorRejectedBy(() => sut.generateImages(target(), request(), signal()), GatewayError);

    expect([failure.code, failure.transient]).toEqual([code, transient]);
    expect(failure.message).not.toContain(API_KEY);
  });

  it('names OpenAI when it rejects a request', async () => {
    openai.enqueue({
      status: 400,
      body: { error: { code: 'invalid_value', message: 'Invalid size.', param: 'size' } },
    });

    const failure = await errorRejectedBy(() => sut.editImages(target(), edit(), signal()), GatewayError);

    expect(failure.message).toBe('OpenAI rejected the request: Invalid size.');
  });

  it('fails a stream that ends without a completed image with upstream_error', async () => {
    openai.enqueue({
      status: 200,
      stream: {
        events: [
          'event: image_generation.partial_image\ndata: {"type":"image_generation.partial_image","b64_json":"AAAA"}\n\n',
        ],
      },
    });

    const failure = await errorRejectedBy(
      () => collect(sut.generateImagesStream(target(), request(), 1, signal())),
      GatewayError,
    );

    expect([failure.code, failure.message]).toEqual([
      ErrorCode.UpstreamError,
      'OpenAI failed: the stream ended without a completed image.',
    ]);
  });
});
