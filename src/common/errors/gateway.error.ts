import type { UsageMeasure } from '../../usage/usage-measure.js';
import { ErrorCode } from './error-code.enum.js';

export interface GatewayErrorOptions {
  /** The request field at fault, as the client spelled it (`size`, `messages[2].content`). */
  param?: string;
  /** Extra response headers, such as `Retry-After`. */
  headers?: Record<string, string>;
  /** The internal cause: logged, never sent. */
  cause?: unknown;
  /** An upstream fault that may pass if tried again (429, 5xx, timeouts, broken connections). */
  transient?: boolean;
  /**
   * What the upstream did bill before the failure (the calls of a fan-out that succeeded before
   * another failed): charged to the request although the client gets the error.
   */
  billable?: UsageMeasure;
}

/**
 * A failure the client should see. Domain code throws these; only `OpenAiErrorFilter` turns them
 * into HTTP. Messages must never contain a key, a prompt or upstream credentials.
 */
export class GatewayError extends Error {
  readonly param?: string;
  readonly headers?: Record<string, string>;
  readonly transient: boolean;
  readonly billable?: UsageMeasure;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options: GatewayErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatewayError';
    this.param = options.param;
    this.headers = options.headers;
    this.transient = options.transient ?? false;
    this.billable = options.billable;
  }
}

export class InvalidRequestError extends GatewayError {
  constructor(message: string, param?: string, code: ErrorCode = ErrorCode.InvalidRequest) {
    super(code, message, { param });
  }
}
