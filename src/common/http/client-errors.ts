import { randomUUID } from 'node:crypto';
import { type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode } from '../errors/error-code.enum.js';
import { GatewayError } from '../errors/gateway.error.js';
import { sendError, toErrorResponse } from '../errors/openai-error.filter.js';

/** Headers every response carries: an API has nothing to frame, sniff or refer. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-site',
};

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The ids made for requests without a usable `x-request-id`: one per request, however often asked. */
const madeIds = new WeakMap<IncomingMessage, string>();

/**
 * The request id of a request: the client's `x-request-id` if it is a safe token, else one made
 * for it, the same each time (Fastify's `genReqId` asks first; a 408 written by
 * `answerClientError` for the same request then carries the id its log line and usage record have).
 */
export function requestIdOf(request: IncomingMessage | undefined): string {
  const given = request?.headers['x-request-id'];
  if (typeof given === 'string' && REQUEST_ID.test(given)) return given;
  if (!request) return newRequestId();
  let id = madeIds.get(request);
  if (id === undefined) {
    id = newRequestId();
    madeIds.set(request, id);
  }
  return id;
}

function newRequestId(): string {
  return `req_${randomUUID().replaceAll('-', '')}`;
}

/** What `answerClientError` answered for a request it cut (a 408 while its body was arriving). */
export interface EdgeAnswer {
  status: number;
  code: string;
}

const edgeAnswers = new WeakMap<IncomingMessage, EdgeAnswer>();

/**
 * The answer Easel wrote at the edge for a request already handed to Fastify (the request timeout
 * fired while its body was arriving), if any: that request's outcome is this answer, not a client
 * that left (499), whatever its handling does after its connection is closed.
 */
export function edgeAnswerOf(request: IncomingMessage): EdgeAnswer | undefined {
  return edgeAnswers.get(request);
}

/**
 * Fastify's `clientErrorHandler`: what Node's HTTP parser refuses before any route or hook runs
 * (headers over 16 KB, a bare CR, a request line that is not HTTP, a request not received within
 * the request or headers timeout) gets OpenAI's error shape with a request id and the security
 * headers, then the connection is closed. A response already under way is cut instead.
 */
export function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    const gatewayError = clientErrorOf(error);
    const requestId = requestIdOf(inFlight?.req);
    const { status, body } = toErrorResponse(gatewayError, requestId);
    const json = JSON.stringify(body);
    const headers = {
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(Buffer.byteLength(json)),
      'x-request-id': requestId,
      ...SECURITY_HEADERS,
      connection: 'close',
    };
    const head = Object.entries(headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('');
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${head}\r\n${json}`);
    if (inFlight?.req) edgeAnswers.set(inFlight.req, { status, code: body.error.code ?? gatewayError.code });
  }
  socket.destroy(error);
}

function clientErrorOf(error: Error & { code?: string }): GatewayError {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return new GatewayError(ErrorCode.HeadersTooLarge, 'The request headers are too large (16 KB at most).');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new GatewayError(
        ErrorCode.RequestTimeout,
        'The request was not received in time; send the whole request at once.',
      );
    default:
      // llhttp's reason ("Invalid header value char") says what was wrong; it never holds request data.
      return new GatewayError(
        ErrorCode.InvalidRequest,
        `Malformed HTTP request: ${(error as { reason?: string }).reason ?? error.message}.`,
      );
  }
}

/**
 * Fastify's `frameworkErrors`: a URL the router cannot decode, or a route parameter over its
 * maximum length, is refused before any hook runs; it gets the same headers as any other answer.
 */
export function answerFrameworkError(error: Error, request: FastifyRequest, reply: FastifyReply): void {
  void reply.headers({ 'x-request-id': request.id, ...SECURITY_HEADERS });
  sendError(reply, toErrorResponse(error, request.id));
}
