import sharp from 'sharp';
import { DataSource } from 'typeorm';
import { createApiKey } from '../factories/api-key.factory.js';
import {
  FakeVertexServer,
  GEMINI_IMAGE_SIZES,
  type GeminiAspectRatio,
  IMAGE_SAFETY_REFUSAL,
  PROMPT_BLOCKED,
} from '../fakes/fake-vertex.server.js';
import {
  GEMINI_PREVIEW,
  GEMINI_PREVIEW_HEADERS,
  GEMINI_PREVIEW_SUCCESSOR,
  lifecycleHeadersOf,
} from '../utils/lifecycle-headers.js';
import { createTestApp, type TestApp } from '../utils/test-app.js';
import { startWithVertex, useUpstreamApp, VERTEX_TOKEN } from '../utils/upstream-apps.js';
import { waitFor } from '../utils/wait-for.js';

const GA = 'vertex/google/gemini-2.5-flash-image';
const UPSTREAM_PATH =
  '/v1/projects/easel-test/locations/us-central1/publishers/google/models/gemini-2.5-flash-image:generateContent';
/** Where the preview id's requests go since its shutdown. */
const SUCCESSOR_PATH =
  '/v1/projects/easel-test/locations/global/publishers/google/models/gemini-3.1-flash-lite-image:generateContent';

/** The body Easel must send for an images request: image output only, the ratio, candidates when n > 1. */
function upstreamBody(prompt: string, aspectRatio: GeminiAspectRatio, candidateCount?: number) {
  return {
    contents: [{ role: 'user', parts: [{ text: prompt }] }],
    generationConfig: {
      responseModalities: ['IMAGE'],
      imageConfig: { aspectRatio },
      ...(candidateCount === undefined ? {} : { candidateCount }),
    },
  };
}

async function pngMetadata(b64: string) {
  return sharp(Buffer.from(b64, 'base64')).metadata();
}

