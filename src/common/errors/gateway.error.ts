import { ErrorCode } from './error-code.enum.js';

export interface GatewayErrorOptions {
  /** The request field at fault, as the client spelled it (`size`, `messages[2].content`). */
  param?: string;
  /** Extra response headers, such as `Retry-After`. */
  headers?: Record<string, string>;
  /** The internal cause: logged, never sent. */
  cause?: unknown;
}

/**
 * A failure the client should see. Domain code throws these; only `OpenAiErrorFilter` turns them
 * into HTTP. Messages must never contain a key, a prompt or upstream credentials.
 */
export class GatewayError extends Error {
  readonly param?: string;
  readonly headers?: Record<string, string>;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options: GatewayErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatewayError';
    this.param = options.param;
    this.headers = options.headers;
  }
}

export class InvalidRequestError extends GatewayError {
  constructor(message: string, param?: string, code: ErrorCode = ErrorCode.InvalidRequest) {
    super(code, message, { param });
  }
}
