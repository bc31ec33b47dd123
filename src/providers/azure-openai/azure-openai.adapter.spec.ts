import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { FakeAzureOpenAiServer } from '../../../test/fakes/fake-azure-openai.server.js';
import { errorRejectedBy, errorThrownBy } from '../../../test/utils/thrown-error.js';
import { ErrorCode } from '../../common/errors/error-code.enum.js';
import { GatewayError } from '../../common/errors/gateway.error.js';
import { RawJsonString } from '../../common/json/raw-json.js';
import { AppConfig } from '../../config/app.config.js';
import { loadModelCatalogue } from '../../config/models.catalogue.js';
import { EMPTY_USAGE } from '../../usage/usage-measure.js';
import type { ImageGenerationRequest, ImageStreamEvent } from '../image-provider.interface.js';
import { UpstreamHttp } from '../upstream-http.js';
import { AzureOpenAiAdapter, fromAzureResponse, toAzureBody } from './azure-openai.adapter.js';
import type { AzureImagesResponse } from './azure-openai.types.js';

const CATALOGUE = fileURLToPath(new URL('../../../config/models.yaml', import.meta.url));
const GPT_IMAGE_1 = loadModelCatalogue(CATALOGUE).find((m) => m.id === 'azure/openai/gpt-image-1')!;

/** A 1×1 transparent PNG. */
const PNG_B64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';

function request(overrides: Partial<ImageGenerationRequest> = {}): ImageGenerationRequest {
  return { prompt: 'an otter', n: 1, size: '1024x1024', outputFormat: 'png', ...overrides };
}

describe('toAzureBody', () => {
  it('sends prompt, n, size and output_format for a minimal request', () => {
    expect(toAzureBody(request())).toEqual({ prompt: 'an otter', n: 1, size: '1024x1024', output_format: 'png' });
  });

  it('omits size when it is auto', () => {
    const body = toAzureBody(request({ size: 'auto' }));

    expect(body).not.toHaveProperty('size');
  });

  it('maps every optional field to its Azure name', () => {
    const body = toAzureBody(
      request({
        n: 3,
        size: '1536x1024',
        quality: 'high',
        background: 'opaque',
        outputFormat: 'jpeg',
        outputCompression: 70,
        moderation: 'low',
        user: 'user-42',
      }),
    );

    expect(body).toEqual({
      prompt: 'an otter',
      n: 3,
      size: '1536x1024',
      quality: 'high',
      background: 'opaque',
      output_format: 'jpeg',
      output_compression: 70,
      moderation: 'low',
      user: 'user-42',
    });
  });

  it('keeps an output_compression of 0', () => {
    expect(toAzureBody(request({ outputFormat: 'jpeg', outputCompression: 0 })).output_compression).toBe(0);
  });

  it('never sends response_format', () => {
    const body = toAzureBody({ ...request(), response_format: 'url' } as ImageGenerationRequest);

    expect(body).not.toHaveProperty('response_format');
    expect(JSON.stringify(body)).not.toContain('response_format');
  });
});