describe('POST /v1/images/generations with the Gemini models (Vertex AI)', () => {
  let vertex: FakeVertexServer;
  let sut: TestApp;
  let key: string;

  useUpstreamApp(startWithVertex, (app) => ({ fake: vertex, sut, key } = app));

  it.each<[string, GeminiAspectRatio]>([
    ['1024x1024', '1:1'],
    ['1536x1024', '3:2'],
    ['1024x1536', '2:3'],
    ['1792x1024', '16:9'],
    ['1024x1792', '9:16'],
    ['1536x672', '21:9'],
    ['auto', '1:1'],
  ])('maps size %s to aspect ratio %s and answers the real pixel size', async (size, aspectRatio) => {
    const prompt = `a paper crane, ${size}`;

    const result = await sut.openai(key).images.generate({ model: GA, prompt, size, response_format: 'b64_json' });

    expect(vertex.generationRequests).toHaveLength(1);
    const [call] = vertex.generationRequests;
    expect(call!.path).toBe(UPSTREAM_PATH);
    expect(call!.headers.authorization).toBe(`Bearer ${VERTEX_TOKEN}`);
    expect(call!.body).toEqual(upstreamBody(prompt, aspectRatio));

    const { width, height } = GEMINI_IMAGE_SIZES[aspectRatio];
    expect(result).toMatchObject({
      size: `${width}x${height}`,
      quality: 'auto',
      output_format: 'png',
      background: 'opaque',
    });
    expect(result.data).toHaveLength(1);
    expect(await pngMetadata(result.data![0]!.b64_json!)).toMatchObject({ format: 'png', width, height });
  });

  it('reports 1248x832 for 1536x1024 and stores that PNG behind the default url response', async () => {
    const result = await sut.openai(key).images.generate({ model: GA, prompt: 'a wide harbour', size: '1536x1024' });

    expect(result.size).toBe('1248x832');
    const url = result.data![0]!.url!;
    expect(url).toMatch(new RegExp(`^${sut.baseUrl}/v1/images/files/[A-Za-z0-9_-]+\\.png\\?expires=\\d+&sig=`));
    const download = await fetch(url);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('image/png');
    expect(await sharp(Buffer.from(await download.arrayBuffer())).metadata()).toMatchObject({
      format: 'png',
      width: 1248,
      height: 832,
    });
  });

  it('asks for n = 3 as one call with candidateCount 3 and returns the 3 images', async () => {
    const result = await sut
      .openai(key)
      .images.generate({ model: GA, prompt: 'three kites', n: 3, size: '1024x1024', response_format: 'b64_json' });

    expect(vertex.generationRequests).toHaveLength(1);
    expect(vertex.generationRequests[0]!.body).toEqual(upstreamBody('three kites', '1:1', 3));
    expect(result.data).toHaveLength(3);
    const images = result.data!.map((datum) => datum.b64_json!);
    // The fake paints each candidate its own colour: three distinct images, not one repeated.
    expect(new Set(images).size).toBe(3);
    for (const image of images) expect(await pngMetadata(image)).toMatchObject({ width: 1024, height: 1024 });
    expect(result.usage).toMatchObject({ output_tokens: 3 * 1290, output_tokens_details: { image_tokens: 3 * 1290 } });
  });

  it('splits n = 10 into two calls (8 + 2 candidates) and returns all 10 images with the summed usage', async () => {
    const prompt = 'abcdefghij'; // the fake counts 3 text tokens per call
    const result = await sut
      .openai(key)
      .images.generate({ model: GA, prompt, n: 10, size: '1024x1792', response_format: 'b64_json' });

    expect(vertex.generationRequests).toHaveLength(2);
    const bodies = vertex.generationRequests.map(
      (request) => request.body as { generationConfig: { candidateCount: number } },
    );
    expect(bodies.map((body) => body.generationConfig.candidateCount).sort((a, b) => a - b)).toEqual([2, 8]);
    for (const body of bodies) expect(body).toEqual(upstreamBody(prompt, '9:16', body.generationConfig.candidateCount));

    expect(result.data).toHaveLength(10);
    expect(result.size).toBe('768x1344');
    for (const datum of result.data!)
      expect(await pngMetadata(datum.b64_json!)).toMatchObject({ width: 768, height: 1344 });
    expect(result.usage).toEqual({
      input_tokens: 6,
      input_tokens_details: { text_tokens: 6, image_tokens: 0 },
      output_tokens: 12900,
      output_tokens_details: { text_tokens: 0, image_tokens: 12900 },
      total_tokens: 12906,
    });
  });

  it('charges the usage at the Gemini prices, in the x-easel-cost-usd header and the usage record', async () => {
    const response = await sut.http('/v1/images/generations', {
      key,
      body: { model: GA, prompt: 'abcdefghij', size: '1536x1024', response_format: 'b64_json' },
      headers: { 'x-request-id': 'gemini-images-cost' },
    });

    expect(response.status).toBe(200);
    const body = (await response.json()) as { usage: unknown; size: string };
    // The fake counts the 10-character prompt as ceil(10 / 4) = 3 tokens and the image as 1290.
    expect(body.usage).toEqual({
      input_tokens: 3,
      input_tokens_details: { text_tokens: 3, image_tokens: 0 },
      output_tokens: 1290,
      output_tokens_details: { text_tokens: 0, image_tokens: 1290 },
      total_tokens: 1293,
    });
    // (3 × 0.30 + 1290 × 30) / 1e6 = 38700.9 / 1e6
    expect(response.headers.get('x-easel-cost-usd')).toBe('0.0387009');

    const dataSource = sut.app.get(DataSource);
    const [record] = await waitFor<Array<Record<string, unknown>>>(
      () => dataSource.query(`SELECT * FROM usage_records WHERE request_id = 'gemini-images-cost'`),
      (rows) => rows.length === 1,
    );
    expect(record).toMatchObject({
      endpoint: 'images',
      model: GA,
      provider: 'vertex',
      status: 'success',
      http_status: 200,
      images: 1,
      size: '1248x832',
      input_text_tokens: 3,
      output_image_tokens: 1290,
      output_text_tokens: 0,
      cost_usd: '0.038700900000',
      served_model: GA,
    });
  });

  it('charges every call of a split request: n = 10 costs both prompts and all ten images', async () => {
    const { response } = await sut
      .openai(key)
      .images.generate({ model: GA, prompt: 'abcdefghij', n: 10, response_format: 'b64_json' })
      .withResponse();

    // (2 × 3 × 0.30 + 10 × 1290 × 30) / 1e6 = 387001.8 / 1e6
    expect(response.headers.get('x-easel-cost-usd')).toBe('0.3870018');
  });

  it.each([
    ['a blocked prompt (promptFeedback.blockReason)', PROMPT_BLOCKED],
    ['an image stopped by IMAGE_SAFETY', IMAGE_SAFETY_REFUSAL],
  ])('answers %s with 400 content_policy_violation on prompt, without retrying', async (_name, refusal) => {
    vertex.enqueue({ status: 200, body: refusal });

    const response = await sut.http('/v1/images/generations', {
      key,
      body: { model: GA, prompt: 'something refused' },
    });

    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: {
        message: expect.any(String),
        type: 'invalid_request_error',
        param: 'prompt',
        code: 'content_policy_violation',
      },
    });
    expect(vertex.generationRequests).toHaveLength(1);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['a transparent background', { background: 'transparent' }, 'background'],
    ['output_format jpeg', { output_format: 'jpeg' }, 'output_format'],
    ['quality high', { quality: 'high' }, 'quality'],
    ['size 512x512', { size: '512x512' }, 'size'],
  ])('refuses %s, which Gemini cannot make, with 400 and no upstream call', async (_name, fields, param) => {
    const response = await sut.http('/v1/images/generations', {
      key,
      body: { model: GA, prompt: 'a lantern', ...fields },
    });

    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: { message: expect.any(String), type: 'invalid_request_error', param, code: expect.any(String) },
    });
    expect(vertex.requests).toHaveLength(0);
  });

  it('routes vertex/google/gemini-2.5-flash-image to gemini-2.5-flash-image in VERTEX_LOCATION, as itself', async () => {
    const response = await sut.http('/v1/images/generations', {
      key,
      body: { model: GA, prompt: 'a teapot', response_format: 'b64_json' },
    });

    expect(response.status).toBe(200);
    expect(vertex.generationRequests.map((request) => request.path)).toEqual([UPSTREAM_PATH]);
    const body = (await response.json()) as { model: string; data: unknown[] };
    expect(body.model).toBe(GA);
    expect(body.data).toHaveLength(1);
    expect(lifecycleHeadersOf(response)).toEqual({ served: null, deprecation: null, sunset: null, link: null });
  });

  it('serves the preview id, retired on 2025-10-31, with its successor on location global: one call per image, its prices, both ids recorded', async () => {
    const response = await sut.http('/v1/images/generations', {
      key,
      body: { model: GEMINI_PREVIEW, prompt: 'abcdefghij', n: 2, size: '1536x1024', response_format: 'b64_json' },
      headers: { 'x-request-id': 'gemini-preview-served' },
    });

    expect(response.status).toBe(200);
    expect(lifecycleHeadersOf(response)).toEqual(GEMINI_PREVIEW_HEADERS);
    // The successor takes one candidate per call: n = 2 is two calls, neither with candidateCount.
    expect(vertex.generationRequests.map((request) => request.path)).toEqual([SUCCESSOR_PATH, SUCCESSOR_PATH]);
    for (const request of vertex.generationRequests) {
      expect(request.headers.authorization).toBe(`Bearer ${VERTEX_TOKEN}`);
      expect(request.body).toEqual(upstreamBody('abcdefghij', '3:2'));
    }
    const body = (await response.json()) as { model: string; size: string; data: Array<{ b64_json: string }> };
    expect(body).toMatchObject({
      model: GEMINI_PREVIEW_SUCCESSOR,
      size: '1264x848',
      usage: {
        input_tokens: 6,
        input_tokens_details: { text_tokens: 6, image_tokens: 0 },
        output_tokens: 2240,
        output_tokens_details: { text_tokens: 0, image_tokens: 2240 },
        total_tokens: 2246,
      },
    });
    expect(body.data).toHaveLength(2);
    for (const datum of body.data)
      expect(await pngMetadata(datum.b64_json)).toMatchObject({ format: 'png', width: 1264, height: 848 });
    // At the successor's prices: (2 × 3 × 0.25 + 2 × 1120 × 30) / 1e6 = 67201.5 / 1e6
    expect(response.headers.get('x-easel-cost-usd')).toBe('0.0672015');

    const dataSource = sut.app.get(DataSource);
    const [record] = await waitFor<Array<Record<string, unknown>>>(
      () => dataSource.query(`SELECT * FROM usage_records WHERE request_id = 'gemini-preview-served'`),
      (rows) => rows.length === 1,
    );
    expect(record).toMatchObject({
      endpoint: 'images',
      model: GEMINI_PREVIEW,
      served_model: GEMINI_PREVIEW_SUCCESSOR,
      provider: 'vertex',
      status: 'success',
      http_status: 200,
      images: 2,
      size: '1264x848',
      input_text_tokens: 6,
      output_image_tokens: 2240,
      output_text_tokens: 0,
      cost_usd: '0.067201500000',
    });
  });

  it('validates a request for the preview id as its successor: image_size 1K is taken (2.5 Flash Image has no tiers), 2K refused', async () => {
    const taken = await sut.http('/v1/images/generations', {
      key,
      body: { model: GEMINI_PREVIEW, prompt: 'a lantern', image_size: '1K', response_format: 'b64_json' },
    });
    expect(taken.status).toBe(200);
    expect(vertex.generationRequests.map((request) => request.body)).toEqual([
      {
        contents: [{ role: 'user', parts: [{ text: 'a lantern' }] }],
        generationConfig: { responseModalities: ['IMAGE'], imageConfig: { aspectRatio: '1:1', imageSize: '1K' } },
      },
    ]);

    for (const [model, imageSize] of [
      [GA, '1K'],
      [GEMINI_PREVIEW, '2K'],
    ]) {
      const refused = await sut.http('/v1/images/generations', {
        key,
        body: { model, prompt: 'a lantern', image_size: imageSize },
      });
      expect(refused.status).toBe(400);
      expect(((await refused.json()) as { error: { param: string } }).error.param).toBe('image_size');
    }
    expect(vertex.generationRequests).toHaveLength(1);
  });
});

