import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { requestContextOf } from '../http/request-context.js';
import { formatBytes } from '../http/route-policy.js';
import { ErrorCode, errorShapeOf } from './error-code.enum.js';
import { GatewayError } from './gateway.error.js';

export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export interface ErrorResponse {
  status: number;
  body: OpenAiErrorBody;
  headers: Record<string, string>;
}

const logger = new Logger('Errors');

/** Fastify's own errors (body parsing, limits) carry a code and a status. */
interface FastifyStyleError {
  statusCode?: number;
  code?: string;
  message?: string;
}

/** Classifies anything thrown into OpenAI's error envelope. */
export function toErrorResponse(exception: unknown, requestId: string): ErrorResponse {
  const gatewayError = asGatewayError(exception);
  if (gatewayError) {
    const shape = errorShapeOf(gatewayError.code);
    if (shape.status >= 500 && gatewayError.cause !== undefined) {
      // The client gets a clean message; the operator needs the cause (bad credentials, DNS, …).
      logger.warn(`${requestId}: ${gatewayError.message} Cause: ${describeCause(gatewayError.cause)}`);
    }
    return {
      status: shape.status,
      body: {
        error: {
          message: gatewayError.message,
          type: shape.type,
          param: gatewayError.param ?? null,
          code: shape.wireCode,
        },
      },
      headers: gatewayError.headers ?? {},
    };
  }
  logger.error({ requestId, err: exception }, `Unhandled error in request ${requestId}`);
  const shape = errorShapeOf(ErrorCode.InternalError);
  return {
    status: shape.status,
    body: {
      error: {
        message: `Internal server error. Quote request id ${requestId} when reporting it.`,
        type: shape.type,
        param: null,
        code: shape.wireCode,
      },
    },
    headers: {},
  };
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error)
    return `${cause.name}: ${cause.message}${cause.cause === undefined ? '' : ` <- ${describeCause(cause.cause)}`}`;
  return String(cause);
}

function asGatewayError(exception: unknown): GatewayError | undefined {
  if (exception instanceof GatewayError) return exception;
  if (exception instanceof HttpException) return fromHttpException(exception);
  const fastifyError = exception as FastifyStyleError | undefined;
  const status = fastifyError?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return fromClientStatus(status, fastifyError?.code, fastifyError?.message ?? '');
  }
  return undefined;
}

function fromHttpException(exception: HttpException): GatewayError | undefined {
  const status = exception.getStatus();
  if (status >= 500) return undefined;
  const response = exception.getResponse();
  const message =
    typeof response === 'object' && response !== null && 'message' in response
      ? String((response as { message: unknown }).message)
      : exception.message;
  return fromClientStatus(status, undefined, message);
}

function fromClientStatus(status: number, fastifyCode: string | undefined, message: string): GatewayError {
  switch (status) {
    case 404:
      return new GatewayError(ErrorCode.RouteNotFound, message.replace(/^Cannot /, 'Unknown route: '));
    case 413:
      return new GatewayError(ErrorCode.BodyTooLarge, 'Request body is too large.');
    case 415:
      return new GatewayError(
        ErrorCode.UnsupportedMediaType,
        'Unsupported Content-Type: send the body as JSON with the header "Content-Type: application/json".',
      );
    case 401:
      return new GatewayError(ErrorCode.InvalidApiKey, message);
    case 403:
      return new GatewayError(ErrorCode.PermissionDenied, message);
    case 429:
      return new GatewayError(ErrorCode.RateLimitExceeded, message);
    default:
      if (fastifyCode === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
        return new GatewayError(ErrorCode.InvalidJson, 'The request body is empty; send a JSON object.');
      }
      if (fastifyCode?.startsWith('FST_ERR_CTP') || /JSON/i.test(message)) {
        return new GatewayError(ErrorCode.InvalidJson, `The request body is not valid JSON: ${message}`);
      }
      return new GatewayError(ErrorCode.InvalidRequest, message);
  }
}

/** The only place that writes errors to HTTP: `{ error: { message, type, param, code } }`. */
@Catch()
export class OpenAiErrorFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const response = toErrorResponse(withBodyLimit(exception, request), request.id);
    requestContextOf(request, reply).errorCode = response.body.error.code ?? undefined;
    sendError(reply, response);
  }
}

/** Fastify's 413 says nothing of the limit; the route's is in its options. */
function withBodyLimit(exception: unknown, request: FastifyRequest): unknown {
  const limit = request.routeOptions.bodyLimit;
  // Nest hands Fastify's 4xx errors on as HttpExceptions caused by them.
  const error = (exception instanceof HttpException ? exception.cause : exception) as FastifyStyleError | undefined;
  if (error?.code !== 'FST_ERR_CTP_BODY_TOO_LARGE' || !limit) return exception;
  return new GatewayError(
    ErrorCode.BodyTooLarge,
    `Request body is too large: this route takes at most ${formatBytes(limit)}.`,
  );
}

export function sendError(reply: FastifyReply, response: ErrorResponse): void {
  if (reply.sent) return;
  // An error describes this attempt only: no cache may keep it (a refused image URL, say).
  void reply
    .status(response.status)
    .headers({ 'cache-control': 'no-store', ...response.headers })
    .type('application/json')
    .send(response.body);
}
