import { toFile } from 'openai';
import sharp from 'sharp';
import { DataSource } from 'typeorm';
import { createApiKey } from '../factories/api-key.factory.js';
import type { FakeOpenAiServer } from '../fakes/fake-openai.server.js';
import { EDIT_INPUT_IMAGE_TOKENS, outputImageTokens } from '../fakes/fake-openai-images.server.js';
import { createTestApp, type TestApp } from '../utils/test-app.js';
import { OPENAI_KEY, startWithOpenAi, useUpstreamApp } from '../utils/upstream-apps.js';
import { waitFor } from '../utils/wait-for.js';

const SUNBURST = 'openai/openai/gpt-image-2.6-sunburst';
const FLARE = 'openai/openai/gpt-image-2.6-flare';
const GPT_IMAGE_2 = 'openai/openai/gpt-image-2';

const png = (width: number, height: number, alpha = 1) =>
  sharp({ create: { width, height, channels: 4, background: { r: 200, g: 80, b: 40, alpha } } })
    .png()
    .toBuffer();
const pngFile = async (bytes: Buffer, name = 'photo.png') => toFile(bytes, name, { type: 'image/png' });

/** The SDK types know neither `xhigh` nor `max` yet (models-and-edits-2026.md §5 item 10). */
const XHIGH = 'xhigh' as 'high';

interface SdkError {
  status: number;
  error: { message: string; param: string | null; code: string | null; type: string };
}
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined as never,
    (error: unknown) => error as SdkError,
  );

/**
 * `micros` millionths of a dollar (whole dollars per 1M tokens × tokens), exactly: as PostgreSQL's
 * numeric(20,12) text and as the `x-easel-cost-usd` header writes it.
 */
function usd(micros: number): { numeric: string; header: string } {
  const fraction = String(micros % 1_000_000).padStart(6, '0');
  const whole = (micros - (micros % 1_000_000)) / 1_000_000;
  return { numeric: `${whole}.${fraction}000000`, header: `${whole}.${fraction}`.replace(/\.?0+$/, '') };
}

