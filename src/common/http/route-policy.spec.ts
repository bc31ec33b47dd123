import { assertJsonBody, BODY_LIMITS, formatBytes, routePolicy } from './route-policy.js';

describe(routePolicy.name, () => {
  it.each([
    ['/v1/images/generations', true, BODY_LIMITS.imageGenerations],
    ['/v1/chat/completions', true, BODY_LIMITS.chat],
    ['/v1/models/:id', true, BODY_LIMITS.default],
    ['/v1/does-not-exist', true, BODY_LIMITS.default],
    ['/admin/keys/:id', true, BODY_LIMITS.default],
    ['/admin', true, BODY_LIMITS.default],
    ['/v1/images/files/:file', false, BODY_LIMITS.default],
    ['/health/live', false, BODY_LIMITS.default],
    ['/metrics', false, BODY_LIMITS.default],
    ['/docs', false, BODY_LIMITS.default],
    ['/v1x', false, BODY_LIMITS.default],
    ['/administrator', false, BODY_LIMITS.default],
  ])('%s: needs a key %s, takes %i bytes', (path, needsKey, bodyLimit) => {
    expect(routePolicy(path)).toEqual({ needsKey, bodyLimit });
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
