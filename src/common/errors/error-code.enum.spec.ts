import { ErrorCode, errorShapeOf } from './error-code.enum.js';

describe('errorShapeOf', () => {
  it.each([
    [ErrorCode.InvalidRequest, 400, 'invalid_request_error'],
    [ErrorCode.UnknownField, 400, 'invalid_request_error'],
    [ErrorCode.InvalidJson, 400, 'invalid_request_error'],
    [ErrorCode.BodyTooLarge, 413, 'invalid_request_error'],
    [ErrorCode.FileTooLarge, 413, 'invalid_request_error'],
    [ErrorCode.UnsupportedParameter, 400, 'invalid_request_error'],
    [ErrorCode.UnsupportedMediaType, 415, 'invalid_request_error'],
    [ErrorCode.RequestTimeout, 408, 'invalid_request_error'],
    [ErrorCode.HeadersTooLarge, 431, 'invalid_request_error'],
    [ErrorCode.RouteNotFound, 404, 'invalid_request_error'],
    [ErrorCode.InvalidApiKey, 401, 'authentication_error'],
    [ErrorCode.PermissionDenied, 403, 'permission_error'],
    [ErrorCode.CsrfTokenInvalid, 403, 'permission_error'],
    [ErrorCode.ModelNotFound, 404, 'invalid_request_error'],
    [ErrorCode.ModelRetired, 410, 'invalid_request_error'],
    [ErrorCode.ResourceNotFound, 404, 'invalid_request_error'],
    [ErrorCode.RateLimitExceeded, 429, 'rate_limit_error'],
    [ErrorCode.InsufficientQuota, 429, 'insufficient_quota'],
    [ErrorCode.ContentPolicyViolation, 400, 'invalid_request_error'],
    [ErrorCode.UpstreamError, 502, 'upstream_error'],
    [ErrorCode.UpstreamTimeout, 504, 'upstream_error'],
    [ErrorCode.ModelUnavailable, 503, 'server_error'],
    [ErrorCode.NotReady, 503, 'server_error'],
    [ErrorCode.Overloaded, 503, 'server_error'],
    [ErrorCode.NotImplemented, 501, 'invalid_request_error'],
    [ErrorCode.Conflict, 409, 'invalid_request_error'],
    [ErrorCode.InternalError, 500, 'server_error'],
  ])('%s → HTTP %i %s', (code, status, type) => {
    expect(errorShapeOf(code)).toEqual({ status, type, wireCode: code });
  });

  it('has a shape for every code', () => {
    for (const code of Object.values(ErrorCode)) {
      const shape = errorShapeOf(code);

      expect(shape).toBeDefined();
      expect(shape.status).toBeGreaterThanOrEqual(400);
      expect(shape.status).toBeLessThan(600);
    }
  });

  it.each([
    [ErrorCode.UnknownField, 'unknown_parameter'],
    [ErrorCode.BodyTooLarge, 'body_too_large'],
    [ErrorCode.InvalidApiKey, 'invalid_api_key'],
    [ErrorCode.PermissionDenied, 'permission_denied'],
    [ErrorCode.CsrfTokenInvalid, 'csrf_token_invalid'],
    [ErrorCode.ModelNotFound, 'model_not_found'],
    [ErrorCode.RateLimitExceeded, 'rate_limit_exceeded'],
    [ErrorCode.InsufficientQuota, 'insufficient_quota'],
    [ErrorCode.ContentPolicyViolation, 'content_policy_violation'],
    [ErrorCode.UpstreamError, 'upstream_error'],
    [ErrorCode.UpstreamTimeout, 'upstream_timeout'],
    [ErrorCode.ModelUnavailable, 'model_unavailable'],
    [ErrorCode.Overloaded, 'overloaded'],
  ])('writes %s on the wire as %s', (code, wire) => {
    expect(errorShapeOf(code).wireCode).toBe(wire);
  });
});
