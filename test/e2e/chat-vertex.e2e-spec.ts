import sharp from 'sharp';
import { DataSource } from 'typeorm';
import { chatRequest } from '../factories/request-body.factory.js';
import { FakeVertexServer, googleError, IMAGE_SAFETY_REFUSAL, PROMPT_BLOCKED } from '../fakes/fake-vertex.server.js';
import {
  GEMINI_PREVIEW,
  GEMINI_PREVIEW_HEADERS,
  GEMINI_PREVIEW_SUCCESSOR,
  lifecycleHeadersOf,
} from '../utils/lifecycle-headers.js';
import type { TestApp } from '../utils/test-app.js';
import { startWithVertex, useUpstreamApp, VERTEX_TOKEN } from '../utils/upstream-apps.js';
import { waitFor } from '../utils/wait-for.js';

const GA = 'vertex/google/gemini-2.5-flash-image';
const UPSTREAM_PATH = '/v1/projects/easel-test/locations/us-central1/publishers/google/models/gemini-2.5-flash-image';
/** Where the preview id's requests go since its shutdown. */
const SUCCESSOR_PATH = '/v1/projects/easel-test/locations/global/publishers/google/models/gemini-3.1-flash-lite-image';

interface ChatImage {
  type: 'image_url';
  image_url: { url: string };
  index: number;
}

async function pngOf(dataUrl: string) {
  expect(dataUrl).toMatch(/^data:image\/png;base64,/);
  return sharp(Buffer.from(dataUrl.slice('data:image/png;base64,'.length), 'base64')).metadata();
}

