import { jest } from '@jest/globals';
import { ErrorCode } from '../common/errors/error-code.enum.js';
import { GatewayError } from '../common/errors/gateway.error.js';
import { isContentPolicyRefusal, mapUpstreamError, retryAfterSeconds } from './upstream-error.mapper.js';
import { UpstreamHttpError, UpstreamTransportError } from './upstream-http.js';

const UPSTREAM = 'Azure OpenAI';

function httpError(status: number, body: unknown = {}, headers: Record<string, string | string[]> = {}) {
  return new UpstreamHttpError(status, body, headers);
}

describe('mapUpstreamError', () => {
  describe('content policy refusals', () => {
    it.each(['contentFilter', 'moderation_blocked', 'content_filter', 'content_policy_violation'])(
      'maps a 400 with code %s to content_policy_violation on param prompt',
      (code) => {
        const error = mapUpstreamError(
          httpError(400, { error: { code, message: 'Your request was rejected.' } }),
          UPSTREAM,
        );

        expect(error).toBeInstanceOf(GatewayError);
        expect(error.code).toBe(ErrorCode.ContentPolicyViolation);
        expect(error.param).toBe('prompt');
        expect(error.message).toBe('Your request was rejected.');
      },
    );

    it.each(['innererror', 'inner_error'])(
      'maps a 400 whose %s.code is ResponsibleAIPolicyViolation to content_policy_violation',
      (field) => {
        const body = { error: { code: 'invalid_request_error', [field]: { code: 'ResponsibleAIPolicyViolation' } } };

        expect(mapUpstreamError(httpError(400, body), UPSTREAM).code).toBe(ErrorCode.ContentPolicyViolation);
      },
    );

    it('maps content_filter with innererror ResponsibleAIPolicyViolation to content_policy_violation', () => {
      const body = {
        error: {
          code: 'content_filter',
          message: 'The response was filtered.',
          innererror: { code: 'ResponsibleAIPolicyViolation' },
        },
      };

      expect(mapUpstreamError(httpError(400, body), UPSTREAM).code).toBe(ErrorCode.ContentPolicyViolation);
    });

    it('uses a generic message when the upstream sent none', () => {
      const error = mapUpstreamError(httpError(400, { error: { code: 'moderation_blocked' } }), UPSTREAM);

      expect(error.code).toBe(ErrorCode.ContentPolicyViolation);
      expect(error.message).toMatch(/safety system/);
    });

    it('does not treat a refusal code on a non-400 status as a refusal', () => {
      expect(mapUpstreamError(httpError(500, { error: { code: 'content_filter' } }), UPSTREAM).code).toBe(
        ErrorCode.UpstreamError,
      );
    });
  });

  describe('other HTTP failures', () => {
    it('maps a 400 with another code to invalid_value carrying the upstream message', () => {
      const body = { error: { code: 'invalid_size', message: 'size must be 1024x1024' } };

      const error = mapUpstreamError(httpError(400, body), UPSTREAM);

      expect(error.code).toBe(ErrorCode.InvalidRequest);
      expect(error.message).toBe('Azure OpenAI rejected the request: size must be 1024x1024');
    });

    it('maps a 429 to upstream_error and preserves retry-after seconds', () => {
      const error = mapUpstreamError(httpError(429, {}, { 'retry-after': '7' }), UPSTREAM);

      expect(error.code).toBe(ErrorCode.UpstreamError);
      expect(error.headers).toEqual({ 'retry-after': '7' });
    });

    it('maps a 429 with retry-after-ms to whole seconds, rounded up', () => {
      const error = mapUpstreamError(httpError(429, {}, { 'retry-after-ms': '1500' }), UPSTREAM);

      expect(error.code).toBe(ErrorCode.UpstreamError);
      expect(error.headers).toEqual({ 'retry-after': '2' });
    });

    it('maps a 429 without retry headers to upstream_error without headers', () => {
      const error = mapUpstreamError(httpError(429), UPSTREAM);

      expect(error.code).toBe(ErrorCode.UpstreamError);
      expect(error.headers).toBeUndefined();
    });

    it('maps a 500 to upstream_error', () => {
      const error = mapUpstreamError(httpError(500, { error: { message: 'boom' } }), UPSTREAM);

      expect(error.code).toBe(ErrorCode.UpstreamError);
      expect(error.message).toContain('HTTP 500');
    });

    it('maps a 401 to upstream_error without passing the upstream body on', () => {
      const body = {
        error: {
          code: '401',
          message: 'Access denied due to invalid subscription key sk-secret-abc123 for resource res-1.',
        },
      };

      const error = mapUpstreamError(httpError(401, body), UPSTREAM);

      expect(error.code).toBe(ErrorCode.UpstreamError);
      expect(error.message).not.toContain('Access denied');
      expect(error.message).not.toContain('sk-secret-abc123');
      expect(error.message).not.toContain('res-1');
    });

    it("maps the Gemini API's 400 for a wrong API key to upstream_error, as a 401: the operator's key, not the client's request", () => {
      const body = {
        error: {
          code: 400,
          message: 'API key not valid. Please pass a valid API key.',
          status: 'INVALID_ARGUMENT',
          details: [
            {
              '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
              reason: 'API_KEY_INVALID',
              domain: 'googleapis.com',
              metadata: { service: 'generativelanguage.googleapis.com' },
            },
          ],
        },
      };

      const error = mapUpstreamError(httpError(400, body), UPSTREAM);

      expect(error.code).toBe(ErrorCode.UpstreamError);
      expect(error.message).not.toContain('API key not valid');
    });

    it.each([408, 504])('maps an HTTP %i to upstream_timeout', (status) => {
      expect(mapUpstreamError(httpError(status), UPSTREAM).code).toBe(ErrorCode.UpstreamTimeout);
    });

    it('keeps the upstream error as the cause', () => {
      const cause = httpError(500);

      expect(mapUpstreamError(cause, UPSTREAM).cause).toBe(cause);
    });
  });

  describe('transport failures', () => {
    it('maps a timeout to upstream_timeout', () => {
      const error = mapUpstreamError(new UpstreamTransportError('timeout', 'no answer within 100 ms'), UPSTREAM);

      expect(error.code).toBe(ErrorCode.UpstreamTimeout);
      expect(error.message).toContain(UPSTREAM);
    });

    it.each(['network', 'malformed', 'too_large'] as const)('maps %s to upstream_error', (reason) => {
      expect(mapUpstreamError(new UpstreamTransportError(reason, 'x'), UPSTREAM).code).toBe(ErrorCode.UpstreamError);
    });

    it('maps a client abort to client_closed_request, which is no upstream fault and is not retried', () => {
      const error = mapUpstreamError(new UpstreamTransportError('aborted', 'x'), UPSTREAM);
      expect(error.code).toBe(ErrorCode.ClientClosedRequest);
      expect(error.transient).toBe(false);
    });

    it('marks network failures and timeouts transient (retried), malformed answers not', () => {
      expect(mapUpstreamError(new UpstreamTransportError('network', 'x'), UPSTREAM).transient).toBe(true);
      expect(mapUpstreamError(new UpstreamTransportError('timeout', 'x'), UPSTREAM).transient).toBe(true);
      expect(mapUpstreamError(new UpstreamTransportError('malformed', 'x'), UPSTREAM).transient).toBe(false);
    });
  });

  it('passes a GatewayError through unchanged', () => {
    const original = new GatewayError(ErrorCode.ModelUnavailable, 'nope');

    expect(mapUpstreamError(original, UPSTREAM)).toBe(original);
  });

  it('maps anything else to upstream_error without its message', () => {
    const error = mapUpstreamError(new Error('password=hunter2'), UPSTREAM);

    expect(error.code).toBe(ErrorCode.UpstreamError);
    expect(error.message).not.toContain('hunter2');
  });
});