describe('POST /v1/images/generations and /v1/images/edits through the OpenAI API (strict fake)', () => {
  let openai: FakeOpenAiServer;
  let sut: TestApp;
  let key: string;
  let dataSource: DataSource;

  useUpstreamApp(startWithOpenAi, (app) => {
    ({ fake: openai, sut, key } = app);
    dataSource = sut.app.get(DataSource);
  });

  it('generates (gpt-image-2, b64_json): the bearer key and the upstream model name reach OpenAI, the base64 comes back', async () => {
    const result = await sut.openai(key).images.generate({
      model: GPT_IMAGE_2,
      prompt: 'a paper boat on a pond',
      n: 2,
      size: '1536x1024',
      quality: 'low',
      background: 'opaque',
      output_format: 'webp',
      output_compression: 60,
      moderation: 'low',
      user: 'end-user-7',
      response_format: 'b64_json',
    });

    expect(openai.generationRequests).toHaveLength(1);
    const [call] = openai.generationRequests;
    expect(call!.path).toBe('/v1/images/generations');
    expect(call!.headers.authorization).toBe(`Bearer ${OPENAI_KEY}`);
    expect(call!.body).toEqual({
      model: 'gpt-image-2',
      prompt: 'a paper boat on a pond',
      n: 2,
      size: '1536x1024',
      quality: 'low',
      background: 'opaque',
      output_format: 'webp',
      output_compression: 60,
      moderation: 'low',
      user: 'end-user-7',
    });
    expect(result).toMatchObject({ size: '1536x1024', quality: 'low', output_format: 'webp', background: 'opaque' });
    expect(result.data).toHaveLength(2);
    expect(await sharp(Buffer.from(result.data![1]!.b64_json!, 'base64')).metadata()).toMatchObject({
      format: 'webp',
      width: 1536,
      height: 1024,
    });
  });

  it('generates a custom size at quality xhigh (gpt-image-2.6-flare, url): Easel stores the image', async () => {
    const result = await sut
      .openai(key)
      .images.generate({ model: FLARE, prompt: 'a kite over dunes', size: '1280x720', quality: XHIGH });

    expect(openai.generationRequests[0]!.body).toEqual({
      model: 'gpt-image-2.6-flare',
      prompt: 'a kite over dunes',
      n: 1,
      size: '1280x720',
      quality: 'xhigh',
      output_format: 'png',
    });
    expect(result).toMatchObject({ size: '1280x720', quality: 'xhigh' });
    const download = await fetch(result.data![0]!.url!);
    expect(download.headers.get('content-type')).toBe('image/png');
    expect(await sharp(Buffer.from(await download.arrayBuffer())).metadata()).toMatchObject({
      width: 1280,
      height: 720,
    });
  });

  it('streams a generation with partial images through the SDK, the usage on the completed event', async () => {
    const stream = await sut.openai(key).images.generate({
      model: SUNBURST,
      prompt: 'x'.repeat(40),
      quality: 'low',
      stream: true,
      partial_images: 2,
    });

    const events: Array<{ type: string; b64_json: string; usage?: { output_tokens: number } }> = [];
    for await (const event of stream) events.push(event);
    expect(openai.generationRequests[0]!.body).toMatchObject({
      model: 'gpt-image-2.6-sunburst',
      stream: true,
      partial_images: 2,
    });
    expect(events.map(({ type }) => type)).toEqual([
      'image_generation.partial_image',
      'image_generation.partial_image',
      'image_generation.completed',
    ]);
    expect(events.at(-1)!.usage).toMatchObject({
      output_tokens: outputImageTokens('gpt-image-2.6-sunburst', 'low', '1024x1024'),
    });
    expect(await sharp(Buffer.from(events.at(-1)!.b64_json, 'base64')).metadata()).toMatchObject({ width: 1024 });
  });

  it('edits one image (gpt-image-2): the form names the model and sends the image as `image`', async () => {
    const photo = await png(1024, 1024);

    const result = await sut.openai(key).images.edit({
      model: GPT_IMAGE_2,
      image: await pngFile(photo),
      prompt: 'add a small red boat',
      quality: 'low',
      response_format: 'b64_json',
    });

    const [edit] = openai.editRequests;
    expect(edit!.request.path).toBe('/v1/images/edits');
    expect(edit!.request.headers.authorization).toBe(`Bearer ${OPENAI_KEY}`);
    expect(edit!.fields).toEqual({
      model: 'gpt-image-2',
      prompt: 'add a small red boat',
      n: '1',
      quality: 'low',
      output_format: 'png',
    });
    expect(edit!.files).toEqual([{ field: 'image', filename: 'image-0.png', contentType: 'image/png', bytes: photo }]);
    expect(result.usage?.input_tokens_details).toEqual({ text_tokens: 5, image_tokens: EDIT_INPUT_IMAGE_TOKENS.high });
  });

  it('edits several images with a mask (gpt-image-2.6-sunburst, custom size), priced from its usage to the exact decimal', async () => {
    const photos = [await png(1024, 1024), await png(640, 480)];
    const mask = await png(1024, 1024, 0);
    const prompt = 'put both in one sunny room';

    const { data: result, response } = await sut
      .openai(key)
      .images.edit({
        model: SUNBURST,
        image: await Promise.all(photos.map((photo, i) => pngFile(photo, `p${i}.png`))),
        mask: await pngFile(mask, 'mask.png'),
        prompt,
        size: '1280x720',
        quality: 'high',
        response_format: 'b64_json',
      })
      .withResponse();

    const [edit] = openai.editRequests;
    expect(edit!.fields).toEqual({
      model: 'gpt-image-2.6-sunburst',
      prompt,
      n: '1',
      size: '1280x720',
      quality: 'high',
      output_format: 'png',
    });
    expect(edit!.files.map(({ field, contentType, bytes }) => ({ field, contentType, bytes }))).toEqual([
      ...photos.map((bytes) => ({ field: 'image[]', contentType: 'image/png', bytes })),
      { field: 'mask', contentType: 'image/png', bytes: mask },
    ]);
    expect(await sharp(Buffer.from(result.data![0]!.b64_json!, 'base64')).metadata()).toMatchObject({
      width: 1280,
      height: 720,
    });

    // What the fake bills: ⌈26 / 4⌉ = 7 text tokens, 2 × 4096 input image tokens (high fidelity),
    // ⌈1756 × 1280 × 720 / 1024²⌉ = 1544 output image tokens.
    const textTokens = 7;
    const imageTokens = 2 * EDIT_INPUT_IMAGE_TOKENS.high;
    const outputTokens = outputImageTokens('gpt-image-2.6-sunburst', 'high', '1280x720');
    expect(outputTokens).toBe(1544);
    expect(result.usage).toMatchObject({
      input_tokens_details: { text_tokens: textTokens, image_tokens: imageTokens },
      output_tokens: outputTokens,
    });
    // The catalogue's prices per 1M tokens: text in $5, image in $8, image out $30.
    // 7 × 5 + 8192 × 8 + 1544 × 30 = 35 + 65536 + 46320 = 111891 millionths: $0.111891.
    const cost = usd(textTokens * 5 + imageTokens * 8 + outputTokens * 30);
    expect(cost).toEqual({ numeric: '0.111891000000', header: '0.111891' });
    expect(response.headers.get('x-easel-cost-usd')).toBe(cost.header);

    const requestId = response.headers.get('x-request-id')!;
    const [record] = await waitFor<Array<Record<string, unknown>>>(
      () => dataSource.query('SELECT * FROM usage_records WHERE request_id = $1', [requestId]),
      (rows) => rows.length === 1,
    );
    expect(record).toMatchObject({
      endpoint: 'images.edits',
      model: SUNBURST,
      provider: 'openai',
      route: 'default',
      status: 'success',
      input_images: 3,
      input_text_tokens: textTokens,
      input_image_tokens: imageTokens,
      output_image_tokens: outputTokens,
      output_text_tokens: 0,
      cost_usd: cost.numeric,
    });
  });

  it("streams an edit: OpenAI's image_edit events come through, stream and partial_images in the form", async () => {
    const stream = await sut.openai(key).images.edit({
      model: FLARE,
      image: await pngFile(await png(1024, 1024)),
      prompt: 'a sunrise',
      stream: true,
      partial_images: 1,
    });

    const types: string[] = [];
    for await (const event of stream) types.push(event.type);
    expect(types).toEqual(['image_edit.partial_image', 'image_edit.completed']);
    expect(openai.editRequests[0]!.fields).toMatchObject({
      model: 'gpt-image-2.6-flare',
      stream: 'true',
      partial_images: '1',
    });
  });

  it.each([
    ['1000x1008', 'both edges must be multiples of 16'],
    ['4096x1024', 'no edge may exceed 3840 pixels'],
    ['768x768', 'the image must have between 655360 and 8294400 pixels (it has 589824)'],
    ['3072x768', 'the long edge may be at most 3 times the short one'],
  ])('refuses the size %s with 400 naming the rule, before any upstream call', async (size, rule) => {
    const error = await failure(sut.openai(key).images.generate({ model: GPT_IMAGE_2, prompt: 'p', size }));

    expect([error.status, error.error.param, error.error.code]).toEqual([400, 'size', 'invalid_value']);
    expect(error.error.message).toContain(rule);
    expect(openai.requests).toEqual([]);
  });

  it('refuses quality xhigh on gpt-image-2 and input_fidelity on the 2.x models, before any upstream call', async () => {
    const xhigh = await failure(sut.openai(key).images.generate({ model: GPT_IMAGE_2, prompt: 'p', quality: XHIGH }));
    const fidelity = await failure(
      sut.openai(key).images.edit({
        model: SUNBURST,
        image: await pngFile(await png(64, 64)),
        prompt: 'p',
        input_fidelity: 'high',
      }),
    );

    expect([xhigh.status, xhigh.error.param]).toEqual([400, 'quality']);
    expect(xhigh.error.message).toContain('use one of: auto, low, medium, high');
    expect([fidelity.status, fidelity.error.param, fidelity.error.code]).toEqual([
      400,
      'input_fidelity',
      'unsupported_parameter',
    ]);
    expect(openai.requests).toEqual([]);
  });

  it('reports a refused key at OpenAI as 502 upstream_error, never echoing the key', async () => {
    openai.enqueue({
      status: 401,
      body: {
        error: {
          message: 'Incorrect API key provided.',
          type: 'invalid_request_error',
          param: null,
          code: 'invalid_api_key',
        },
      },
    });

    const error = await failure(sut.openai(key).images.generate({ model: GPT_IMAGE_2, prompt: 'p' }));

    expect([error.status, error.error.code]).toEqual([502, 'upstream_error']);
    expect(JSON.stringify(error.error)).not.toContain(OPENAI_KEY);
    expect(openai.generationRequests).toHaveLength(1);
  });
});

describe('OpenAI models without OPENAI_API_KEY', () => {
  let sut: TestApp;
  let key: string;

  beforeAll(async () => {
    sut = await createTestApp();
    ({ key } = await createApiKey(sut));
  });

  afterAll(async () => {
    await sut.close();
  });

  it('lists them as unavailable and answers 503 model_unavailable naming the variable', async () => {
    const models = await sut.openai(key).models.list();
    const listed = models.data.find((model) => model.id === SUNBURST) as unknown as Record<string, unknown>;
    const error = await failure(sut.openai(key).images.generate({ model: SUNBURST, prompt: 'p' }));

    expect(listed).toMatchObject({ available: false, unavailable_reason: 'set OPENAI_API_KEY' });
    expect([error.status, error.error.code]).toEqual([503, 'model_unavailable']);
    expect(error.error.message).toContain('OPENAI_API_KEY');
  });
});
