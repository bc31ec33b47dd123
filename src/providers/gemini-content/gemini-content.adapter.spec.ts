import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { FakeGeminiApiServer, googleError, IMAGE_SAFETY_REFUSAL } from '../../../test/fakes/fake-vertex.server.js';
import { errorRejectedBy } from '../../../test/utils/thrown-error.js';
import { waitFor } from '../../../test/utils/wait-for.js';
import { ErrorCode } from '../../common/errors/error-code.enum.js';
import { GatewayError } from '../../common/errors/gateway.error.js';
import { ByteSpool } from '../../common/spool/byte-spool.js';
import { AppConfig } from '../../config/app.config.js';
import { loadModelCatalogue } from '../../config/models.catalogue.js';
import { EMPTY_USAGE } from '../../usage/usage-measure.js';
import type { ChatRequest } from '../chat-provider.interface.js';
import { GeminiApiAdapter, type GeminiApiTarget } from '../gemini/gemini-api.adapter.js';
import type { ImageEditRequest, ImageGenerationRequest } from '../image-provider.interface.js';
import { UpstreamHttp } from '../upstream-http.js';
import { GeminiContentAdapter, geminiContentTarget } from './gemini-content.adapter.js';

const KEY = 'AIza-content-spec';
const CATALOGUE = loadModelCatalogue(fileURLToPath(new URL('../../../config/models.yaml', import.meta.url)));
const model = (id: string) => CATALOGUE.find((candidate) => candidate.id === id)!;
const PROMPT = 'abcdefghij'; // the fake counts ceil(10 / 4) = 3 text tokens

function images(overrides: Partial<ImageGenerationRequest> = {}): ImageGenerationRequest {
  return { prompt: PROMPT, n: 1, size: '1024x1024', outputFormat: 'png', ...overrides };
}

function chat(overrides: Partial<ChatRequest> = {}): ChatRequest {
  return {
    messages: [{ role: 'user', parts: [{ type: 'text', text: PROMPT }] }],
    modalities: ['image'],
    n: 1,
    ...overrides,
  };
}

/**
 * The protocol, through the Gemini API's adapter (its own spec covers what is its own: the route,
 * the key header), on targets made here so that one upstream model can stand for either per-call limit.
 */
