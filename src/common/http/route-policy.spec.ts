import { assertBodyType, BODY_LIMITS, formatBytes, IMAGE_EDITS_PATH, routePolicy } from './route-policy.js';

describe(routePolicy.name, () => {
  // The policies of the routes without a body limit of their own.
  const NEEDS_KEY = { needsKey: true, bodyLimit: BODY_LIMITS.default };
  const PUBLIC = { needsKey: false, bodyLimit: BODY_LIMITS.default };

  it.each([
    ['/v1/images/generations', { needsKey: true, bodyLimit: BODY_LIMITS.imageGenerations }],
    ['/v1/chat/completions', { needsKey: true, bodyLimit: BODY_LIMITS.chat }],
    ['/v1/models/:id', NEEDS_KEY],
    ['/v1/does-not-exist', NEEDS_KEY],
    ['/admin/keys/:id', NEEDS_KEY],
    ['/admin', NEEDS_KEY],
    ['/v1/images/files/:file', PUBLIC],
    ['/health/live', PUBLIC],
    ['/metrics', PUBLIC],
    ['/docs', PUBLIC],
    ['/v1x', PUBLIC],
    ['/administrator', PUBLIC],
  ])('%s: %p', (path, policy) => {
    expect(routePolicy(path)).toEqual(policy);
  });

  it('lets image edits take UPLOAD_MAX_TOTAL_BYTES as base64 data URLs, plus the fields', () => {
    const uploads = { maxFileBytes: 25 * 1024 * 1024, maxTotalBytes: 3 * 1024 * 1024 };

    expect(routePolicy(IMAGE_EDITS_PATH, uploads)).toEqual({ needsKey: true, bodyLimit: 5 * 1024 * 1024 });
    expect(routePolicy('/v1/images/generations', uploads).bodyLimit).toBe(BODY_LIMITS.imageGenerations);
  });
});

describe(assertBodyType.name, () => {
  it('accepts JSON, with or without parameters, and requests without a body', () => {
    expect(() =>
      assertBodyType('POST', '/v1/chat/completions', { 'content-type': 'application/json', 'content-length': '2' }),
    ).not.toThrow();
    expect(() =>
      assertBodyType('POST', '/v1/chat/completions', {
        'content-type': 'Application/JSON; charset=utf-8',
        'transfer-encoding': 'chunked',
      }),
    ).not.toThrow();
    expect(() =>
      assertBodyType('DELETE', '/admin/keys/:id', { 'content-type': 'text/plain', 'content-length': '0' }),
    ).not.toThrow();
    expect(() => assertBodyType('DELETE', '/admin/keys/:id', {})).not.toThrow();
    expect(() =>
      assertBodyType('GET', '/v1/models', {
        'content-type': 'application/x-www-form-urlencoded',
        'content-length': '9',
      }),
    ).not.toThrow();
  });

  it('refuses any other body with 415, saying to send Content-Type: application/json', () => {
    for (const headers of [
      { 'content-type': 'application/x-www-form-urlencoded', 'content-length': '9' },
      { 'content-type': 'multipart/form-data; boundary=x', 'transfer-encoding': 'chunked' },
      { 'content-length': '9' },
    ]) {
      expect(() => assertBodyType('POST', '/v1/images/generations', headers)).toThrow(
        expect.objectContaining({
          code: 'unsupported_media_type',
          message: expect.stringContaining('"Content-Type: application/json"'),
        }),
      );
    }
  });
});

describe(`${assertBodyType.name} on image edits`, () => {
  it('also accepts a multipart form there, and says so when it refuses', () => {
    const form = { 'content-type': 'multipart/form-data; boundary=x', 'content-length': '9' };

    expect(() => assertBodyType('POST', IMAGE_EDITS_PATH, form)).not.toThrow();
    expect(() =>
      assertBodyType('POST', IMAGE_EDITS_PATH, { 'content-type': 'text/plain', 'content-length': '9' }),
    ).toThrow(
      expect.objectContaining({
        code: 'unsupported_media_type',
        message: expect.stringContaining('multipart/form-data'),
      }),
    );
  });
});

describe(formatBytes.name, () => {
  it('writes limits as people read them', () => {
    expect([formatBytes(32 * 1024 * 1024), formatBytes(65_536), formatBytes(1000)]).toEqual([
      '32 MB',
      '64 KB',
      '1000 bytes',
    ]);
  });
});
