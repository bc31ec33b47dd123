import sharp from 'sharp';
import { createApiKey } from '../factories/api-key.factory.js';
import { createTestApp, type TestApp } from '../utils/test-app.js';

const MODEL = 'local/easel/sketch';

interface ChatImage {
  type: 'image_url';
  image_url: { url: string };
  index: number;
}

const imagesOf = (message: object) => (message as { images?: ChatImage[] }).images;

async function pngOf(dataUrl: string) {
  expect(dataUrl).toMatch(/^data:image\/png;base64,/);
  return sharp(Buffer.from(dataUrl.slice('data:image/png;base64,'.length), 'base64')).metadata();
}

describe('POST /v1/chat/completions with local/easel/sketch (no upstream)', () => {
  let sut: TestApp;
  let key: string;

  beforeAll(async () => {
    // No provider settings at all: the local model must still serve chat.
    sut = await createTestApp();
    ({ key } = await createApiKey(sut));
  });

  afterAll(async () => {
    await sut.close();
  });

  it('answers a text and a 1024x1024 PNG data URL in message.images, free of charge', async () => {
    const { data: completion, response } = await sut
      .openai(key)
      .chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'A lighthouse at dusk' }] })
      .withResponse();

    expect(response.headers.get('x-easel-cost-usd')).toBe('0');
    expect(completion).toMatchObject({ object: 'chat.completion', model: MODEL });
    expect(completion.choices).toHaveLength(1);
    const [choice] = completion.choices;
    expect(choice).toMatchObject({ index: 0, finish_reason: 'stop', message: { role: 'assistant' } });
    expect(choice!.message.content).toEqual(expect.stringContaining('A lighthouse at dusk'));
    const images = imagesOf(choice!.message)!;
    expect(images).toHaveLength(1);
    expect(images[0]).toMatchObject({ type: 'image_url', index: 0 });
    expect(await pngOf(images[0]!.image_url.url)).toMatchObject({ format: 'png', width: 1024, height: 1024 });
    expect(completion.usage).toMatchObject({
      prompt_tokens: 0,
      completion_tokens: 0,
      total_tokens: 0,
      completion_tokens_details: { image_tokens: 0 },
    });
  });

  it("renders image_config.aspect_ratio '21:9' at 1536x672", async () => {
    const completion = await sut.openai(key).chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'A panorama of the Alps' }],
      // @ts-expect-error Easel's extension of the chat request
      image_config: { aspect_ratio: '21:9' },
    });

    const images = imagesOf(completion.choices[0]!.message)!;
    expect(images).toHaveLength(1);
    expect(await pngOf(images[0]!.image_url.url)).toMatchObject({ width: 1536, height: 672 });
  });

  it("answers only text for modalities ['text']", async () => {
    const completion = await sut.openai(key).chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'Describe a fox' }],
      modalities: ['text'],
    });

    const [choice] = completion.choices;
    expect(choice!.finish_reason).toBe('stop');
    expect(choice!.message.content).toEqual(expect.stringContaining('Describe a fox'));
    expect(imagesOf(choice!.message) ?? []).toEqual([]);
  });

  it('answers n = 2 with two choices, each with its own image', async () => {
    const completion = await sut
      .openai(key)
      .chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Two owls' }], n: 2 });

    expect(completion.choices.map((choice) => choice.index)).toEqual([0, 1]);
    const urls: string[] = [];
    for (const choice of completion.choices) {
      expect(choice.finish_reason).toBe('stop');
      const images = imagesOf(choice.message)!;
      expect(images).toHaveLength(1);
      expect(await pngOf(images[0]!.image_url.url)).toMatchObject({ width: 1024, height: 1024 });
      urls.push(images[0]!.image_url.url);
    }
    // Each choice is rendered with its own seed.
    expect(urls[0]).not.toBe(urls[1]);
  });

  it('streams role first, text deltas, one image, finish_reason stop and a usage chunk, then ends', async () => {
    const prompt = 'A fox in the snow';
    const stream = await sut.openai(key).chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: prompt }],
      stream: true,
      stream_options: { include_usage: true },
    });

    const chunks = [];
    // The loop only ends if the stream ends ([DONE] and a closed response).
    for await (const chunk of stream) chunks.push(chunk);

    for (const chunk of chunks) expect(chunk.object).toBe('chat.completion.chunk');
    expect(new Set(chunks.map((chunk) => chunk.id)).size).toBe(1);

    const choiceChunks = chunks.filter((chunk) => chunk.choices.length > 0);
    expect(choiceChunks.length).toBeGreaterThan(0);
    expect(choiceChunks[0]!.choices[0]!.delta.role).toBe('assistant');
    const deltas = choiceChunks.flatMap((chunk) => chunk.choices);
    expect(deltas.every((choice) => choice.index === 0)).toBe(true);
    expect(deltas.filter((choice) => choice.delta.role !== undefined)).toHaveLength(1);

    const texts = deltas.flatMap((choice) => (choice.delta.content ? [choice.delta.content] : []));
    expect(texts.length).toBeGreaterThan(0);
    expect(texts.join('')).toContain(prompt);

    const images = deltas.flatMap((choice) => imagesOf(choice.delta) ?? []);
    expect(images).toHaveLength(1);
    expect(images[0]).toMatchObject({ type: 'image_url', index: 0 });
    expect(await pngOf(images[0]!.image_url.url)).toMatchObject({ width: 1024, height: 1024 });

    const finishes = deltas.flatMap((choice) => (choice.finish_reason ? [choice.finish_reason] : []));
    expect(finishes).toEqual(['stop']);
    const finishAt = chunks.findIndex((chunk) => chunk.choices.some((choice) => choice.finish_reason));
    const lastContentAt = chunks.findLastIndex((chunk) =>
      chunk.choices.some((choice) => choice.delta.content || imagesOf(choice.delta)),
    );
    expect(finishAt).toBeGreaterThan(lastContentAt);

    const usageChunks = chunks.filter((chunk) => chunk.usage);
    expect(usageChunks).toHaveLength(1);
    expect(usageChunks[0]).toMatchObject({
      choices: [],
      usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
    });
    expect(chunks.at(-1)).toBe(usageChunks[0]);
  });

  it('puts the stream on the wire as text/event-stream of data events ending with data: [DONE]', async () => {
    const response = await sut.http('/v1/chat/completions', {
      key,
      body: {
        model: MODEL,
        messages: [{ role: 'user', content: 'A boat' }],
        stream: true,
        stream_options: { include_usage: true },
      },
      headers: { 'x-request-id': 'local-chat-stream' },
    });

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(response.headers.get('x-request-id')).toBe('local-chat-stream');
    const events = (await response.text()).split(/\r?\n\r?\n/).filter((event) => event.trim() !== '');
    expect(events.every((event) => event.startsWith('data: '))).toBe(true);
    expect(events.at(-1)).toBe('data: [DONE]');
    const last = JSON.parse(events.at(-2)!.slice('data: '.length)) as {
      id: string;
      choices: unknown[];
      usage: unknown;
    };
    expect(last).toMatchObject({ id: 'chatcmpl-local-chat-stream', choices: [], usage: { total_tokens: 0 } });
  });

  it('streams the same text and image it answers without streaming (deterministic renderer)', async () => {
    const messages = [{ role: 'user' as const, content: 'A red kite over the sea' }];
    const completion = await sut.openai(key).chat.completions.create({ model: MODEL, messages });
    const stream = await sut.openai(key).chat.completions.create({ model: MODEL, messages, stream: true });

    let text = '';
    const images: ChatImage[] = [];
    for await (const chunk of stream) {
      expect(chunk.usage ?? undefined).toBeUndefined();
      for (const choice of chunk.choices) {
        text += choice.delta.content ?? '';
        images.push(...(imagesOf(choice.delta) ?? []));
      }
    }

    expect(text).toBe(completion.choices[0]!.message.content);
    expect(images.map((image) => image.image_url.url)).toEqual(
      imagesOf(completion.choices[0]!.message)!.map((image) => image.image_url.url),
    );
  });
});
