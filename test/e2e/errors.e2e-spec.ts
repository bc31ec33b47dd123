import { createApiKey } from '../factories/api-key.factory.js';
import { createTestApp, type TestApp } from '../utils/test-app.js';

const openAiError = (type: string, code: string | null, param: string | null = null) => ({
  error: { message: expect.any(String), type, param, code },
});

describe('Error envelope (SPEC §4)', () => {
  let sut: TestApp;
  let key: string;

  beforeAll(async () => {
    sut = await createTestApp();
    ({ key } = await createApiKey(sut));
  });

  afterAll(async () => {
    await sut.close();
  });

  it('answers malformed JSON with 400 invalid_json', async () => {
    const response = await sut.http('/v1/images/generations', { key, body: '{"model":' });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual(openAiError('invalid_request_error', 'invalid_json'));
  });

  it('answers an empty JSON body with 400', async () => {
    const response = await sut.http('/v1/images/generations', {
      key,
      body: '',
      headers: { 'content-type': 'application/json' },
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { type: 'invalid_request_error' } });
  });

  it('answers a JSON array or scalar body with 400', async () => {
    for (const body of ['[1,2]', '"text"', '42', 'null']) {
      const response = await sut.http('/v1/images/generations', { key, body });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: { type: 'invalid_request_error' } });
    }
  });

  it('answers a body over the limit with 413', async () => {
    const prompt = 'a'.repeat(51 * 1024 * 1024);
    const response = await sut.http('/v1/images/generations', { key, body: { model: 'local/easel/sketch', prompt } });
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual(openAiError('invalid_request_error', 'body_too_large'));
  });

  it('answers unknown routes with 404 in the OpenAI shape, not an HTML page', async () => {
    const response = await sut.http('/v1/does-not-exist', { key });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual(openAiError('invalid_request_error', 'not_found'));
  });

  it('answers an unknown model with 404 model_not_found', async () => {
    const response = await sut.http('/v1/images/generations', { key, body: { model: 'nope/nope/nope', prompt: 'x' } });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual(openAiError('invalid_request_error', 'model_not_found', 'model'));
  });

  it('puts x-request-id and x-easel-cost-usd on error responses too', async () => {
    const response = await sut.http('/v1/images/generations', { key, body: '{' });
    expect(response.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]{32}$/);
    expect(response.headers.get('x-easel-cost-usd')).toBe('0');
  });

  it('ignores a client request id that is not a safe token', async () => {
    const response = await sut.http('/health/live', { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(response.headers.get('x-request-id')).toMatch(/^req_/);
  });
});

describe('Security headers and CORS', () => {
  it('puts security headers on every response and answers no CORS preflight by default', async () => {
    const sut = await createTestApp();
    try {
      const response = await sut.http('/health/live');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('x-frame-options')).toBe('DENY');
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
      const preflight = await sut.http('/v1/models', {
        method: 'OPTIONS',
        headers: { origin: 'https://app.example.com', 'access-control-request-method': 'GET' },
      });
      expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await sut.close();
    }
  });

  it('allows the origins CORS_ORIGINS names, and only those', async () => {
    const sut = await createTestApp({ env: { CORS_ORIGINS: 'https://app.example.com' } });
    try {
      const allowed = await sut.http('/v1/models', {
        method: 'OPTIONS',
        headers: {
          origin: 'https://app.example.com',
          'access-control-request-method': 'GET',
          'access-control-request-headers': 'authorization',
        },
      });
      expect(allowed.status).toBe(204);
      expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
      expect(allowed.headers.get('access-control-allow-headers')).toContain('authorization');
      const other = await sut.http('/v1/models', {
        method: 'OPTIONS',
        headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' },
      });
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await sut.close();
    }
  });
});
