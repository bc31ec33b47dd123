/** Every error Easel puts on the wire. `errorShapeOf` maps each to its HTTP status and OpenAI type. */
export enum ErrorCode {
  InvalidRequest = 'invalid_value',
  UnknownField = 'unknown_parameter',
  InvalidJson = 'invalid_json',
  BodyTooLarge = 'body_too_large',
  UnsupportedMediaType = 'unsupported_media_type',
  RequestTimeout = 'request_timeout',
  HeadersTooLarge = 'headers_too_large',
  RouteNotFound = 'not_found',
  InvalidApiKey = 'invalid_api_key',
  PermissionDenied = 'permission_denied',
  ModelNotFound = 'model_not_found',
  ResourceNotFound = 'resource_not_found',
  RateLimitExceeded = 'rate_limit_exceeded',
  InsufficientQuota = 'insufficient_quota',
  ContentPolicyViolation = 'content_policy_violation',
  UpstreamError = 'upstream_error',
  UpstreamTimeout = 'upstream_timeout',
  ModelUnavailable = 'model_unavailable',
  NotReady = 'not_ready',
  NotImplemented = 'not_implemented',
  RangeNotSatisfiable = 'range_not_satisfiable',
  Conflict = 'conflict',
  ClientClosedRequest = 'client_closed_request',
  InternalError = 'internal_error',
}

export type OpenAiErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'insufficient_quota'
  | 'upstream_error'
  | 'server_error';

export interface ErrorShape {
  status: number;
  type: OpenAiErrorType;
  /** The `code` written on the wire; null where OpenAI sends none. */
  wireCode: string | null;
}

/** The one place where an error code becomes HTTP: the compiler forces a branch per code. */
export function errorShapeOf(code: ErrorCode): ErrorShape {
  switch (code) {
    case ErrorCode.InvalidRequest:
    case ErrorCode.UnknownField:
    case ErrorCode.InvalidJson:
      return { status: 400, type: 'invalid_request_error', wireCode: code };
    case ErrorCode.BodyTooLarge:
      return { status: 413, type: 'invalid_request_error', wireCode: code };
    case ErrorCode.UnsupportedMediaType:
      return { status: 415, type: 'invalid_request_error', wireCode: code };
    case ErrorCode.RequestTimeout:
      return { status: 408, type: 'invalid_request_error', wireCode: code };
    case ErrorCode.HeadersTooLarge:
      return { status: 431, type: 'invalid_request_error', wireCode: code };
    case ErrorCode.RouteNotFound:
    case ErrorCode.ResourceNotFound:
      return { status: 404, type: 'invalid_request_error', wireCode: code };
    case ErrorCode.InvalidApiKey:
      return { status: 401, type: 'authentication_error', wireCode: code };
    case ErrorCode.PermissionDenied:
      return { status: 403, type: 'permission_error', wireCode: code };
    case ErrorCode.ModelNotFound:
      return { status: 404, type: 'invalid_request_error', wireCode: code };
    case ErrorCode.RateLimitExceeded:
      return { status: 429, type: 'rate_limit_error', wireCode: code };
    case ErrorCode.InsufficientQuota:
      return { status: 429, type: 'insufficient_quota', wireCode: code };
    case ErrorCode.ContentPolicyViolation:
      return { status: 400, type: 'invalid_request_error', wireCode: code };
    case ErrorCode.UpstreamError:
      return { status: 502, type: 'upstream_error', wireCode: code };
    case ErrorCode.UpstreamTimeout:
      return { status: 504, type: 'upstream_error', wireCode: code };
    case ErrorCode.ModelUnavailable:
    case ErrorCode.NotReady:
      return { status: 503, type: 'server_error', wireCode: code };
    case ErrorCode.NotImplemented:
      return { status: 501, type: 'invalid_request_error', wireCode: code };
    case ErrorCode.Conflict:
      return { status: 409, type: 'invalid_request_error', wireCode: code };
    case ErrorCode.RangeNotSatisfiable:
      return { status: 416, type: 'invalid_request_error', wireCode: code };
    case ErrorCode.ClientClosedRequest:
      // Nobody reads it: the client has gone. 499 is what the usage record and logs show.
      return { status: 499, type: 'invalid_request_error', wireCode: code };
    case ErrorCode.InternalError:
      return { status: 500, type: 'server_error', wireCode: code };
  }
}
