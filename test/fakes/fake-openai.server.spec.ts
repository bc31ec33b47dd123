import sharp from 'sharp';
import { Agent, fetch, FormData } from 'undici';
import { FakeOpenAiServer } from './fake-openai.server.js';
import { EDIT_INPUT_IMAGE_TOKENS, outputImageTokens, SQUARE_OUTPUT_TOKENS_V2 } from './fake-openai-images.server.js';

const API_KEY = 'sk-fake-spec-key-0123';
const MODELS = ['gpt-image-2', 'gpt-image-2.6-sunburst'];

interface ImagesAnswer {
  data: Array<{ b64_json: string }>;
  size: string;
  quality: string;
  output_format: string;
  usage: {
    input_tokens: number;
    input_tokens_details: { text_tokens: number; image_tokens: number };
    output_tokens: number;
    output_tokens_details: { text_tokens: number; image_tokens: number };
    total_tokens: number;
  };
}

interface ErrorAnswer {
  error: { code: string | null; message: string; param: string | null; type: string };
}

async function image(width: number, height: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 4, background: { r: 10, g: 120, b: 200, alpha: 1 } } })
    .png()
    .toBuffer();
}

/**
 * The fake public OpenAI API: its own URLs, bearer key and `model` field, then the protocol and
 * per-model rules it shares with the Azure fake (whose spec covers the edit form's strictness).
 */
