import { toFile } from 'openai';
import sharp from 'sharp';
import { DataSource } from 'typeorm';
import {
  type FakeGeminiApiServer,
  googleError,
  IMAGE_SAFETY_REFUSAL,
  inputImagesOf,
  userPartKindsOf,
} from '../fakes/fake-vertex.server.js';
import type { TestApp } from '../utils/test-app.js';
import { GEMINI_API_KEY, startWithGeminiApi, useUpstreamApp } from '../utils/upstream-apps.js';
import { waitFor } from '../utils/wait-for.js';

const PRO = 'gemini/google/gemini-3-pro-image';
const LITE = 'gemini/google/gemini-3.1-flash-lite-image';
const PRO_PATH = '/v1beta/models/gemini-3-pro-image:generateContent';

interface ChatImage {
  type: 'image_url';
  image_url: { url: string };
  index: number;
}

interface SdkError {
  status: number;
  error: { param: string | null; code: string | null; type: string };
}

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined as never,
    (error: unknown) => error as SdkError,
  );
const png = (width: number, height: number) =>
  sharp({ create: { width, height, channels: 3, background: { r: 200, g: 80, b: 40 } } })
    .png()
    .toBuffer();
const metadataOf = (b64: string) => sharp(Buffer.from(b64, 'base64')).metadata();