describe('POST /v1/chat/completions through Vertex AI (Gemini)', () => {
  let vertex: FakeVertexServer;
  let sut: TestApp;
  let key: string;

  useUpstreamApp(startWithVertex, (app) => ({ fake: vertex, sut, key } = app));

  it('answers text and a PNG in message.images, with usage and finish_reason, from exactly the request Vertex expects', async () => {
    const completion = await sut.openai(key).chat.completions.create({
      model: GA,
      messages: [{ role: 'user', content: 'A lighthouse at dusk, watercolour' }],
    });

    expect(vertex.generationRequests).toHaveLength(1);
    const [call] = vertex.generationRequests;
    expect(call!.path).toBe(`${UPSTREAM_PATH}:generateContent`);
    expect(call!.headers.authorization).toBe(`Bearer ${VERTEX_TOKEN}`);
    expect(call!.body).toEqual({
      contents: [{ role: 'user', parts: [{ text: 'A lighthouse at dusk, watercolour' }] }],
      generationConfig: { responseModalities: ['IMAGE', 'TEXT'] },
    });

    const message = completion.choices[0]!.message as (typeof completion.choices)[0]['message'] & {
      images: ChatImage[];
    };
    expect(completion.object).toBe('chat.completion');
    expect(completion.model).toBe(GA);
    expect(completion.choices[0]!.finish_reason).toBe('stop');
    expect(message.content).toEqual(expect.stringContaining('Here is your image'));
    expect(message.images).toHaveLength(1);
    expect(message.images[0]).toMatchObject({ type: 'image_url', index: 0 });
    expect(await pngOf(message.images[0]!.image_url.url)).toMatchObject({ width: 1024, height: 1024 });
    const textTokens = Math.ceil('A lighthouse at dusk, watercolour'.length / 4);
    expect(completion.usage).toMatchObject({
      prompt_tokens: textTokens,
      completion_tokens: completion.usage!.completion_tokens,
      total_tokens: textTokens + completion.usage!.completion_tokens,
      completion_tokens_details: { image_tokens: 1290 },
    });
    expect(completion.usage!.completion_tokens).toBeGreaterThan(1290);
  });

  it('maps system messages, input images, aspect ratio, n and sampling settings', async () => {
    const inputPng = (
      await sharp({ create: { width: 8, height: 8, channels: 3, background: '#336699' } })
        .png()
        .toBuffer()
    ).toString('base64');

    const completion = await sut.openai(key).chat.completions.create({
      model: GA,
      messages: [
        { role: 'system', content: 'You draw posters.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Make this wider' },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${inputPng}` } },
          ],
        },
      ],
      n: 2,
      temperature: 0.4,
      top_p: 0.9,
      max_tokens: 2048,
      // @ts-expect-error Easel's extensions of the chat request
      modalities: ['image'],
      image_config: { aspect_ratio: '16:9' },
    });

    expect(vertex.generationRequests[0]!.body).toEqual({
      contents: [
        {
          role: 'user',
          parts: [{ text: 'Make this wider' }, { inlineData: { mimeType: 'image/png', data: inputPng } }],
        },
      ],
      systemInstruction: { parts: [{ text: 'You draw posters.' }] },
      generationConfig: {
        responseModalities: ['IMAGE'],
        imageConfig: { aspectRatio: '16:9' },
        candidateCount: 2,
        temperature: 0.4,
        topP: 0.9,
        maxOutputTokens: 2048,
      },
    });
    expect(completion.choices.map((choice) => choice.index)).toEqual([0, 1]);
    for (const choice of completion.choices) {
      const images = (choice.message as unknown as { images: ChatImage[] }).images;
      expect(choice.message.content).toBeNull();
      expect(await pngOf(images[0]!.image_url.url)).toMatchObject({ width: 1344, height: 768 });
    }
    expect(completion.usage?.prompt_tokens_details).toMatchObject({ image_tokens: 258 });
    expect(completion.usage?.completion_tokens_details).toMatchObject({ image_tokens: 2580 });
  });

  it('streams text and the image through the SDK iterator, with a usage chunk, and ends', async () => {
    const stream = await sut.openai(key).chat.completions.create({
      model: GA,
      messages: [{ role: 'user', content: 'A fox in the snow' }],
      stream: true,
      stream_options: { include_usage: true },
    });

    let text = '';
    const images: ChatImage[] = [];
    const finishReasons: Array<string | null> = [];
    let usage: unknown;
    for await (const chunk of stream) {
      expect(chunk.object).toBe('chat.completion.chunk');
      for (const choice of chunk.choices) {
        text += choice.delta.content ?? '';
        images.push(...((choice.delta as { images?: ChatImage[] }).images ?? []));
        if (choice.finish_reason) finishReasons.push(choice.finish_reason);
      }
      if (chunk.usage) usage = chunk.usage;
    }

    expect(vertex.generationRequests[0]!.path).toBe(`${UPSTREAM_PATH}:streamGenerateContent`);
    expect(vertex.generationRequests[0]!.query.get('alt')).toBe('sse');
    expect(text).toContain('Here is your image');
    expect(images).toHaveLength(1);
    expect(await pngOf(images[0]!.image_url.url)).toMatchObject({ width: 1024, height: 1024 });
    expect(finishReasons).toEqual(['stop']);
    expect(usage).toMatchObject({
      completion_tokens_details: { image_tokens: 1290 },
      cost_usd: expect.stringMatching(/^0\.0\d+$/),
    });
  });

  it('streams a Gemini 3 model from its route location global, with image_config.image_size', async () => {
    const stream = await sut.openai(key).chat.completions.create({
      model: 'vertex/google/gemini-3-pro-image',
      messages: [{ role: 'user', content: 'A kite over dunes' }],
      stream: true,
      // Easel's extension of the chat request (spread: the SDK's streaming overload has no room for it)
      ...({ image_config: { aspect_ratio: '4:3', image_size: '2K' } } as object),
    });
    const images: ChatImage[] = [];
    for await (const chunk of stream)
      for (const choice of chunk.choices) images.push(...((choice.delta as { images?: ChatImage[] }).images ?? []));

    const [call] = vertex.generationRequests;
    expect(call!.path).toBe(
      '/v1/projects/easel-test/locations/global/publishers/google/models/gemini-3-pro-image:streamGenerateContent',
    );
    expect(call!.body).toEqual({
      contents: [{ role: 'user', parts: [{ text: 'A kite over dunes' }] }],
      generationConfig: { responseModalities: ['IMAGE', 'TEXT'], imageConfig: { aspectRatio: '4:3', imageSize: '2K' } },
    });
    expect(images).toHaveLength(1);
    expect(await pngOf(images[0]!.image_url.url)).toMatchObject({ width: 2400, height: 1792 });
  });

  it.each([
    ['a blocked prompt (promptFeedback)', PROMPT_BLOCKED],
    ['an image stopped by IMAGE_SAFETY', IMAGE_SAFETY_REFUSAL],
  ])('answers %s with finish_reason content_filter and no content', async (_name, body) => {
    vertex.enqueue({ status: 200, body });

    const completion = await sut
      .openai(key)
      .chat.completions.create({ model: GA, messages: [{ role: 'user', content: 'refused' }] });

    expect(completion.choices).toHaveLength(1);
    expect(completion.choices[0]).toMatchObject({
      finish_reason: 'content_filter',
      message: { role: 'assistant', content: null },
    });
    expect((completion.choices[0]!.message as { images?: unknown }).images).toBeUndefined();
  });

  it('streams a refusal as finish_reason content_filter', async () => {
    vertex.enqueue({ status: 200, body: PROMPT_BLOCKED });
    const stream = await sut
      .openai(key)
      .chat.completions.create({ model: GA, messages: [{ role: 'user', content: 'refused' }], stream: true });
    const reasons: string[] = [];
    for await (const chunk of stream)
      for (const choice of chunk.choices) if (choice.finish_reason) reasons.push(choice.finish_reason);
    expect(reasons).toEqual(['content_filter']);
  });

  it('records chat usage and cost at the Gemini prices', async () => {
    const response = await sut.http('/v1/chat/completions', {
      key,
      body: chatRequest({ model: GA, content: 'abcdefgh' }),
      headers: { 'x-request-id': 'chat-cost' },
    });
    const completion = (await response.json()) as { usage: Record<string, unknown> };
    // The fake counts 'abcdefgh' as 2 tokens, its 28-character answer as 7, and 1290 per image.
    expect(completion.usage).toMatchObject({
      prompt_tokens: 2,
      completion_tokens: 1297,
      completion_tokens_details: { image_tokens: 1290 },
    });
    // (2 × 0.30 + 7 × 2.50 + 1290 × 30) / 1e6
    expect(response.headers.get('x-easel-cost-usd')).toBe('0.0387181');

    const dataSource = sut.app.get(DataSource);
    const [record] = await waitFor<Array<Record<string, unknown>>>(
      () => dataSource.query(`SELECT * FROM usage_records WHERE request_id = 'chat-cost'`),
      (rows) => rows.length === 1,
    );
    expect(record).toMatchObject({
      endpoint: 'chat',
      model: GA,
      provider: 'vertex',
      status: 'success',
      images: 1,
      input_text_tokens: 2,
      output_image_tokens: 1290,
      output_text_tokens: 7,
      cost_usd: '0.038718100000',
      price_version: 1,
      served_model: GA,
    });
  });

  it('serves the preview id, retired on 2025-10-31, with its successor on location global: its model id, prices and headers; the record keeps both ids', async () => {
    const response = await sut.http('/v1/chat/completions', {
      key,
      body: chatRequest({ model: GEMINI_PREVIEW, content: 'abcdefgh' }),
      headers: { 'x-request-id': 'chat-preview-served' },
    });

    expect(response.status).toBe(200);
    expect(lifecycleHeadersOf(response)).toEqual(GEMINI_PREVIEW_HEADERS);
    expect(vertex.generationRequests).toHaveLength(1);
    const [call] = vertex.generationRequests;
    expect(call!.path).toBe(`${SUCCESSOR_PATH}:generateContent`);
    expect(call!.body).toEqual({
      contents: [{ role: 'user', parts: [{ text: 'abcdefgh' }] }],
      generationConfig: { responseModalities: ['IMAGE', 'TEXT'] },
    });
    const completion = (await response.json()) as {
      model: string;
      choices: Array<{ message: { images: ChatImage[] } }>;
      usage: Record<string, unknown>;
    };
    expect(completion.model).toBe(GEMINI_PREVIEW_SUCCESSOR);
    expect(await pngOf(completion.choices[0]!.message.images[0]!.image_url.url)).toMatchObject({
      width: 1024,
      height: 1024,
    });
    // 'abcdefgh' is 2 tokens, the 28-character answer 7, and the successor's image 1120.
    expect(completion.usage).toMatchObject({
      prompt_tokens: 2,
      completion_tokens: 1127,
      completion_tokens_details: { image_tokens: 1120 },
    });
    // At the successor's prices: (2 × 0.25 + 7 × 1.50 + 1120 × 30) / 1e6 = 33611 / 1e6
    expect(response.headers.get('x-easel-cost-usd')).toBe('0.033611');

    const dataSource = sut.app.get(DataSource);
    const [record] = await waitFor<Array<Record<string, unknown>>>(
      () => dataSource.query(`SELECT * FROM usage_records WHERE request_id = 'chat-preview-served'`),
      (rows) => rows.length === 1,
    );
    expect(record).toMatchObject({
      endpoint: 'chat',
      model: GEMINI_PREVIEW,
      served_model: GEMINI_PREVIEW_SUCCESSOR,
      provider: 'vertex',
      status: 'success',
      images: 1,
      input_text_tokens: 2,
      output_image_tokens: 1120,
      output_text_tokens: 7,
      cost_usd: '0.033611000000',
    });
  });

  it('streams the preview id from its successor, every chunk naming the successor', async () => {
    const response = await sut.http('/v1/chat/completions', {
      key,
      body: chatRequest({ model: GEMINI_PREVIEW, stream: true, content: 'A fox in the snow' }),
    });

    expect(response.status).toBe(200);
    expect(lifecycleHeadersOf(response)).toEqual(GEMINI_PREVIEW_HEADERS);
    expect(vertex.generationRequests.map((request) => request.path)).toEqual([
      `${SUCCESSOR_PATH}:streamGenerateContent`,
    ]);
    const chunks = (await response.text())
      .split('\n\n')
      .filter((frame) => frame.startsWith('data: {'))
      .map((frame) => JSON.parse(frame.slice('data: '.length)) as { model: string; choices: unknown[] });
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) expect(chunk.model).toBe(GEMINI_PREVIEW_SUCCESSOR);
  });

  it('refuses n = 2 for the preview id with 400 on n, as its successor makes one candidate per chat call', async () => {
    const response = await sut.http('/v1/chat/completions', {
      key,
      body: chatRequest({ model: GEMINI_PREVIEW, n: 2, content: 'two kites' }),
    });

    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: {
        message: expect.stringContaining(`${GEMINI_PREVIEW_SUCCESSOR} answers at most 1 choice per chat request`),
        type: 'invalid_request_error',
        param: 'n',
        code: 'invalid_value',
      },
    });
    expect(lifecycleHeadersOf(response)).toEqual(GEMINI_PREVIEW_HEADERS);
    expect(vertex.requests).toHaveLength(0);
  });
});

describe('POST /v1/chat/completions through a failing Vertex AI', () => {
  let vertex: FakeVertexServer;
  let sut: TestApp;
  let key: string;

  // A failure counts against the route's circuit breaker, which lives as long as the app: each
  // test gets an app of its own, so none inherits the failures of the tests before it.
  useUpstreamApp(startWithVertex, (app) => ({ fake: vertex, sut, key } = app), { appPerTest: true });

  it('ends a stream that fails upstream mid-way with an error event, never a hang', async () => {
    const events = await vertex.streamEventsFor({
      contents: [{ role: 'user', parts: [{ text: 'a broken stream' }] }],
      generationConfig: { responseModalities: ['IMAGE', 'TEXT'] },
    });
    vertex.enqueueStream(events, { failAfter: 1 });

    const stream = await sut.openai(key).chat.completions.create({
      model: GA,
      messages: [{ role: 'user', content: 'a broken stream' }],
      stream: true,
    });
    const received: string[] = [];
    await expect(
      (async () => {
        for await (const chunk of stream) for (const choice of chunk.choices) received.push(choice.delta.content ?? '');
      })(),
    ).rejects.toThrow(/Vertex AI/);
    expect(received.join('')).not.toBe('');
  });

  it('retries a 429 after its RetryInfo delay and reports it as 502 with that Retry-After when it persists', async () => {
    const exhausted = googleError(429, 'RESOURCE_EXHAUSTED', 'Resource exhausted.', [
      { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '1s' },
    ]);
    vertex.enqueue(exhausted, exhausted, exhausted);
    const response = await sut.http('/v1/chat/completions', {
      key,
      body: chatRequest({ model: GA, content: 'busy' }),
    });
    expect(response.status).toBe(502);
    expect(response.headers.get('retry-after')).toBe('1');
    expect(vertex.generationRequests).toHaveLength(3);
    expect(await response.json()).toMatchObject({ error: { type: 'upstream_error', code: 'upstream_error' } });
  });

  it('aborts the upstream stream when the client disconnects, and still records the request', async () => {
    const events = await vertex.streamEventsFor({
      contents: [{ role: 'user', parts: [{ text: 'slow' }] }],
      generationConfig: { responseModalities: ['IMAGE', 'TEXT'] },
    });
    vertex.enqueueStream(events, { intervalMs: 1000 });
    const controller = new AbortController();
    const response = await fetch(`${sut.baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${key}`,
        'content-type': 'application/json',
        'x-request-id': 'disconnecting-client',
      },
      body: JSON.stringify(chatRequest({ model: GA, stream: true, content: 'slow' })),
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    await reader.read();
    controller.abort();

    await waitFor(
      async () => vertex.abortedResponses,
      (count) => count === 1,
      5_000,
    );
    const dataSource = sut.app.get(DataSource);
    const [record] = await waitFor<Array<Record<string, unknown>>>(
      () =>
        dataSource.query(
          `SELECT status, http_status, error_code, endpoint FROM usage_records WHERE request_id = 'disconnecting-client'`,
        ),
      (rows) => rows.length === 1,
    );
    expect(record).toEqual({
      status: 'error',
      http_status: 499,
      error_code: 'client_closed_request',
      endpoint: 'chat',
    });
  });
});
