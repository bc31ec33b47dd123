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

/** The request id of a request: the client's `x-request-id` if it is a safe token, else a new one. */
export function requestIdOf(request: IncomingMessage | undefined): string {
  const given = request?.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : `req_${randomUUID().replaceAll('-', '')}`;
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
