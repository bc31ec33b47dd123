import { createApiKey } from '../factories/api-key.factory.js';
import { createTestApp, type TestApp } from '../utils/test-app.js';

/** GET/HEAD /v1/images/files/{file}: caching, ranges and refusals of the signed image URLs. */
describe('GET /v1/images/files/:file', () => {
  let sut: TestApp;
  let url: URL;
  let whole: Buffer;

  beforeAll(async () => {
    sut = await createTestApp();
    const { key } = await createApiKey(sut);
    const result = await sut
      .openai(key)
      .images.generate({ model: 'local/easel/sketch', prompt: 'a kite', size: '256x256' });
    url = new URL(result.data![0]!.url!);
    whole = Buffer.from(await (await fetch(url)).arrayBuffer());
  });

  afterAll(async () => {
    await sut.close();
  });

  it('serves the image for no longer than the URL lives, with its length and byte ranges announced', async () => {
    const response = await fetch(url);

    expect(response.status).toBe(200);
    expect(response.headers.get('accept-ranges')).toBe('bytes');
    expect(response.headers.get('content-length')).toBe(String(whole.length));
    const maxAge = Number(/max-age=(\d+)/.exec(response.headers.get('cache-control') ?? '')?.[1]);
    const remaining = Number(url.searchParams.get('expires')) - Math.floor(Date.now() / 1000);
    expect(maxAge).toBeGreaterThan(0);
    expect(maxAge).toBeLessThanOrEqual(remaining + 1);
  });

  it('never lets a cache keep a refusal', async () => {
    const tampered = new URL(url);
    tampered.searchParams.set('sig', 'A'.repeat(43));
    const expired = new URL(url);
    expired.searchParams.set('expires', '1000');

    for (const target of [tampered, expired]) {
      const response = await fetch(target);
      expect(response.status).toBe(403);
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(await response.json()).toMatchObject({ error: { type: 'permission_error' } });
    }
  });

  it.each([
    ['bytes=0-99', 0, 99],
    ['bytes=100-', 100, -1],
    ['bytes=-50', -50, -1],
    ['bytes=10-999999999', 10, -1],
  ])('answers Range %s with 206 and exactly those bytes', async (range, start, end) => {
    const response = await fetch(url, { headers: { range } });

    const first = start < 0 ? whole.length + start : start;
    const last = end < 0 ? whole.length - 1 : end;
    expect(response.status).toBe(206);
    expect(response.headers.get('content-range')).toBe(`bytes ${first}-${last}/${whole.length}`);
    expect(response.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await response.arrayBuffer())).toEqual(whole.subarray(first, last + 1));
  });

  it.each(['bytes=999999999-', 'bytes=-0'])(
    'answers an unsatisfiable Range %s with 416 and the size',
    async (range) => {
      const response = await fetch(url, { headers: { range } });

      expect(response.status).toBe(416);
      expect(response.headers.get('content-range')).toBe(`bytes */${whole.length}`);
      expect(await response.json()).toMatchObject({ error: { type: 'invalid_request_error', param: 'range' } });
    },
  );

  it.each(['items=0-1', 'bytes=0-1,5-9', 'bytes=5-2', 'bytes=abc', 'bytes=1-2-3'])(
    'serves the whole image for a Range it does not honour (%s), as RFC 9110 allows',
    async (range) => {
      const response = await fetch(url, { headers: { range } });

      expect(response.status).toBe(200);
      expect(Buffer.from(await response.arrayBuffer())).toEqual(whole);
    },
  );

  it('answers HEAD with the headers of GET and no body', async () => {
    const response = await fetch(url, { method: 'HEAD' });

    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBe(String(whole.length));
    expect(response.headers.get('content-type')).toBe('image/png');
    expect(await response.text()).toBe('');
  });
});
