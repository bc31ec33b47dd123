import sharp from 'sharp';
import { createApiKey } from '../factories/api-key.factory.js';
import { createTestApp, type TestApp } from '../utils/test-app.js';

describe('POST /v1/images/generations with local/easel/sketch', () => {
  let sut: TestApp;
  let key: string;

  beforeAll(async () => {
    sut = await createTestApp();
    ({ key } = await createApiKey(sut));
  });

  afterAll(async () => {
    await sut.close();
  });

  it('returns a 1024x1024 PNG as b64_json through the OpenAI SDK', async () => {
    const result = await sut.openai(key).images.generate({
      model: 'local/easel/sketch',
      prompt: 'a lighthouse at dusk',
      size: '1024x1024',
      response_format: 'b64_json',
    });

    expect(result.data).toHaveLength(1);
    const bytes = Buffer.from(result.data![0]!.b64_json!, 'base64');
    const metadata = await sharp(bytes).metadata();
    expect(metadata).toMatchObject({ format: 'png', width: 1024, height: 1024 });
    expect(result).toMatchObject({ size: '1024x1024', output_format: 'png', background: 'opaque' });
    expect(result.usage).toEqual({
      input_tokens: 0,
      input_tokens_details: { text_tokens: 0, image_tokens: 0 },
      output_tokens: 0,
      output_tokens_details: { text_tokens: 0, image_tokens: 0 },
      total_tokens: 0,
    });
  });

  it('returns a signed URL by default that serves the PNG without an API key', async () => {
    const result = await sut
      .openai(key)
      .images.generate({ model: 'local/easel/sketch', prompt: 'a red fox', size: '1024x1024' });

    const url = result.data![0]!.url!;
    expect(url).toMatch(new RegExp(`^${sut.baseUrl}/v1/images/files/[A-Za-z0-9_-]+\\.png\\?expires=\\d+&sig=`));
    const download = await fetch(url);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('image/png');
    const metadata = await sharp(Buffer.from(await download.arrayBuffer())).metadata();
    expect(metadata).toMatchObject({ format: 'png', width: 1024, height: 1024 });
  });

  it('refuses a tampered or expired image URL with 403 and an unknown file with 404', async () => {
    const result = await sut.openai(key).images.generate({ model: 'local/easel/sketch', prompt: 'a blue whale' });
    const url = new URL(result.data![0]!.url!);

    const tampered = new URL(url);
    tampered.searchParams.set('sig', `${url.searchParams.get('sig')!.slice(0, -2)}xx`);
    const expired = new URL(url);
    expired.searchParams.set('expires', '1000');
    const unknown = new URL(url);
    unknown.pathname = unknown.pathname.replace(/[^/]+\.png$/, 'AAAAAAAAAAAAAAAAAAAAAA.png');

    const tamperedResponse = await fetch(tampered);
    expect(tamperedResponse.status).toBe(403);
    expect(await tamperedResponse.json()).toMatchObject({ error: { type: 'permission_error', param: 'sig' } });
    expect((await fetch(expired)).status).toBe(403);
    expect([403, 404]).toContain((await fetch(unknown)).status);
  });

  it('renders the same bytes for the same prompt and size, and n different images', async () => {
    const request = {
      model: 'local/easel/sketch',
      prompt: 'two cats',
      size: '256x256',
      n: 2,
      response_format: 'b64_json',
    } as const;
    const first = await sut.openai(key).images.generate(request);
    const second = await sut.openai(key).images.generate(request);

    expect(first.data!.map((d) => d.b64_json)).toEqual(second.data!.map((d) => d.b64_json));
    expect(first.data![0]!.b64_json).not.toEqual(first.data![1]!.b64_json);
  });

  it('honours transparent backgrounds and other formats', async () => {
    const transparent = await sut.openai(key).images.generate({
      model: 'local/easel/sketch',
      prompt: 'a sticker',
      size: '512x512',
      background: 'transparent',
      response_format: 'b64_json',
    });
    const png = await sharp(Buffer.from(transparent.data![0]!.b64_json!, 'base64')).stats();
    expect(png.isOpaque).toBe(false);
    expect(transparent.background).toBe('transparent');

    const webp = await sut.openai(key).images.generate({
      model: 'local/easel/sketch',
      prompt: 'a sticker',
      size: '1536x1024',
      output_format: 'webp',
      output_compression: 50,
      response_format: 'b64_json',
    });
    const metadata = await sharp(Buffer.from(webp.data![0]!.b64_json!, 'base64')).metadata();
    expect(metadata).toMatchObject({ format: 'webp', width: 1536, height: 1024 });
  });

  it('sends x-request-id (echoing the client one) and x-easel-cost-usd', async () => {
    const response = await sut.http('/v1/images/generations', {
      key,
      body: { model: 'local/easel/sketch', prompt: 'hello', response_format: 'b64_json', size: '256x256' },
      headers: { 'x-request-id': 'client-req-42' },
    });

    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toBe('client-req-42');
    expect(response.headers.get('x-easel-cost-usd')).toBe('0');
  });
});