describe('Gemini 3 image models on Vertex AI, on their route location global', () => {
  const PRO = 'vertex/google/gemini-3-pro-image';
  let vertex: FakeVertexServer;
  let sut: TestApp;
  let key: string;

  useUpstreamApp(startWithVertex, (app) => ({ fake: vertex, sut, key } = app));

  it('calls …/locations/global/… (VERTEX_LOCATION is us-central1), once per image, with the size tier', async () => {
    const { data: result, response } = await sut
      .openai(key)
      .images.generate({
        model: PRO,
        prompt: 'abcdefghij',
        n: 2,
        size: '1024x1024',
        response_format: 'b64_json',
        // @ts-expect-error Easel's extension of the images request
        image_size: '2K',
      })
      .withResponse();

    expect(vertex.generationRequests.map((request) => request.path)).toEqual([
      '/v1/projects/easel-test/locations/global/publishers/google/models/gemini-3-pro-image:generateContent',
      '/v1/projects/easel-test/locations/global/publishers/google/models/gemini-3-pro-image:generateContent',
    ]);
    for (const request of vertex.generationRequests) {
      expect(request.headers.authorization).toBe(`Bearer ${VERTEX_TOKEN}`);
      expect(request.body).toEqual({
        contents: [{ role: 'user', parts: [{ text: 'abcdefghij' }] }],
        generationConfig: { responseModalities: ['IMAGE'], imageConfig: { aspectRatio: '1:1', imageSize: '2K' } },
      });
    }
    expect(result.size).toBe('2048x2048');
    expect(result.data).toHaveLength(2);
    for (const datum of result.data!) expect(await pngMetadata(datum.b64_json!)).toMatchObject({ width: 2048 });
    // 2 × 3 text tokens at $2 and 2 × 1,120 image tokens at $120, per 1M: (12 + 268,800) / 1e6
    expect(response.headers.get('x-easel-cost-usd')).toBe('0.268812');
  });

  it('refuses a tier 3.1 Flash Lite Image does not make (image_size 4K), with no upstream call', async () => {
    const response = await sut.http('/v1/images/generations', {
      key,
      body: { model: 'vertex/google/gemini-3.1-flash-lite-image', prompt: 'a lantern', image_size: '4K' },
    });

    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { param: string } }).error.param).toBe('image_size');
    expect(vertex.requests).toHaveLength(0);
  });
});