describe(GeminiContentAdapter.name, () => {
  let gemini: FakeGeminiApiServer;
  let http: UpstreamHttp;
  let sut: GeminiContentAdapter<GeminiApiTarget>;
  /** gemini-3-pro-image: one candidate per call, size tiers. */
  let pro: GeminiApiTarget;
  /** The same upstream model as if it took 8 candidates per call (as gemini-2.5-flash-image does). */
  let eightPerCall: GeminiApiTarget;
  const signal = () => new AbortController().signal;

  beforeAll(async () => {
    gemini = await new FakeGeminiApiServer({
      apiKey: KEY,
      models: ['gemini-3-pro-image', 'gemini-2.5-flash-image'],
    }).start();
    const config = AppConfig.fromEnv({});
    http = new UpstreamHttp(config, new ByteSpool(config.spool));
    sut = new GeminiApiAdapter(config, http);
    const target = (id: string, upstreamModel: string): GeminiApiTarget => ({
      ...geminiContentTarget(model(id), `${gemini.baseUrl}/v1beta/models/${upstreamModel}`),
      apiKey: KEY,
    });
    pro = target('gemini/google/gemini-3-pro-image', 'gemini-3-pro-image');
    eightPerCall = target('vertex/google/gemini-2.5-flash-image', 'gemini-2.5-flash-image');
  });

  afterAll(async () => {
    await http.onApplicationShutdown();
    await gemini.stop();
  });

  beforeEach(() => gemini.reset());

  afterEach(() => expect(gemini.unexpected).toEqual([]));

  const bodies = () => gemini.generationRequests.map((request) => request.body as any);

  describe('images', () => {
    it('sends the tier as imageConfig.imageSize and reports the pixels of the ratio at that tier', async () => {
      const result = await sut.generateImages(pro, images({ size: '1792x1024', imageSize: '2K' }), signal());

      expect(bodies()).toEqual([
        {
          contents: [{ role: 'user', parts: [{ text: PROMPT }] }],
          generationConfig: { responseModalities: ['IMAGE'], imageConfig: { aspectRatio: '16:9', imageSize: '2K' } },
        },
      ]);
      expect(result.size).toBe('2752x1536');
      expect(await sharp(result.images[0]!.bytes()).metadata()).toMatchObject({ width: 2752, height: 1536 });
    });

    it('reports the Gemini 3 1K size when no tier is asked, and 2.5’s size on a 2.5 model', async () => {
      const gemini3 = await sut.generateImages(pro, images({ size: '1536x1024' }), signal());
      const gemini25 = await sut.generateImages(eightPerCall, images({ size: '1536x1024' }), signal());

      expect(bodies().map((body) => body.generationConfig.imageConfig)).toEqual([
        { aspectRatio: '3:2' },
        { aspectRatio: '3:2' },
      ]);
      expect([gemini3.size, gemini25.size]).toEqual(['1264x848', '1248x832']);
    });

    it('makes n = 3 three calls of one candidate (no candidateCount) and sums their usage', async () => {
      const result = await sut.generateImages(pro, images({ n: 3, imageSize: '4K', size: '1024x1024' }), signal());

      expect(bodies()).toHaveLength(3);
      for (const body of bodies()) expect(body.generationConfig).not.toHaveProperty('candidateCount');
      expect(result.images).toHaveLength(3);
      expect(result.size).toBe('4096x4096');
      expect(result.usage).toEqual({ ...EMPTY_USAGE, inputTextTokens: 9, outputImageTokens: 3 * 2000, images: 3 });
    });

    it('sends an edit’s input images with every call of the fan-out', async () => {
      const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#08f' } })
        .png()
        .toBuffer();
      const edit: ImageEditRequest = {
        ...images({ n: 2 }),
        images: [{ bytes: png, format: 'png', mimeType: 'image/png', width: 8, height: 8 }],
      };

      const result = await sut.editImages(pro, edit, signal());

      expect(bodies()).toHaveLength(2);
      for (const body of bodies()) {
        expect(body.contents[0].parts).toEqual([
          { text: PROMPT },
          { inlineData: { mimeType: 'image/png', data: png.toString('base64') } },
        ]);
      }
      expect(result.usage).toMatchObject({ inputImageTokens: 2 * 560, inputTextTokens: 2 * 3 });
    });

    it('still asks a model taking 8 per call for 10 as 8 + 2 candidates', async () => {
      const result = await sut.generateImages(eightPerCall, images({ n: 10 }), signal());

      expect(
        bodies()
          .map((body) => body.generationConfig.candidateCount)
          .sort(),
      ).toEqual([2, 8]);
      expect(result.images).toHaveLength(10);
    });

    it('fails all of n when one call fails: the first failure, billable with what the others cost', async () => {
      gemini.failCall(3, { ...googleError(500, 'INTERNAL', 'Internal error encountered.'), delayMs: 150 });

      const error = await errorRejectedBy(() => sut.generateImages(pro, images({ n: 3 }), signal()), GatewayError);

      expect(error).toMatchObject({ code: ErrorCode.UpstreamError, transient: true });
      expect(error.message).toBe('Gemini API failed with HTTP 500.');
      expect(error.billable).toEqual({ ...EMPTY_USAGE, inputTextTokens: 6, outputImageTokens: 2 * 1120, images: 2 });
    });

    it('aborts the calls still in flight when one fails', async () => {
      gemini.responseDelayMs = 2_000;
      gemini.failCall(2, {
        ...googleError(400, 'INVALID_ARGUMENT', 'Request contains an invalid argument.'),
        delayMs: 0,
      });

      const started = Date.now();
      const error = await errorRejectedBy(() => sut.generateImages(pro, images({ n: 3 }), signal()), GatewayError);

      expect(error.code).toBe(ErrorCode.InvalidRequest);
      expect(error.billable).toBeUndefined();
      expect(Date.now() - started).toBeLessThan(1_500);
      expect(gemini.generationRequests).toHaveLength(3);
      await waitFor(
        async () => gemini.abortedResponses,
        (aborted) => aborted === 2,
      );
    });

    it('refuses all of n when one call comes back without an image', async () => {
      gemini.failCall(2, { status: 200, body: IMAGE_SAFETY_REFUSAL });

      const error = await errorRejectedBy(() => sut.generateImages(pro, images({ n: 2 }), signal()), GatewayError);

      expect(error).toMatchObject({ code: ErrorCode.ContentPolicyViolation, param: 'prompt' });
      expect(error.message).toContain('IMAGE_SAFETY');
    });
  });

  describe('chat', () => {
    it('sends image_config.image_size as imageConfig.imageSize, and never candidateCount 1', async () => {
      await sut.chat(pro, chat({ aspectRatio: '9:16', imageSize: '2K' }), signal());

      expect(bodies()[0].generationConfig).toEqual({
        responseModalities: ['IMAGE'],
        imageConfig: { aspectRatio: '9:16', imageSize: '2K' },
      });
    });

    it('asks for all of n choices in one call', async () => {
      const result = await sut.chat(eightPerCall, chat({ n: 2 }), signal());

      expect(bodies().map((body) => body.generationConfig.candidateCount)).toEqual([2]);
      expect(result.choices.map((choice) => choice.index)).toEqual([0, 1]);
    });
  });
});