describe('The gemini provider (the Gemini API) through the official SDK', () => {
  let gemini: FakeGeminiApiServer;
  let sut: TestApp;
  let key: string;

  // Some tests make calls fail, which counts against the route's circuit breaker: an app per test.
  useUpstreamApp(startWithGeminiApi, (app) => ({ fake: gemini, sut, key } = app), { appPerTest: true });

  /** Every call went to the Gemini API with the key in x-goog-api-key, and no bearer token. */
  function expectKeyedCalls(count: number): void {
    expect(gemini.generationRequests).toHaveLength(count);
    for (const request of gemini.generationRequests) {
      expect(request.headers['x-goog-api-key']).toBe(GEMINI_API_KEY);
      expect(request.headers.authorization).toBeUndefined();
    }
  }

  it('generates: POST …/v1beta/models/{model}:generateContent with the key, the real pixel size back', async () => {
    const result = await sut
      .openai(key)
      .images.generate({ model: PRO, prompt: 'a heron at dawn', size: '1536x1024', response_format: 'b64_json' });

    expectKeyedCalls(1);
    expect(gemini.generationRequests[0]!.path).toBe(PRO_PATH);
    expect(gemini.generationRequests[0]!.body).toEqual({
      contents: [{ role: 'user', parts: [{ text: 'a heron at dawn' }] }],
      generationConfig: { responseModalities: ['IMAGE'], imageConfig: { aspectRatio: '3:2' } },
    });
    // Gemini 3's 1K table, not 2.5's 1248x832.
    expect(result).toMatchObject({ size: '1264x848', quality: 'auto', output_format: 'png', background: 'opaque' });
    expect(await metadataOf(result.data![0]!.b64_json!)).toMatchObject({ format: 'png', width: 1264, height: 848 });
  });

  it('edits: the prompt, then each image as inlineData, the size tier; input images billed at 560 tokens each', async () => {
    const photos = [
      await png(300, 200),
      await sharp(await png(64, 64))
        .jpeg()
        .toBuffer(),
    ];

    const result = await sut.openai(key).images.edit({
      model: PRO,
      image: await Promise.all(photos.map((photo, i) => toFile(photo, `p${i}`, { type: 'application/octet-stream' }))),
      prompt: 'one postcard of both',
      size: '1024x1536',
      // @ts-expect-error Easel's extension, a text field of the form
      image_size: '2K',
    });

    expectKeyedCalls(1);
    const [call] = gemini.generationRequests;
    expect(userPartKindsOf(call!)).toEqual(['text', 'image', 'image']);
    expect(inputImagesOf(call!).map(({ mimeType, bytes }) => ({ mimeType, bytes }))).toEqual([
      { mimeType: 'image/png', bytes: photos[0] },
      { mimeType: 'image/jpeg', bytes: photos[1] },
    ]);
    expect(call!.body).toMatchObject({
      generationConfig: { responseModalities: ['IMAGE'], imageConfig: { aspectRatio: '2:3', imageSize: '2K' } },
    });
    expect(result.size).toBe('1696x2528');
    expect(result.usage?.input_tokens_details?.image_tokens).toBe(2 * 560);
    const download = await fetch(result.data![0]!.url!);
    expect(download.status).toBe(200);
    expect(await sharp(Buffer.from(await download.arrayBuffer())).metadata()).toMatchObject({
      width: 1696,
      height: 2528,
    });
  });

  it('sends image_size (an Easel extension field) as imageConfig.imageSize; 2K at 16:9 is 2752x1536', async () => {
    const result = await sut.openai(key).images.generate({
      model: PRO,
      prompt: 'a wide valley',
      size: '1792x1024',
      response_format: 'b64_json',
      // @ts-expect-error Easel's extension of the images request
      image_size: '2K',
    });

    expect(gemini.generationRequests[0]!.body).toMatchObject({
      generationConfig: { imageConfig: { aspectRatio: '16:9', imageSize: '2K' } },
    });
    expect(result.size).toBe('2752x1536');
    expect(await metadataOf(result.data![0]!.b64_json!)).toMatchObject({ width: 2752, height: 1536 });
  });

  it('chats with image_config.image_size 2K: exactly the body the Gemini API expects', async () => {
    const completion = await sut.openai(key).chat.completions.create({
      model: PRO,
      messages: [{ role: 'user', content: 'a tall lighthouse' }],
      // @ts-expect-error Easel's extensions of the chat request
      image_config: { aspect_ratio: '9:16', image_size: '2K' },
    });

    expectKeyedCalls(1);
    expect(gemini.generationRequests[0]!.body).toEqual({
      contents: [{ role: 'user', parts: [{ text: 'a tall lighthouse' }] }],
      generationConfig: {
        responseModalities: ['IMAGE', 'TEXT'],
        imageConfig: { aspectRatio: '9:16', imageSize: '2K' },
      },
    });
    const [image] = (completion.choices[0]!.message as unknown as { images: ChatImage[] }).images;
    const base64 = image!.image_url.url.slice('data:image/png;base64,'.length);
    expect(await metadataOf(base64)).toMatchObject({ width: 1536, height: 2752 });
    expect(completion.usage?.completion_tokens_details).toMatchObject({ image_tokens: 1120 });
  });

  it('refuses chat n = 2 on a model taking one candidate per call, with no upstream call', async () => {
    const error = await failure(
      sut
        .openai(key)
        .chat.completions.create({ model: LITE, messages: [{ role: 'user', content: 'two kites' }], n: 2 }),
    );

    expect(error.status).toBe(400);
    expect(error.error).toMatchObject({ param: 'n', type: 'invalid_request_error' });
    expect(gemini.requests).toEqual([]);
  });

  it('makes n = 3 three calls, returns the 3 images, and charges all three calls to the exact decimal', async () => {
    const { data: result, response } = await sut
      .openai(key)
      .images.generate({ model: PRO, prompt: 'abcdefghij', n: 3, size: '1024x1024', response_format: 'b64_json' })
      .withResponse();

    expectKeyedCalls(3);
    for (const request of gemini.generationRequests) {
      expect(request.body).toEqual({
        contents: [{ role: 'user', parts: [{ text: 'abcdefghij' }] }],
        generationConfig: { responseModalities: ['IMAGE'], imageConfig: { aspectRatio: '1:1' } },
      });
    }
    expect(result.data).toHaveLength(3);
    for (const datum of result.data!) expect(await metadataOf(datum.b64_json!)).toMatchObject({ width: 1024 });
    // Each call: the 10-character prompt as 3 text tokens (the fake's count), one 1K image as 1,120 tokens.
    expect(result.usage).toEqual({
      input_tokens: 9,
      input_tokens_details: { text_tokens: 9, image_tokens: 0 },
      output_tokens: 3360,
      output_tokens_details: { text_tokens: 0, image_tokens: 3360 },
      total_tokens: 3369,
    });
    // At the catalogue's prices, USD per 1M tokens: input $2, image out $120.
    // (9 × 2 + 3,360 × 120) / 1e6 = (18 + 403,200) / 1e6 = 0.403218
    expect(response.headers.get('x-easel-cost-usd')).toBe('0.403218');

    const requestId = response.headers.get('x-request-id')!;
    const [record] = await waitFor<Array<Record<string, unknown>>>(
      () => sut.app.get(DataSource).query('SELECT * FROM usage_records WHERE request_id = $1', [requestId]),
      (rows) => rows.length === 1,
    );
    expect(record).toMatchObject({
      endpoint: 'images',
      model: PRO,
      provider: 'gemini',
      status: 'success',
      images: 3,
      size: '1024x1024',
      input_text_tokens: 9,
      input_image_tokens: 0,
      output_text_tokens: 0,
      output_image_tokens: 3360,
      cost_usd: '0.403218000000',
    });
  });

  it.each<[string, Parameters<FakeGeminiApiServer['failCall']>[1], number, string]>([
    ['an image filtered by IMAGE_SAFETY', { status: 200, body: IMAGE_SAFETY_REFUSAL }, 400, 'content_policy_violation'],
    [
      'a 403 PERMISSION_DENIED',
      googleError(403, 'PERMISSION_DENIED', 'Permission denied on resource project.'),
      502,
      'upstream_error',
    ],
  ])(
    'fails all of n = 3 when one call gets %s: the client gets the error and no image',
    async (_what, answer, status, code) => {
      gemini.failCall(2, answer);

      const error = await failure(
        sut.openai(key).images.generate({ model: PRO, prompt: 'three herons', n: 3, response_format: 'b64_json' }),
      );

      expect(error.status).toBe(status);
      expect(error.error).toMatchObject({ code });
      expectKeyedCalls(3);
    },
  );

  it('still charges the calls that succeeded when the last one fails, and does not make them again', async () => {
    // The third call fails after the other two have answered, with a 503 that alone would be retried.
    gemini.failCall(3, {
      ...googleError(503, 'UNAVAILABLE', 'The service is currently unavailable.'),
      delayMs: 300,
    });

    const { response } = await sut
      .openai(key)
      .images.generate({ model: PRO, prompt: 'abcdefghij', n: 3, response_format: 'b64_json' })
      .withResponse()
      .then(
        () => ({ response: undefined as never }),
        (error: { headers: Headers }) => ({ response: { headers: error.headers } }),
      );

    // No retry of the three calls and no other route: the two images already made would be paid twice.
    expectKeyedCalls(3);
    // Two calls of 3 text tokens and one 1K image each: (6 × 2 + 2,240 × 120) / 1e6 = 0.268812.
    expect(response.headers.get('x-easel-cost-usd')).toBe('0.268812');
    const requestId = response.headers.get('x-request-id')!;
    const [record] = await waitFor<Array<Record<string, unknown>>>(
      () => sut.app.get(DataSource).query('SELECT * FROM usage_records WHERE request_id = $1', [requestId]),
      (rows) => rows.length === 1,
    );
    expect(record).toMatchObject({
      status: 'error',
      http_status: 502,
      error_code: 'upstream_error',
      input_text_tokens: 6,
      output_image_tokens: 2240,
      cost_usd: '0.268812000000',
    });
  });

  it('refuses image_size 2K on 3.1 Flash Lite Image (1K only) with 400 and no upstream call', async () => {
    const error = await failure(
      sut.openai(key).images.generate({
        model: LITE,
        prompt: 'a lantern',
        // @ts-expect-error Easel's extension of the images request
        image_size: '2K',
      }),
    );

    expect(error.status).toBe(400);
    expect(error.error).toMatchObject({ param: 'image_size', type: 'invalid_request_error' });
    expect(gemini.requests).toEqual([]);
  });
});