describe(FakeOpenAiServer.name, () => {
  let openai: FakeOpenAiServer;
  const agent = new Agent();

  const post = (endpoint: 'generations' | 'edits', body: unknown, authorization: string | null = `Bearer ${API_KEY}`) =>
    fetch(`${openai.baseUrl}/v1/images/${endpoint}`, {
      dispatcher: agent,
      method: 'POST',
      headers: {
        ...(body instanceof FormData ? {} : { 'content-type': 'application/json' }),
        ...(authorization === null ? {} : { authorization }),
      },
      body: body instanceof FormData ? body : JSON.stringify(body),
    });

  const generate = (body: Record<string, unknown>) => post('generations', { model: 'gpt-image-2', ...body });

  /** A form with the given parts: text as a string, a file as [bytes, filename]. */
  const formOf = (parts: Array<[string, string | [Buffer, string]]>) => {
    const form = new FormData();
    for (const [name, value] of parts) {
      if (typeof value === 'string') form.append(name, value);
      else form.append(name, new Blob([value[0]], { type: 'image/png' }), value[1]);
    }
    return form;
  };

  beforeAll(async () => {
    openai = await new FakeOpenAiServer({ apiKey: API_KEY, models: MODELS }).start();
  });

  beforeEach(() => openai.reset());

  afterAll(async () => {
    await openai.stop();
    await agent.destroy();
  });

  it('generates at /v1/images/generations for the bearer key and the model in the body, with usage details', async () => {
    const response = await generate({
      prompt: 'x'.repeat(40),
      n: 2,
      size: '1024x1536',
      quality: 'low',
      output_format: 'webp',
    });

    expect(response.status).toBe(200);
    const body = (await response.json()) as ImagesAnswer;
    expect(body).toMatchObject({ size: '1024x1536', quality: 'low', output_format: 'webp' });
    expect(await sharp(Buffer.from(body.data[1]!.b64_json, 'base64')).metadata()).toMatchObject({
      format: 'webp',
      width: 1024,
      height: 1536,
    });
    const output = 2 * Math.ceil((SQUARE_OUTPUT_TOKENS_V2.low! * 1536) / 1024);
    expect(body.usage).toEqual({
      input_tokens: 10,
      input_tokens_details: { text_tokens: 10, image_tokens: 0 },
      output_tokens: output,
      output_tokens_details: { image_tokens: output, text_tokens: 0 },
      total_tokens: 10 + output,
    });
    expect(openai.generationRequests).toHaveLength(1);
    expect(openai.generationRequests[0]!.headers.authorization).toBe(`Bearer ${API_KEY}`);
  });

  it("refuses a missing or wrong key with 401 in OpenAI's shape", async () => {
    const missing = await post('generations', { model: 'gpt-image-2', prompt: 'p' }, null);
    const wrong = await post('generations', { model: 'gpt-image-2', prompt: 'p' }, 'Bearer sk-wrong');
    const notBearer = await post('generations', { model: 'gpt-image-2', prompt: 'p' }, API_KEY);

    expect(missing.status).toBe(401);
    expect(await missing.json()).toEqual({
      error: {
        message: expect.stringMatching(/didn't provide an API key/),
        type: 'invalid_request_error',
        param: null,
        code: null,
      },
    });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ error: { code: 'invalid_api_key', type: 'invalid_request_error' } });
    expect(notBearer.status).toBe(401);
  });

  it('needs a model it serves: 400 without one, 404 model_not_found for another', async () => {
    const missing = await post('generations', { prompt: 'p' });
    const unknown = await post('generations', { model: 'gpt-image-1', prompt: 'p' });

    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ error: { code: 'missing_required_parameter', param: 'model' } });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({
      error: {
        message: 'The model `gpt-image-1` does not exist or you do not have access to it.',
        type: 'invalid_request_error',
        param: null,
        code: 'model_not_found',
      },
    });
  });

  it.each([
    ['1024x640', 'the fewest pixels'],
    ['2304x768', 'an aspect ratio of exactly 3:1'],
    ['1280x720', 'a 16:9 size'],
  ])('takes the custom size %s (%s) on gpt-image-2', async (size) => {
    const response = await generate({ prompt: 'p', size, quality: 'low' });

    expect(response.status).toBe(200);
    const body = (await response.json()) as ImagesAnswer;
    const [width, height] = size.split('x').map(Number);
    expect(await sharp(Buffer.from(body.data[0]!.b64_json, 'base64')).metadata()).toMatchObject({ width, height });
    expect(body.usage.output_tokens).toBe(outputImageTokens('gpt-image-2', 'low', size));
  });

  it.each([
    ['1000x1008', /divisible by 16/],
    ['4096x1536', /no edge may exceed 3840/],
    ['768x768', /between 655360 and 8294400/],
    ['3840x2176', /between 655360 and 8294400/],
    ['3072x768', /aspect ratio/],
    ['1024x1024x1', /Invalid size/],
  ])('refuses the size %s with 400 naming the rule', async (size, rule) => {
    const response = await generate({ prompt: 'p', size });

    expect(response.status).toBe(400);
    const body = (await response.json()) as ErrorAnswer;
    expect(body.error).toMatchObject({ code: 'invalid_value', param: 'size' });
    expect(body.error.message).toMatch(rule);
  });

  it('takes xhigh and max on gpt-image-2.6, not on gpt-image-2', async () => {
    const xhigh = await generate({ model: 'gpt-image-2.6-sunburst', prompt: 'p', quality: 'xhigh' });
    const max = await generate({ model: 'gpt-image-2.6-sunburst', prompt: 'p', quality: 'max', size: '1536x1024' });
    const refused = await generate({ prompt: 'p', quality: 'xhigh' });

    expect((await xhigh.json()) as ImagesAnswer).toMatchObject({
      quality: 'xhigh',
      usage: { output_tokens: SQUARE_OUTPUT_TOKENS_V2.xhigh },
    });
    expect(((await max.json()) as ImagesAnswer).usage.output_tokens).toBe(
      Math.ceil(SQUARE_OUTPUT_TOKENS_V2.max! * 1.5),
    );
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: { code: 'invalid_value', param: 'quality' } });
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['response_format', { response_format: 'b64_json' }, 'response_format'],
    ['a transparent jpeg', { background: 'transparent', output_format: 'jpeg' }, 'background'],
    ['output_compression for a png', { output_compression: 50 }, 'output_compression'],
    ['gif, which Easel does not serve and this fake does not make', { output_format: 'gif' }, 'output_format'],
  ])('refuses %s with 400 naming the parameter', async (_what, fields, param) => {
    const response = await generate({ prompt: 'p', ...fields });

    expect(response.status).toBe(400);
    expect(((await response.json()) as ErrorAnswer).error.param).toBe(param);
  });

  describe('images/edits', () => {
    let square: Buffer;

    beforeAll(async () => {
      square = await image(1024, 1024);
    });

    it('takes the model as a form field, images as image[] and a mask; bills each image at high fidelity', async () => {
      const response = await post(
        'edits',
        formOf([
          ['model', 'gpt-image-2.6-sunburst'],
          ['image[]', [square, 'a.png']],
          ['image[]', [await image(300, 200), 'b.png']],
          ['mask', [await image(1024, 1024), 'mask.png']],
          ['prompt', 'abcd'],
          ['size', '1280x720'],
          ['quality', 'max'],
        ]),
      );

      expect(response.status).toBe(200);
      const body = (await response.json()) as ImagesAnswer;
      expect(body.size).toBe('1280x720');
      expect(body.usage.input_tokens_details).toEqual({
        text_tokens: 1,
        image_tokens: 2 * EDIT_INPUT_IMAGE_TOKENS.high,
      });
      expect(body.usage.output_tokens).toBe(outputImageTokens('gpt-image-2.6-sunburst', 'max', '1280x720'));
      expect(openai.editRequests[0]!.fields).toMatchObject({ model: 'gpt-image-2.6-sunburst', size: '1280x720' });
      expect(openai.editRequests[0]!.files.map(({ field }) => field)).toEqual(['image[]', 'image[]', 'mask']);
    });

    it('streams image_edit events', async () => {
      const response = await post(
        'edits',
        formOf([
          ['model', 'gpt-image-2'],
          ['image', [square, 'a.png']],
          ['prompt', 'p'],
          ['stream', 'true'],
          ['partial_images', '1'],
        ]),
      );

      const names = [...(await response.text()).matchAll(/^event: (\S+)$/gm)].map((match) => match[1]);
      expect(names).toEqual(['image_edit.partial_image', 'image_edit.completed']);
    });

    it.each<[string, Array<[string, string | [Buffer, string]]>, number, string]>([
      ['no model', [['prompt', 'p']], 400, 'model'],
      [
        'input_fidelity, which gpt-image-2 and later refuse',
        [
          ['model', 'gpt-image-2'],
          ['prompt', 'p'],
          ['input_fidelity', 'high'],
        ],
        400,
        'input_fidelity',
      ],
      [
        'an unknown model',
        [
          ['model', 'dall-e-2'],
          ['prompt', 'p'],
        ],
        404,
        '',
      ],
    ])('refuses an edit with %s', async (_what, parts, status, param) => {
      const response = await post('edits', formOf([['image', [square, 'a.png']], ...parts]));

      expect(response.status).toBe(status);
      expect(((await response.json()) as ErrorAnswer).error.param ?? '').toBe(param);
    });

    it('checks the bearer key before reading the form', async () => {
      const response = await post('edits', formOf([['model', 'gpt-image-2']]), 'Bearer sk-wrong');

      expect(response.status).toBe(401);
    });
  });

  it('records a request to a route it does not serve as unexpected', async () => {
    const response = await fetch(`${openai.baseUrl}/v1/chat/completions`, {
      dispatcher: agent,
      method: 'POST',
      body: '{}',
    });

    expect(response.status).toBe(404);
    expect(openai.unexpected).toEqual(['POST /v1/chat/completions']);
  });
});
