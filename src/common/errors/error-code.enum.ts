/** Every error Easel puts on the wire. `errorShapeOf` maps each to its HTTP status and OpenAI type. */
export enum ErrorCode {
  InvalidRequest = 'invalid_value',
  UnknownField = 'unknown_parameter',
  /** A known parameter this model cannot take (a mask for Gemini). */
  UnsupportedParameter = 'unsupported_parameter',
  InvalidJson = 'invalid_json',
  BodyTooLarge = 'body_too_large',
  /** An edit upload over UPLOAD_MAX_FILE_BYTES or UPLOAD_MAX_TOTAL_BYTES. */
  FileTooLarge = 'file_too_large',
  UnsupportedMediaType = 'unsupported_media_type',
  RequestTimeout = 'request_timeout',
  HeadersTooLarge = 'headers_too_large',
  RouteNotFound = 'not_found',
  InvalidApiKey = 'invalid_api_key',
  PermissionDenied = 'permission_denied',
  /** A change made with the console session cookie without its `x-csrf-token`, or with another one. */
  CsrfTokenInvalid = 'csrf_token_invalid',
  ModelNotFound = 'model_not_found',
  /** A model past its catalogue `shutdown_on` whose `after_shutdown` is `reject`. */
  ModelRetired = 'model_retired',
  ResourceNotFound = 'resource_not_found',
  RateLimitExceeded = 'rate_limit_exceeded',
  InsufficientQuota = 'insufficient_quota',
  ContentPolicyViolation = 'content_policy_violation',
  UpstreamError = 'upstream_error',
  UpstreamTimeout = 'upstream_timeout',
  ModelUnavailable = 'model_unavailable',
  NotReady = 'not_ready',
  /** The answers in flight would pass MAX_IN_FLIGHT_BYTES: refused before the upstream, with `Retry-After`. */
  Overloaded = 'overloaded',
  /** The image store (the S3 bucket, the local disk) failed to store or read an image. */
  StorageUnavailable = 'storage_unavailable',
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

/**
 * The one place where an error code becomes HTTP. Keyed by every code: the compiler refuses a new
 * code until it has its line here.
 */
const STATUS_AND_TYPE: Readonly<Record<ErrorCode, Omit<ErrorShape, 'wireCode'>>> = {
  [ErrorCode.InvalidRequest]: { status: 400, type: 'invalid_request_error' },
  [ErrorCode.UnknownField]: { status: 400, type: 'invalid_request_error' },
  [ErrorCode.UnsupportedParameter]: { status: 400, type: 'invalid_request_error' },
  [ErrorCode.InvalidJson]: { status: 400, type: 'invalid_request_error' },
  [ErrorCode.BodyTooLarge]: { status: 413, type: 'invalid_request_error' },
  [ErrorCode.FileTooLarge]: { status: 413, type: 'invalid_request_error' },
  [ErrorCode.UnsupportedMediaType]: { status: 415, type: 'invalid_request_error' },
  [ErrorCode.RequestTimeout]: { status: 408, type: 'invalid_request_error' },
  [ErrorCode.HeadersTooLarge]: { status: 431, type: 'invalid_request_error' },
  [ErrorCode.RouteNotFound]: { status: 404, type: 'invalid_request_error' },
  [ErrorCode.InvalidApiKey]: { status: 401, type: 'authentication_error' },
  [ErrorCode.PermissionDenied]: { status: 403, type: 'permission_error' },
  [ErrorCode.CsrfTokenInvalid]: { status: 403, type: 'permission_error' },
  [ErrorCode.ModelNotFound]: { status: 404, type: 'invalid_request_error' },
  [ErrorCode.ModelRetired]: { status: 410, type: 'invalid_request_error' },
  [ErrorCode.ResourceNotFound]: { status: 404, type: 'invalid_request_error' },
  [ErrorCode.RateLimitExceeded]: { status: 429, type: 'rate_limit_error' },
  [ErrorCode.InsufficientQuota]: { status: 429, type: 'insufficient_quota' },
  [ErrorCode.ContentPolicyViolation]: { status: 400, type: 'invalid_request_error' },
  [ErrorCode.UpstreamError]: { status: 502, type: 'upstream_error' },
  [ErrorCode.UpstreamTimeout]: { status: 504, type: 'upstream_error' },
  [ErrorCode.ModelUnavailable]: { status: 503, type: 'server_error' },
  [ErrorCode.NotReady]: { status: 503, type: 'server_error' },
  [ErrorCode.Overloaded]: { status: 503, type: 'server_error' },
  [ErrorCode.StorageUnavailable]: { status: 503, type: 'server_error' },
  [ErrorCode.NotImplemented]: { status: 501, type: 'invalid_request_error' },
  [ErrorCode.RangeNotSatisfiable]: { status: 416, type: 'invalid_request_error' },
  [ErrorCode.Conflict]: { status: 409, type: 'invalid_request_error' },
  // Nobody reads it: the client has gone. 499 is what the usage record and logs show.
  [ErrorCode.ClientClosedRequest]: { status: 499, type: 'invalid_request_error' },
  [ErrorCode.InternalError]: { status: 500, type: 'server_error' },
};

export function errorShapeOf(code: ErrorCode): ErrorShape {
  return { ...STATUS_AND_TYPE[code], wireCode: code };
}
