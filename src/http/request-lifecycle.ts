import { Injectable, Logger } from '@nestjs/common';
import type { Span } from '@opentelemetry/api';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiKeyResolver } from '../auth/api-key.resolver.js';
import { edgeAnswerOf, SECURITY_HEADERS } from '../common/http/client-errors.js';
import { HttpDrain } from '../common/http/http-drain.js';
import { closeWithoutReading } from '../common/http/lingering-close.js';
import { type EaselRequest, existingRequestContext, requestContextOf } from '../common/http/request-context.js';
import { RequestResources, runWithRequestResources } from '../common/http/request-resources.js';
import { IMAGE_EDITS_PATH, routePolicy } from '../common/http/route-policy.js';
import { beforeStreamEnds } from '../common/http/sse.js';
import { SplicedJsonStream } from '../common/json/raw-json.js';
import { AppConfig } from '../config/app.config.js';
import { RequestLogListener } from '../logging/request-log.listener.js';
import { RequestMetricsListener } from '../metrics/request-metrics.listener.js';
import { setRequestOutcome } from '../tracing/request-span.js';
import { contextWith, endSpan, SPAN, startRequestSpan, startSpan, withSpan } from '../tracing/tracing.js';
import type { UsageEndpoint } from '../usage/usage-endpoint.js';
import { UsageRecordListener } from '../usage/usage-record.listener.js';
import { InFlightBytes } from './in-flight-bytes.js';
import { CLIENT_CLOSED_REQUEST, type RequestListener, type RequestOutcome } from './request-listener.js';

/** The /v1 routes whose requests usage records and metrics count, by endpoint. */
const ENDPOINTS: Record<string, UsageEndpoint> = {
  '/v1/images/generations': 'images',
  [IMAGE_EDITS_PATH]: 'images.edits',
  '/v1/chat/completions': 'chat',
  '/v1/models': 'models',
  '/v1/models/:id': 'models',
  '/v1/usage': 'usage',
  '/v1/usage/records': 'usage',
};

/** One request, from its first hook to the close of its connection. */
interface Exchange {
  readonly request: EaselRequest;
  readonly reply: FastifyReply;
  readonly endpoint: string | undefined;
  readonly receivedAt: number;
  /** The request's root span (non-recording without tracing), ended once it is finished and closed. */
  readonly span: Span;
  finished: boolean;
  closed: boolean;
  /** The client went away before the response was complete: finished as 499 whatever follows. */
  clientGone: boolean;
  /** What the request's work holds (spooled image data), let go of once it is CLOSED and its work has ended. */
  readonly resources: RequestResources;
}

type Moment = keyof RequestListener;

