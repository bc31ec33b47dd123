import { ErrorCode } from '../common/errors/error-code.enum.js';
import { GatewayError } from '../common/errors/gateway.error.js';
import { type UpstreamHeaders, UpstreamHttpError, UpstreamTransportError } from './upstream-http.js';

/** Upstream error codes that mean "the prompt or the image was refused by a safety system". */
const CONTENT_POLICY_CODES = new Set([
  'contentfilter',
  'content_filter',
  'content_policy_violation',
  'moderation_blocked',
  'responsibleaipolicyviolation',
]);

interface UpstreamErrorBody {
  error?: {
    code?: string | number;
    message?: string;
    status?: string;
    type?: string;
    inner_error?: { code?: string };
    innererror?: { code?: string };
  };
}

/**
 * The one translation from upstream failures to what the client sees (SPEC §4): refusals → 400
 * `content_policy_violation`, timeouts → 504, everything else → 502. Upstream messages are passed
 * on only for refusals and bad requests; credentials and internal details never are.
 */
export function mapUpstreamError(error: unknown, upstreamName: string): GatewayError {
  if (error instanceof GatewayError) return error;
  if (error instanceof UpstreamTransportError) {
    switch (error.reason) {
      case 'timeout':
        return new GatewayError(
          ErrorCode.UpstreamTimeout,
          `${upstreamName} did not answer in time: ${error.message}.`,
          { cause: error, transient: true },
        );
      case 'aborted':
        return new GatewayError(ErrorCode.ClientClosedRequest, 'The request was cancelled by the client.', {
          cause: error,
        });
      case 'network':
        return new GatewayError(ErrorCode.UpstreamError, `${upstreamName} failed: ${error.message}.`, {
          cause: error,
          transient: true,
        });
      case 'too_large':
      case 'malformed':
        return new GatewayError(ErrorCode.UpstreamError, `${upstreamName} failed: ${error.message}.`, { cause: error });
    }
  }
  if (error instanceof UpstreamHttpError) return fromHttpError(error, upstreamName);
  return new GatewayError(ErrorCode.UpstreamError, `${upstreamName} failed.`, { cause: error });
}

export function isContentPolicyRefusal(error: UpstreamHttpError): boolean {
  if (error.status !== 400) return false;
  const detail = (error.body as UpstreamErrorBody | undefined)?.error;
  const codes = [detail?.code, detail?.inner_error?.code, detail?.innererror?.code];
  return codes.some((code) => typeof code === 'string' && CONTENT_POLICY_CODES.has(code.toLowerCase()));
}

function fromHttpError(error: UpstreamHttpError, upstreamName: string): GatewayError {
  const detail = (error.body as UpstreamErrorBody | undefined)?.error;
  const upstreamMessage = typeof detail?.message === 'string' ? detail.message.slice(0, 500) : undefined;
  if (isContentPolicyRefusal(error)) {
    return new GatewayError(
      ErrorCode.ContentPolicyViolation,
      upstreamMessage ?? 'The request was rejected by the upstream safety system.',
      { param: 'prompt', cause: error },
    );
  }
  if (error.status === 429) {
    const retryAfter = retryAfterSeconds(error.headers) ?? googleRetryDelaySeconds(error.body);
    return new GatewayError(ErrorCode.UpstreamError, `${upstreamName} is rate limiting Easel (HTTP 429).`, {
      headers: retryAfter === undefined ? undefined : { 'retry-after': String(retryAfter) },
      cause: error,
      transient: true,
    });
  }
  if ((error.status === 400 || error.status === 422) && !isCredentialRefusal(error.body)) {
    return new GatewayError(
      ErrorCode.InvalidRequest,
      `${upstreamName} rejected the request${upstreamMessage ? `: ${upstreamMessage}` : '.'}`,
      { cause: error },
    );
  }
  if (error.status === 408 || error.status === 504) {
    return new GatewayError(ErrorCode.UpstreamTimeout, `${upstreamName} timed out (HTTP ${error.status}).`, {
      cause: error,
      transient: true,
    });
  }
  // 401/403/404 mean Easel's own upstream settings are wrong: the operator's problem, not the client's.
  return new GatewayError(ErrorCode.UpstreamError, `${upstreamName} failed with HTTP ${error.status}.`, {
    cause: error,
    transient: error.status >= 500,
  });
}

/** Google's `ErrorInfo` reasons for a key that is wrong: Easel's settings, not the client's request. */
const CREDENTIAL_REASONS = new Set(['API_KEY_INVALID', 'API_KEY_EXPIRED', 'API_KEY_SERVICE_BLOCKED']);

/**
 * The Gemini API answers a wrong `x-goog-api-key` with 400 `INVALID_ARGUMENT` whose `ErrorInfo`
 * detail says `API_KEY_INVALID`: like a 401, the operator's problem (502), never the client's 400.
 */
function isCredentialRefusal(body: unknown): boolean {
  const details = (body as { error?: { details?: Array<{ '@type'?: string; reason?: string }> } } | undefined)?.error
    ?.details;
  return (
    Array.isArray(details) &&
    details.some(
      (detail) => detail?.['@type']?.endsWith('google.rpc.ErrorInfo') && CREDENTIAL_REASONS.has(detail.reason ?? ''),
    )
  );
}

/** Seconds to wait, from `retry-after-ms` or `Retry-After` (seconds or an HTTP date). */
export function retryAfterSeconds(headers: UpstreamHeaders): number | undefined {
  const msValue = first(headers['retry-after-ms'])?.trim();
  const ms = msValue ? Number(msValue) : Number.NaN;
  if (Number.isFinite(ms) && ms >= 0) return Math.ceil(ms / 1000);
  const value = first(headers['retry-after'])?.trim();
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

/** Google's `RetryInfo` detail: `{ "@type": "…google.rpc.RetryInfo", "retryDelay": "3s" }`. */
function googleRetryDelaySeconds(body: unknown): number | undefined {
  const details = (body as { error?: { details?: Array<{ '@type'?: string; retryDelay?: string }> } } | undefined)
    ?.error?.details;
  const delay = details?.find((detail) => detail['@type']?.endsWith('google.rpc.RetryInfo'))?.retryDelay;
  const seconds = delay === undefined ? Number.NaN : Number.parseFloat(delay);
  return Number.isFinite(seconds) && seconds >= 0 ? Math.ceil(seconds) : undefined;
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