describe('Gemini models on the images endpoint without VERTEX_PROJECT', () => {
  let sut: TestApp;
  let key: string;

  beforeAll(async () => {
    sut = await createTestApp({ env: { VERTEX_ACCESS_VERTEX_TOKEN: VERTEX_TOKEN } });
    ({ key } = await createApiKey(sut));
  });

  afterAll(async () => {
    await sut.close();
  });

  it('lists them as unavailable, naming VERTEX_PROJECT', async () => {
    const models = await sut.openai(key).models.list();

    for (const id of [GEMINI_PREVIEW, GA]) {
      const model = models.data.find((candidate) => candidate.id === id) as unknown as Record<string, unknown>;
      expect(model).toMatchObject({ available: false, unavailable_reason: expect.stringContaining('VERTEX_PROJECT') });
    }
  });

  it.each([GEMINI_PREVIEW, GA])('answers %s with 503 model_unavailable naming VERTEX_PROJECT', async (model) => {
    const response = await sut.http('/v1/images/generations', { key, body: { model, prompt: 'a teapot' } });

    expect(response.status).toBe(503);
    const body = (await response.json()) as { error: { message: string; code: string; type: string } };
    expect(body.error).toMatchObject({ code: 'model_unavailable', type: 'server_error' });
    expect(body.error.message).toContain('VERTEX_PROJECT');
  });
});
