import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import {
  EDIT_INPUT_IMAGE_TOKENS,
  FakeAzureOpenAiServer,
  OUTPUT_TOKENS,
  UNSUPPORTED_MULTIPART_BODY,
} from '../../../test/fakes/fake-azure-openai.server.js';
import { errorRejectedBy } from '../../../test/utils/thrown-error.js';
import { ErrorCode } from '../../common/errors/error-code.enum.js';
import { GatewayError } from '../../common/errors/gateway.error.js';
import { RawJsonString } from '../../common/json/raw-json.js';
import { ByteSpool } from '../../common/spool/byte-spool.js';
import { AppConfig } from '../../config/app.config.js';
import { loadModelCatalogue } from '../../config/models.catalogue.js';
import { EMPTY_USAGE } from '../../usage/usage-measure.js';
import type { ImageEditRequest, ImageGenerationRequest, ImageStreamEvent } from '../image-provider.interface.js';
import { UpstreamHttp } from '../upstream-http.js';
import { AzureOpenAiAdapter } from './azure-openai.adapter.js';

const CATALOGUE = fileURLToPath(new URL('../../../config/models.yaml', import.meta.url));
const GPT_IMAGE_1 = loadModelCatalogue(CATALOGUE).find((m) => m.id === 'azure/openai/gpt-image-1')!;

function request(overrides: Partial<ImageGenerationRequest> = {}): ImageGenerationRequest {
  return { prompt: 'an otter', n: 1, size: '1024x1024', outputFormat: 'png', ...overrides };
}

describe(AzureOpenAiAdapter.name, () => {
  const ENV = { AZURE_OPENAI_ENDPOINT: 'https://res.openai.azure.com', AZURE_OPENAI_API_KEY: 'azure-key-123' };

  function adapter(env: Record<string, string | undefined>): AzureOpenAiAdapter {
    return new AzureOpenAiAdapter(AppConfig.fromEnv(env), {} as never);
  }

  /** What `resolveRoute` answers for a route whose variables are all set (`url`: its generations URL). */
  function servedAt(url: string, apiKey: string): object {
    return {
      target: {
        generationsUrl: url,
        editsUrl: url.replace('/images/generations?', '/images/edits?'),
        headers: { 'api-key': apiKey },
      },
      missing: [],
    };
  }

  describe('resolveRoute', () => {
    it('builds the deployment URL with the default api-version', () => {
      const sut = adapter(ENV);

      const resolved = sut.resolveRoute(GPT_IMAGE_1, GPT_IMAGE_1.routes[0]!);

      expect(resolved).toEqual(
        servedAt(
          'https://res.openai.azure.com/openai/deployments/gpt-image-1/images/generations?api-version=2025-04-01-preview',
          'azure-key-123',
        ),
      );
    });

    it('handles a trailing slash on the endpoint', () => {
      const sut = adapter({ ...ENV, AZURE_OPENAI_ENDPOINT: 'https://res.openai.azure.com/' });

      expect(sut.resolveRoute(GPT_IMAGE_1, GPT_IMAGE_1.routes[0]!).target!.generationsUrl).toBe(
        'https://res.openai.azure.com/openai/deployments/gpt-image-1/images/generations?api-version=2025-04-01-preview',
      );
    });

    it('uses AZURE_OPENAI_API_VERSION', () => {
      const sut = adapter({ ...ENV, AZURE_OPENAI_API_VERSION: '2025-06-01' });

      expect(sut.resolveRoute(GPT_IMAGE_1, GPT_IMAGE_1.routes[0]!).target!.generationsUrl).toMatch(
        /\?api-version=2025-06-01$/,
      );
    });

    it("defaults the deployment to the model id's last segment", () => {
      const sut = adapter(ENV);

      const resolved = sut.resolveRoute(GPT_IMAGE_1, { name: 'default', weight: 1, fallback: false });

      expect(resolved.target!.generationsUrl).toContain('/openai/deployments/gpt-image-1/images/generations');
    });

    it("reads the route's own variables, deployment and api_version", () => {
      const sut = adapter({ EU_ENDPOINT: 'https://eu.openai.azure.com//', EU_KEY: 'eu-key' });
      const resolved = sut.resolveRoute(GPT_IMAGE_1, {
        name: 'eu',
        weight: 1,
        fallback: false,
        deployment: 'img one',
        endpoint_env: 'EU_ENDPOINT',
        api_key_env: 'EU_KEY',
        api_version: '2025-01-01',
      });

      expect(resolved).toEqual(
        servedAt(
          'https://eu.openai.azure.com/openai/deployments/img%20one/images/generations?api-version=2025-01-01',
          'eu-key',
        ),
      );
    });

    it('lists both missing variables by name', () => {
      const sut = adapter({});

      expect(sut.resolveRoute(GPT_IMAGE_1, GPT_IMAGE_1.routes[0]!)).toEqual({
        missing: ['AZURE_OPENAI_ENDPOINT', 'AZURE_OPENAI_API_KEY'],
      });
    });

    it('lists only the missing key', () => {
      const sut = adapter({ AZURE_OPENAI_ENDPOINT: ENV.AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY: '  ' });

      const resolved = sut.resolveRoute(GPT_IMAGE_1, GPT_IMAGE_1.routes[0]!);

      expect(resolved.target).toBeUndefined();
      expect(resolved.missing).toEqual(['AZURE_OPENAI_API_KEY']);
    });

    it("names the route's own variables when they are missing", () => {
      const sut = adapter(ENV);

      const resolved = sut.resolveRoute(GPT_IMAGE_1, {
        name: 'eu',
        weight: 1,
        fallback: false,
        endpoint_env: 'EU_ENDPOINT',
        api_key_env: 'EU_KEY',
      });

      expect(resolved.missing).toEqual(['EU_ENDPOINT', 'EU_KEY']);
    });

    it("refuses to start on a route's endpoint that is not an http(s) URL", () => {
      const sut = adapter({ EU_ENDPOINT: 'ftp://eu.openai.azure.com', EU_KEY: 'eu-key' });

      expect(() =>
        sut.resolveRoute(GPT_IMAGE_1, {
          name: 'eu',
          weight: 1,
          fallback: false,
          endpoint_env: 'EU_ENDPOINT',
          api_key_env: 'EU_KEY',
        }),
      ).toThrow('EU_ENDPOINT must be an http(s) URL (model azure/openai/gpt-image-1, route eu)');
    });
  });
});

