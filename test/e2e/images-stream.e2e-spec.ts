import sharp from 'sharp';
import { DataSource } from 'typeorm';
import { FakeAzureOpenAiServer } from '../fakes/fake-azure-openai.server.js';
import type { TestApp } from '../utils/test-app.js';
import { startWithAzure, useUpstreamApp } from '../utils/upstream-apps.js';
import { waitFor } from '../utils/wait-for.js';

interface ImageEvent {
  type: string;
  b64_json: string;
  partial_image_index?: number;
  size?: string;
  output_format?: string;
  usage?: { input_tokens: number; output_tokens: number };
}

describe('Streaming image generation (stream: true)', () => {
  let azure: FakeAzureOpenAiServer;
  let sut: TestApp;
  let key: string;

  useUpstreamApp(startWithAzure, (app) => ({ fake: azure, sut, key } = app));

  async function collect(stream: AsyncIterable<unknown>): Promise<ImageEvent[]> {
    const events: ImageEvent[] = [];
    for await (const event of stream) events.push(event as ImageEvent);
    return events;
  }

  it('passes Azure partial and completed events through the SDK streaming helper, and bills the usage', async () => {
    const stream = await sut.openai(key).images.generate({
      model: 'azure/openai/gpt-image-1.5',
      prompt: 'x'.repeat(40),
      size: '1024x1024',
      quality: 'low',
      stream: true,
      partial_images: 2,
    });
    const events = await collect(stream);

    expect(azure.generationRequests[0]!.body).toMatchObject({
      stream: true,
      partial_images: 2,
      size: '1024x1024',
      quality: 'low',
    });
    expect(events.map((event) => [event.type, event.partial_image_index])).toEqual([
      ['image_generation.partial_image', 0],
      ['image_generation.partial_image', 1],
      ['image_generation.completed', undefined],
    ]);
    const completed = events.at(-1)!;
    expect(completed).toMatchObject({
      size: '1024x1024',
      output_format: 'png',
      usage: { input_tokens: 10, output_tokens: 272 },
    });
    expect(await sharp(Buffer.from(completed.b64_json, 'base64')).metadata()).toMatchObject({
      format: 'png',
      width: 1024,
      height: 1024,
    });

    const dataSource = sut.app.get(DataSource);
    const rows = await waitFor<Array<{ cost_usd: string; output_image_tokens: number }>>(
      () =>
        dataSource.query(
          `SELECT cost_usd, output_image_tokens FROM usage_records WHERE model = 'azure/openai/gpt-image-1.5'`,
        ),
      (found) => found.length === 1,
    );
    expect(rows[0]).toEqual({ cost_usd: '0.008754000000', output_image_tokens: 272 }); // (10 × 5 + 272 × 32) / 1e6
  });

  it('streams real partial images from the local model, sharper each time', async () => {
    const stream = await sut.openai(key).images.generate({
      model: 'local/easel/sketch',
      prompt: 'a harbour at night',
      size: '512x512',
      stream: true,
      partial_images: 3,
    });
    const events = await collect(stream);

    expect(events.map((event) => event.type)).toEqual([
      'image_generation.partial_image',
      'image_generation.partial_image',
      'image_generation.partial_image',
      'image_generation.completed',
    ]);
    const images = await Promise.all(events.map((event) => sharp(Buffer.from(event.b64_json, 'base64')).metadata()));
    for (const metadata of images) expect(metadata).toMatchObject({ format: 'png', width: 512, height: 512 });
    const bytes = events.map((event) => event.b64_json);
    expect(new Set(bytes).size).toBe(4);
  });

  it('sends the cost as an x-easel-cost-usd trailer once the stream is done', async () => {
    const { request } = await import('node:http');
    const url = new URL('/v1/images/generations', sut.baseUrl);
    const body = JSON.stringify({
      model: 'azure/openai/gpt-image-1.5',
      prompt: 'x'.repeat(40),
      size: '1024x1024',
      quality: 'low',
      stream: true,
    });
    const { headers, trailers } = await new Promise<{
      headers: Record<string, unknown>;
      trailers: Record<string, unknown>;
    }>((resolve, reject) => {
      const req = request(
        url,
        { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' } },
        (res) => {
          res.resume();
          res.on('end', () => resolve({ headers: res.headers, trailers: res.trailers }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    expect(headers.trailer).toBe('x-easel-cost-usd');
    expect(trailers['x-easel-cost-usd']).toBe('0.008754'); // (10 × 5 + 272 × 32) / 1e6
  });

  it('sends only the completed event with partial_images 0', async () => {
    const events = await collect(
      await sut
        .openai(key)
        .images.generate({ model: 'local/easel/sketch', prompt: 'one frame', size: '256x256', stream: true }),
    );
    expect(events.map((event) => event.type)).toEqual(['image_generation.completed']);
  });

  it('refuses stream with response_format url before any event', async () => {
    const url = await sut.http('/v1/images/generations', {
      key,
      body: { model: 'local/easel/sketch', prompt: 'p', stream: true, response_format: 'url' },
    });
    expect(url.status).toBe(400);
    expect(await url.json()).toMatchObject({ error: { param: 'response_format' } });
  });

  it('answers an upstream refusal before the first event as a JSON 400', async () => {
    azure.enqueue({
      status: 400,
      body: { error: { code: 'moderation_blocked', message: 'Your request was rejected by the safety system.' } },
    });
    const response = await sut.http('/v1/images/generations', {
      key,
      body: { model: 'azure/openai/gpt-image-1.5', prompt: 'no', stream: true },
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    expect(await response.json()).toMatchObject({ error: { code: 'content_policy_violation' } });
  });

  it('ends with an error event when Azure breaks off mid-stream', async () => {
    azure.enqueue({
      status: 200,
      stream: {
        events: [
          `event: image_generation.partial_image\ndata: ${JSON.stringify({ type: 'image_generation.partial_image', b64_json: 'iVBORw0KGgo=', partial_image_index: 0 })}\n\n`,
        ],
        failAfter: 1,
      },
    });
    const stream = await sut
      .openai(key)
      .images.generate({ model: 'azure/openai/gpt-image-1.5', prompt: 'cut', stream: true, partial_images: 1 });
    await expect(collect(stream)).rejects.toThrow(/Azure OpenAI/);
  });
});