describe('isContentPolicyRefusal', () => {
  it('matches codes case-insensitively', () => {
    expect(isContentPolicyRefusal(httpError(400, { error: { code: 'CONTENT_FILTER' } }))).toBe(true);
  });

  it('is false for other codes and non-object bodies', () => {
    expect(isContentPolicyRefusal(httpError(400, { error: { code: 'invalid_value' } }))).toBe(false);
    expect(isContentPolicyRefusal(httpError(400, 'Bad Request'))).toBe(false);
  });
});

describe('retryAfterSeconds', () => {
  const now = Date.parse('2030-01-01T00:00:00Z');

  beforeEach(() => {
    jest.useFakeTimers({ now });
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('reads seconds', () => {
    expect(retryAfterSeconds({ 'retry-after': '30' })).toBe(30);
  });

  it('rounds fractional seconds up', () => {
    expect(retryAfterSeconds({ 'retry-after': '1.2' })).toBe(2);
  });

  it('prefers retry-after-ms', () => {
    expect(retryAfterSeconds({ 'retry-after-ms': '250', 'retry-after': '30' })).toBe(1);
  });

  it('reads an HTTP date as seconds from now', () => {
    expect(retryAfterSeconds({ 'retry-after': 'Tue, 01 Jan 2030 00:00:45 GMT' })).toBe(45);
  });

  it('reads an HTTP date in the past as 0', () => {
    expect(retryAfterSeconds({ 'retry-after': 'Mon, 31 Dec 2029 23:59:00 GMT' })).toBe(0);
  });

  it('takes the first of repeated headers', () => {
    expect(retryAfterSeconds({ 'retry-after': ['5', '9'] })).toBe(5);
  });

  it('is undefined without a header or with garbage', () => {
    expect(retryAfterSeconds({})).toBeUndefined();
    expect(retryAfterSeconds({ 'retry-after': 'soon' })).toBeUndefined();
  });
});
