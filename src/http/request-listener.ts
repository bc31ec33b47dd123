import type { FastifyRequest } from 'fastify';
import type { Principal } from '../auth/principal.js';
import type { RequestContext } from '../common/http/request-context.js';

/** nginx's status for "the client closed the connection first". */
export const CLIENT_CLOSED_REQUEST = 499;

/** What happened to a request, as `RequestLifecycle` tells its listeners. */
export interface RequestOutcome {
  readonly request: FastifyRequest;
  readonly requestId: string;
  /** The /v1 endpoint called (`images`, `chat`, `models`), which usage and metrics count; undefined on other routes. */
  readonly endpoint: string | undefined;
  /** Who called: the key resolved before the body was read (or by `ApiKeyGuard`); undefined without a valid key. */
  readonly principal: Principal | undefined;
  /** The request's usage, cost and error code, when its handler or the error filter made one. */
  readonly context: RequestContext | undefined;
  /** The HTTP status; 499 (`CLIENT_CLOSED_REQUEST`) when the client left before the response was complete. */
  readonly status: number;
  /** Milliseconds from the request's first hook to the moment told. */
  readonly latencyMs: number;
}

/**
 * The request finished: its outcome is known. Told once per request, before the last byte of its
 * reply or event stream; for a client that left first, when it left (status 499), or, when the
 * request's work outlives its client (`Idempotency-Key`), once that work has ended, so that its
 * cost is known.
 */
export type FinishedRequest = RequestOutcome;

/**
 * The request's connection closed: told once per request, after `requestFinished` unless the
 * request's work outlives its client. Status as the client got it (499 if the response was not
 * complete), latency to the close.
 */
export type ClosedRequest = RequestOutcome;

/**
 * A subscriber to the request lifecycle. `RequestLifecycle` tells its listeners in one stated
 * order; a listener that throws is logged and the others are still told. Listeners run on the
 * request path: they do their work synchronously or hand it off (the usage recorder journals a
 * record and writes it later), never make the response wait.
 */
export interface RequestListener {
  requestFinished?(finished: FinishedRequest): void;
  connectionClosed?(closed: ClosedRequest): void;
}

/**
 * The model a request named: as its service resolved it, else as its body sent it (a request
 * refused before its service ran).
 */
export function requestedModel({ request, context }: RequestOutcome): string | undefined {
  if (context?.usage.model !== undefined) return context.usage.model;
  const model = (request.body as { model?: unknown } | null | undefined)?.model;
  return typeof model === 'string' ? model : undefined;
}