/**
 * The HTTP edge: every Fastify hook Easel adds, in one place, and the two moments of a request its
 * listeners are told. `configureApp` registers the hooks; they run in this order:
 *
 * 1. `onRoute` (at boot, per route): the route's body limit (`route-policy.ts`).
 * 2. `onRequest`:
 *    a. `x-request-id` and the security headers (set now, not on send, so that event streams, which
 *       bypass `onSend`, carry them too);
 *    b. the request's exchange starts: its clock, its one `'close'` listener (step 6), its
 *       stream-end callback (step 5);
 *    c. `HttpDrain.admit`: while shutting down, 503 `not_ready` with `connection: close`; else the
 *       request is counted in flight until its connection closes.
 *    The exchange holds the request's root trace span (`easel.request`, src/tracing/).
 * 3. `preParsing`: `ApiKeyResolver.admit`: 401 / 429 / 415 before the body is read; the principal
 *    (span `easel.auth`). Then Fastify reads and parses the body.
 * 3'. `preHandler`: the root span becomes the active one (the body's reading loses any), so the
 *    spans of the handler are its children, and the request's `RequestResources` the current ones. Then Nest runs the guards, the pipe, the
 *    interceptors, the handler and, for an error, `OpenAiErrorFilter`.
 * 4. `onSend` (every reply but an event stream): `x-easel-cost-usd` (`0` without a cost), the
 *    `content-length` of a reply with spliced base64, a lingering close for a reply sent before its
 *    body was read (401, 413, 415, 429); then the request FINISHES with the reply's status.
 * 5. Right before the last byte of an event stream (`sendEventStream`): the request FINISHES.
 * 6. `'close'` of the response:
 *    a. a request not finished yet FINISHES: with its status if its response was complete,
 *       else as 499; when its work outlives its client (`Idempotency-Key`), only once that work
 *       has ended (`RequestContext.settled`), so that it finishes with its cost;
 *    b. the connection is CLOSED;
 *    A request whose body was still arriving when `answerClientError` cut it (408, REQUEST_TIMEOUT_MS)
 *    finishes and closes as that 408 (`request_timeout`), under the id the 408 carried.
 *    c. the request's `RequestContext` aborts its signal if the client left first (unless its work
 *       outlives the client);
 *    d. once its work has ended, what it held is let go of (`RequestResources`: the image data it
 *       spooled, which the handler's code reaches as the resources of the request it runs for).
 *
 * Two moments, because they are two facts. A request FINISHES once, when its outcome is known:
 * before its response completes, so that a crash after a client got its answer cannot lose its
 * usage record (the recorder journals it at once). Its connection is CLOSED once: the log line
 * reports the response as the client got it (its latency to the last byte, 499 if it was cut) and
 * drain counts the request until then. Listeners, in this order:
 * - FINISHED: `UsageRecordListener` (the usage record, with the budget reservation to settle),
 *   `RequestMetricsListener` (Prometheus);
 * - CLOSED: `RequestLogListener` (the request's log line), `HttpDrain` (requests in flight),
 *   `InFlightBytes` (the bytes its answer held against MAX_IN_FLIGHT_BYTES, once its work has ended).
 * A listener that throws is logged; the others are still told. The listeners are told FINISHED
 * with the root span active (the usage record's span is its child); the root span ends when the
 * request is both FINISHED and CLOSED.
 */
@Injectable()
export class RequestLifecycle {
  private readonly logger = new Logger(RequestLifecycle.name);
  private readonly listeners: readonly RequestListener[];
  private readonly exchanges = new WeakMap<FastifyRequest, Exchange>();

  constructor(
    private readonly config: AppConfig,
    private readonly admission: ApiKeyResolver,
    private readonly drain: HttpDrain,
    usageRecords: UsageRecordListener,
    metrics: RequestMetricsListener,
    requestLog: RequestLogListener,
    inFlightBytes: InFlightBytes,
  ) {
    this.listeners = [usageRecords, metrics, requestLog, drain, inFlightBytes];
  }

  /** Adds the hooks, before any route is registered (the body limits are set per route). */
  register(fastify: FastifyInstance): void {
    fastify.addHook('onRoute', (route) => {
      route.bodyLimit ??= routePolicy(route.url, this.config.uploads).bodyLimit;
    });
    fastify.addHook('onRequest', async (request, reply) => {
      void reply.headers({ 'x-request-id': request.id, ...SECURITY_HEADERS });
      this.begin(request, reply);
      this.drain.admit(request, reply);
    });
    fastify.addHook('preParsing', async (request, reply, payload) => {
      const root = this.exchanges.get(request)?.span;
      const span = startSpan(SPAN.auth, undefined, root?.isRecording() ? contextWith(root) : undefined);
      try {
        // Active while it runs when it records, so the key lookup's query spans are its children.
        if (span.isRecording()) await withSpan(span, () => this.admission.admit(request as EaselRequest, reply));
        else await this.admission.admit(request as EaselRequest, reply);
      } catch (error) {
        endSpan(span, error);
        throw error;
      }
      span.end();
      return payload;
    });
    // Callback style: the handler runs inside `done`, so inside the root span's context and with
    // the request's resources.
    fastify.addHook('preHandler', (request, _reply, done) => {
      const exchange = this.exchanges.get(request);
      if (exchange) runWithRequestResources(exchange.resources, () => withSpan(exchange.span, done));
      else done();
    });
    fastify.addHook('onSend', async (request, reply, payload) => {
      void reply.header('x-easel-cost-usd', existingRequestContext(request)?.costUsd ?? '0');
      if (payload instanceof SplicedJsonStream) void reply.header('content-length', String(payload.byteLength));
      // Answered before its body was read (401, 413, 415, 429): close rather than read the rest.
      if (!request.raw.complete) closeWithoutReading(request, reply);
      const exchange = this.exchanges.get(request);
      if (exchange) this.finish(exchange, reply.statusCode);
      return payload;
    });
  }