describe(`${AzureOpenAiAdapter.name} against its fake`, () => {
  const API_KEY = 'azure-spec-key';
  let azure: FakeAzureOpenAiServer;
  let http: UpstreamHttp;
  let sut: AzureOpenAiAdapter;

  beforeAll(async () => {
    azure = await new FakeAzureOpenAiServer({ apiKey: API_KEY, deployments: ['gpt-image-1'] }).start();
    const config = AppConfig.fromEnv({ AZURE_OPENAI_ENDPOINT: azure.baseUrl, AZURE_OPENAI_API_KEY: API_KEY });
    http = new UpstreamHttp(config, new ByteSpool(config.spool));
    sut = new AzureOpenAiAdapter(config, http);
  });

  afterAll(async () => {
    await http.onApplicationShutdown();
    await azure.stop();
  });

  beforeEach(() => azure.reset());

  const signal = () => new AbortController().signal;
  const target = () => sut.resolveRoute(GPT_IMAGE_1, GPT_IMAGE_1.routes[0]!).target!;
  let photo: Buffer;
  const edit = (overrides: Partial<ImageEditRequest> = {}): ImageEditRequest => ({
    ...request(),
    images: [{ bytes: photo, format: 'png', mimeType: 'image/png', width: 64, height: 64 }],
    ...overrides,
  });

  beforeAll(async () => {
    photo = await sharp({ create: { width: 64, height: 64, channels: 4, background: '#08c' } })
      .png()
      .toBuffer();
  });

  it('generates at the deployment URL with the api-key, no model in the body, and reads the usage', async () => {
    const result = await sut.generateImages(target(), request({ quality: 'low' }), signal());

    const [call] = azure.generationRequests;
    expect(call!.path).toBe('/openai/deployments/gpt-image-1/images/generations');
    expect(call!.headers['api-key']).toBe(API_KEY);
    expect(call!.headers.authorization).toBeUndefined();
    expect(call!.body).toEqual({ prompt: 'an otter', n: 1, size: '1024x1024', quality: 'low', output_format: 'png' });
    expect(result).toMatchObject({ size: '1024x1024', quality: 'low', background: 'opaque', outputFormat: 'png' });
    expect(result.usage).toEqual({
      ...EMPTY_USAGE,
      inputTextTokens: 2,
      outputImageTokens: OUTPUT_TOKENS.low!['1024x1024'],
      images: 1,
    });
  });

  it('edits with a multipart form that names no model, and reads the input image tokens', async () => {
    const result = await sut.editImages(target(), edit({ inputFidelity: 'high' }), signal());

    const [call] = azure.editRequests;
    expect(call!.request.path).toBe('/openai/deployments/gpt-image-1/images/edits');
    expect(call!.request.headers['api-key']).toBe(API_KEY);
    expect(call!.fields).toEqual({
      prompt: 'an otter',
      n: '1',
      size: '1024x1024',
      output_format: 'png',
      input_fidelity: 'high',
    });
    expect(call!.files).toEqual([{ field: 'image', filename: 'image-0.png', contentType: 'image/png', bytes: photo }]);
    expect(result.usage.inputImageTokens).toBe(EDIT_INPUT_IMAGE_TOKENS.high);
  });

  it('streams an edit: partial images, the completed one, then the usage', async () => {
    const events: ImageStreamEvent[] = [];
    for await (const event of sut.editImagesStream(target(), edit({ quality: 'low' }), 2, signal())) events.push(event);

    expect(azure.editRequests[0]!.fields).toMatchObject({ stream: 'true', partial_images: '2' });
    expect(events.map((event) => event.type)).toEqual(['partial', 'partial', 'completed', 'done']);
    expect(events.at(-1)).toMatchObject({ type: 'done', usage: { inputImageTokens: EDIT_INPUT_IMAGE_TOKENS.low } });
  });

  it('takes Azure\'s intermittent "Unsupported content type" refusal of an edit as transient, and other 400s not', async () => {
    azure.enqueue(
      { status: 400, body: UNSUPPORTED_MULTIPART_BODY },
      { status: 400, body: { error: { code: 'invalid_value', message: 'Invalid size.', param: 'size' } } },
    );

    const quirk = await errorRejectedBy(() => sut.editImages(target(), edit(), signal()), GatewayError);
    const refused = await errorRejectedBy(() => sut.editImages(target(), edit(), signal()), GatewayError);

    expect([quirk.code, quirk.transient]).toEqual([ErrorCode.UpstreamError, true]);
    expect([refused.code, refused.transient, refused.message]).toEqual([
      ErrorCode.InvalidRequest,
      false,
      'Azure OpenAI rejected the request: Invalid size.',
    ]);
  });

  it('takes a 429 as transient, with its Retry-After', async () => {
    azure.enqueue({ status: 429, headers: { 'retry-after': '3' }, body: { error: { code: '429', message: 'busy' } } });

    const failure = await errorRejectedBy(() => sut.generateImages(target(), request(), signal()), GatewayError);

    expect([failure.code, failure.transient, failure.headers]).toEqual([
      ErrorCode.UpstreamError,
      true,
      { 'retry-after': '3' },
    ]);
  });

  /** Streams these events (`event:` and `data:` each) and collects what the adapter yields. */
  async function streamed(...events: Array<[string, string]>): Promise<ImageStreamEvent[]> {
    azure.enqueue({
      status: 200,
      stream: { events: [...events.map(([type, data]) => `event: ${type}\ndata: ${data}\n\n`), 'data: [DONE]\n\n'] },
    });
    const target = sut.resolveRoute(GPT_IMAGE_1, GPT_IMAGE_1.routes[0]!).target!;
    const yielded: ImageStreamEvent[] = [];
    for await (const event of sut.generateImagesStream(target, request(), 1, new AbortController().signal))
      yielded.push(event);
    return yielded;
  }

  const partial = (b64: string) =>
    [
      'image_generation.partial_image',
      `{"type":"image_generation.partial_image","b64_json":"${b64}","partial_image_index":0}`,
    ] as [string, string];
  const completed = (b64: string) =>
    ['image_generation.completed', `{"type":"image_generation.completed","b64_json":"${b64}","size":"1024x1024"}`] as [
      string,
      string,
    ];

  it("keeps a long image's base64 as the bytes of the event, and decodes one with escapes", async () => {
    const image = randomBytes(30_000).toString('base64');

    const events = await streamed(partial(image), completed(`${image.slice(0, 9_000)}\\/${image.slice(9_000)}`));

    const images = events.flatMap((event) => ('image' in event ? [event.image.base64()] : []));
    expect(images[0]).toBeInstanceOf(RawJsonString);
    expect(images[0]!.toString()).toBe(image);
    expect(images[1]).toBe(`${image.slice(0, 9_000)}/${image.slice(9_000)}`);
    expect(events.at(-1)).toMatchObject({ type: 'done', size: '1024x1024' });
  });

  it.each([
    ['a control character in its image data', completed(`${'A'.repeat(5_000)}\t${'A'.repeat(5_000)}`)],
    [
      'JSON cut short after its image data',
      [completed('A'.repeat(10_000))[0], completed('A'.repeat(10_000))[1].slice(0, -1)],
    ],
  ] as Array<[string, [string, string]]>)(
    'fails with upstream_error on an event with %s, as JSON.parse would',
    async (_what, event) => {
      const failure = await errorRejectedBy(() => streamed(event), GatewayError);

      expect(failure.code).toBe(ErrorCode.UpstreamError);
    },
  );
});
