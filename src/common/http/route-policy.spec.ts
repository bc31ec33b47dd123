import { assertJsonBody, BODY_LIMITS, formatBytes, routePolicy } from './route-policy.js';

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
});

describe(assertJsonBody.name, () => {
  it('accepts JSON, with or without parameters, and requests without a body', () => {
    expect(() => assertJsonBody('POST', { 'content-type': 'application/json', 'content-length': '2' })).not.toThrow();
    expect(() =>
      assertJsonBody('POST', { 'content-type': 'Application/JSON; charset=utf-8', 'transfer-encoding': 'chunked' }),
    ).not.toThrow();
    expect(() => assertJsonBody('DELETE', { 'content-type': 'text/plain', 'content-length': '0' })).not.toThrow();
    expect(() => assertJsonBody('DELETE', {})).not.toThrow();
    expect(() =>
      assertJsonBody('GET', { 'content-type': 'application/x-www-form-urlencoded', 'content-length': '9' }),
    ).not.toThrow();
  });

  it('refuses any other body with 415, saying to send Content-Type: application/json', () => {
    for (const headers of [
      { 'content-type': 'application/x-www-form-urlencoded', 'content-length': '9' },
      { 'content-type': 'multipart/form-data; boundary=x', 'transfer-encoding': 'chunked' },
      { 'content-length': '9' },
    ]) {
      expect(() => assertJsonBody('POST', headers)).toThrow(
        expect.objectContaining({
          code: 'unsupported_media_type',
          message: expect.stringContaining('"Content-Type: application/json"'),
        }),
      );
    }
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