  private begin(request: FastifyRequest, reply: FastifyReply): void {
    const exchange: Exchange = {
      request: request as EaselRequest,
      reply,
      endpoint: ENDPOINTS[request.routeOptions.url ?? ''],
      receivedAt: performance.now(),
      span: startRequestSpan(request.headers, {
        'http.request.method': request.method,
        'http.route': request.routeOptions.url ?? '',
        'easel.request_id': request.id,
      }),
      finished: false,
      closed: false,
      clientGone: false,
      resources: new RequestResources(),
    };
    this.exchanges.set(request, exchange);
    const raw = reply.raw;
    beforeStreamEnds(request, () => this.finish(exchange, raw.destroyed ? CLIENT_CLOSED_REQUEST : raw.statusCode));
    raw.once('close', () => this.closed(exchange));
  }

  private finish(exchange: Exchange, status: number): void {
    if (exchange.finished) return;
    exchange.finished = true;
    // Cut by Easel at the edge (a 408 while its body was arriving): that answer is the outcome, not
    // a client that left, nor what the handling of the broken-off body made of it.
    const cut = edgeAnswerOf(exchange.request.raw);
    if (cut) requestContextOf(exchange.request, exchange.reply).errorCode = cut.code;
    const outcome = this.outcome(exchange, cut?.status ?? (exchange.clientGone ? CLIENT_CLOSED_REQUEST : status));
    setRequestOutcome(exchange.span, outcome.status, outcome.context);
    // With the root span active (when it records), so the usage record's span is its child.
    if (exchange.span.isRecording()) withSpan(exchange.span, () => this.tell('requestFinished', outcome));
    else this.tell('requestFinished', outcome);
    if (exchange.closed) exchange.span.end();
  }

  private closed(exchange: Exchange): void {
    const raw = exchange.reply.raw;
    const complete = raw.writableFinished;
    const context = existingRequestContext(exchange.request);
    if (!exchange.finished) {
      if (complete) {
        // A reply that bypassed onSend.
        this.finish(exchange, raw.statusCode);
      } else {
        exchange.clientGone = true;
        // settled() never rejects; the record waits for the cost of work that outlives its client.
        if (context?.outlivesClient) void context.settled().then(() => this.finish(exchange, CLIENT_CLOSED_REQUEST));
        else this.finish(exchange, CLIENT_CLOSED_REQUEST);
      }
    }
    const status = complete ? raw.statusCode : (edgeAnswerOf(exchange.request.raw)?.status ?? CLIENT_CLOSED_REQUEST);
    this.tell('connectionClosed', this.outcome(exchange, status));
    context?.connectionClosed();
    // settled() never rejects: once the work that may outlive the client has ended.
    void (context?.settled() ?? Promise.resolve()).then(() => exchange.resources.release());
    exchange.closed = true;
    if (exchange.finished) exchange.span.end();
  }

  private outcome(exchange: Exchange, status: number): RequestOutcome {
    const { request } = exchange;
    return {
      request,
      requestId: request.id,
      endpoint: exchange.endpoint,
      principal: request.principal,
      context: existingRequestContext(request),
      status,
      latencyMs: performance.now() - exchange.receivedAt,
    };
  }

  private tell(moment: Moment, outcome: RequestOutcome): void {
    for (const listener of this.listeners) {
      try {
        listener[moment]?.(outcome);
      } catch (error) {
        this.logger.error(
          `${listener.constructor.name}.${moment} failed for request ${outcome.requestId}`,
          error instanceof Error ? error.stack : String(error),
        );
      }
    }
  }
}