describe('fromAzureResponse', () => {
  const usage: AzureImagesResponse['usage'] = {
    input_tokens: 80,
    input_tokens_details: { text_tokens: 50, image_tokens: 30, cached_tokens: 10 },
    output_tokens: 544,
    output_tokens_details: { image_tokens: 544 },
    total_tokens: 624,
  };

  it('passes base64 through untouched', () => {
    const result = fromAzureResponse({ data: [{ b64_json: PNG_B64 }, { b64_json: 'AAAA' }] }, request({ n: 2 }));

    expect(result.images.map((image) => image.base64())).toEqual([PNG_B64, 'AAAA']);
    expect(result.images[0]!.bytes().subarray(1, 4).toString('latin1')).toBe('PNG');
  });

  it('maps usage: input text and image tokens, cached tokens, output image tokens and the image count', () => {
    const result = fromAzureResponse({ data: [{ b64_json: PNG_B64 }], usage }, request());

    expect(result.usage).toEqual({
      inputTextTokens: 50,
      inputImageTokens: 30,
      cachedInputTokens: 10,
      outputTextTokens: 0,
      outputImageTokens: 544,
      images: 1,
    });
  });

  it('derives text input and image output tokens from the totals when details are missing', () => {
    const result = fromAzureResponse(
      {
        data: [{ b64_json: PNG_B64 }],
        usage: { input_tokens: 50, output_tokens: 600, output_tokens_details: { text_tokens: 56 } },
      },
      request(),
    );

    expect(result.usage).toMatchObject({
      inputTextTokens: 50,
      inputImageTokens: 0,
      outputTextTokens: 56,
      outputImageTokens: 544,
    });
  });

  it('reports zero tokens when there is no usage', () => {
    const result = fromAzureResponse({ data: [{ b64_json: PNG_B64 }, { b64_json: PNG_B64 }] }, request({ n: 2 }));

    expect(result.usage).toEqual({ ...EMPTY_USAGE, images: 2 });
  });

  it('ignores negative or fractional token counts', () => {
    const result = fromAzureResponse(
      { data: [{ b64_json: PNG_B64 }], usage: { input_tokens: -5, output_tokens: 1.5 } },
      request(),
    );

    expect(result.usage.inputTextTokens).toBe(0);
    expect(result.usage.outputImageTokens).toBe(0);
  });

  it('reports what the upstream produced, falling back to the request', () => {
    const produced = fromAzureResponse(
      {
        data: [{ b64_json: PNG_B64 }],
        size: '1024x1536',
        quality: 'medium',
        background: 'opaque',
        output_format: 'jpeg',
      },
      request({ size: 'auto' }),
    );
    const requested = fromAzureResponse(
      { data: [{ b64_json: PNG_B64 }] },
      request({ quality: 'low', outputFormat: 'png' }),
    );

    expect(produced).toMatchObject({
      size: '1024x1536',
      quality: 'medium',
      background: 'opaque',
      outputFormat: 'jpeg',
    });
    expect(requested).toMatchObject({ size: '1024x1024', quality: 'low', background: 'auto', outputFormat: 'png' });
  });

  it('ignores an output_format it does not know', () => {
    const result = fromAzureResponse(
      { data: [{ b64_json: PNG_B64 }], output_format: 'gif' },
      request({ outputFormat: 'png' }),
    );

    expect(result.outputFormat).toBe('png');
  });

  it.each<[string, AzureImagesResponse]>([
    ['no data', {}],
    ['empty data', { data: [] }],
    ['a url instead of base64', { data: [{ url: 'https://example.com/a.png' }] }],
    ['an empty b64_json', { data: [{ b64_json: '' }] }],
    ['one image of two without base64', { data: [{ b64_json: PNG_B64 }, {}] }],
  ])('throws upstream_error for %s', (_what, body) => {
    expect(errorThrownBy(() => fromAzureResponse(body, request()), GatewayError).code).toBe(ErrorCode.UpstreamError);
  });
});

describe(AzureOpenAiAdapter.name, () => {
  const ENV = { AZURE_OPENAI_ENDPOINT: 'https://res.openai.azure.com', AZURE_OPENAI_API_KEY: 'azure-key-123' };

  function adapter(env: Record<string, string | undefined>): AzureOpenAiAdapter {
    return new AzureOpenAiAdapter(AppConfig.fromEnv(env), {} as never);
  }

  /** What `resolveRoute` answers for a route whose variables are all set (`url`: its generations URL). */
  function servedAt(url: string, apiKey: string): object {
    return {
      target: { generationsUrl: url, editsUrl: url.replace('/images/generations?', '/images/edits?'), apiKey },
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
  });
});

describe(`${AzureOpenAiAdapter.name}.generateImagesStream`, () => {
  const API_KEY = 'azure-spec-key';
  let azure: FakeAzureOpenAiServer;
  let http: UpstreamHttp;
  let sut: AzureOpenAiAdapter;

  beforeAll(async () => {
    azure = await new FakeAzureOpenAiServer({ apiKey: API_KEY, deployments: ['gpt-image-1'] }).start();
    const config = AppConfig.fromEnv({ AZURE_OPENAI_ENDPOINT: azure.baseUrl, AZURE_OPENAI_API_KEY: API_KEY });
    http = new UpstreamHttp(config);
    sut = new AzureOpenAiAdapter(config, http);
  });

  afterAll(async () => {
    await http.onApplicationShutdown();
    await azure.stop();
  });

  beforeEach(() => azure.reset());

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
