import { createHash, randomUUID } from 'node:crypto';
import { Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BudgetsService } from '../budgets/budgets.service.js';
import { beforeStreamEnds } from '../common/http/sse.js';
import { AppConfig } from '../config/app.config.js';
import { type EaselRequest, type RequestUsage, existingRequestContext } from '../common/http/request-context.js';
import { formatUsd, toNumericString } from '../common/money/usd.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { ProviderRegistry } from '../providers/provider-registry.service.js';
import { EMPTY_USAGE } from './usage-measure.js';
import { UsageRecorder, type UsageRecordRow } from './usage.recorder.js';

/** nginx's status for "the client closed the connection first". */
const CLIENT_CLOSED_REQUEST = 499;

const ENDPOINTS: Record<string, string> = {
  '/v1/images/generations': 'images',
  '/v1/chat/completions': 'chat',
  '/v1/models': 'models',
  '/v1/models/:id': 'models',
};

/** A request to a recorded endpoint, until its record is made. */
interface Exchange {
  endpoint: string;
  receivedAt: number;
  recorded: boolean;
  /** The client went away before the response was complete: recorded as 499 whatever follows. */
  clientGone: boolean;
}

/**
 * At the HTTP edge: one usage record for every request to /v1 made with a valid API key, whatever
 * its outcome (success, validation error, refusal, upstream failure), made BEFORE the response
 * completes, so that a crash after a client got its answer cannot lose the record (the recorder
 * journals it at once): in Fastify's onSend for ordinary replies, right before the last byte of an
 * event stream, and on 'close' for a client that went away first (499; when the request's work
 * outlives its client, once that work has ended, so the record has its cost). The record carries the
 * request's budget reservation, which the recorder settles when it stores the record. Also counts
 * the request in the metrics. Requests without a valid key have no one to charge and leave none.
 */
@Injectable()
export class UsageHttpHook implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly recorder: UsageRecorder,
    private readonly config: AppConfig,
    private readonly budgets: BudgetsService,
    private readonly metrics: MetricsService,
    private readonly registry: ProviderRegistry,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    const exchanges = new WeakMap<FastifyRequest, Exchange>();
    fastify.addHook('onRequest', (request, reply, done) => {
      const endpoint = ENDPOINTS[request.routeOptions.url ?? ''];
      if (endpoint !== undefined) {
        const exchange: Exchange = { endpoint, receivedAt: performance.now(), recorded: false, clientGone: false };
        exchanges.set(request, exchange);
        const raw = reply.raw;
        beforeStreamEnds(request, () => this.finish(request, exchange, raw.destroyed ? CLIENT_CLOSED_REQUEST : raw.statusCode));
        raw.once('close', () => this.closed(request, exchange, raw.writableFinished ? raw.statusCode : undefined));
      }
      done();
    });
    fastify.addHook('onSend', (request, reply, payload, done) => {
      const exchange = exchanges.get(request);
      if (exchange) this.finish(request, exchange, reply.statusCode);
      done(null, payload);
    });
  }

  /**
   * The connection closed. Records only what was not recorded yet: a reply that bypassed onSend
   * (`finishedStatus`), or a client that went away first (499) — once the request's work has
   * ended, when it outlives its client (an `Idempotency-Key` request finishes and is charged).
   */
  private closed(request: FastifyRequest, exchange: Exchange, finishedStatus: number | undefined): void {
    if (exchange.recorded) return;
    if (finishedStatus !== undefined) return this.finish(request, exchange, finishedStatus);
    exchange.clientGone = true;
    const context = existingRequestContext(request);
    if (context?.outlivesClient) void context.settled().then(() => this.finish(request, exchange, CLIENT_CLOSED_REQUEST));
    else this.finish(request, exchange, CLIENT_CLOSED_REQUEST);
  }

  private finish(request: FastifyRequest, exchange: Exchange, status: number): void {
    if (exchange.recorded) return;
    exchange.recorded = true;
    this.record(request, exchange.endpoint, exchange.clientGone ? CLIENT_CLOSED_REQUEST : status, performance.now() - exchange.receivedAt);
  }

  private record(request: FastifyRequest, endpoint: string, status: number, latencyMs: number): void {
    const principal = (request as EaselRequest).principal;
    if (!principal || principal.isAdmin) return;
    const context = existingRequestContext(request);
    const usage: RequestUsage = context?.usage ?? {};
    const measure = usage.measure ?? EMPTY_USAGE;
    const body = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as Record<string, unknown>;
    const prompt = usage.prompt ?? stringOrUndefined(body.prompt);
    // A stream that ended with an error event was sent with status 200: it still failed.
    const ok = status < 400 && context?.errorCode === undefined;
    // Text as sent (the recorder makes it storable: no NUL, lengths of the columns).
    const row: UsageRecordRow = {
      id: randomUUID(),
      createdAt: new Date().toISOString(),
      requestId: request.id,
      apiKeyId: principal.keyId,
      team: principal.team,
      endpoint,
      model: usage.model ?? stringOrUndefined(body.model) ?? null,
      provider: usage.provider ?? null,
      route: usage.route ?? null,
      status: ok ? 'success' : 'error',
      httpStatus: status,
      errorCode: ok ? null : (context?.errorCode ?? (status === CLIENT_CLOSED_REQUEST ? 'client_closed_request' : null)),
      latencyMs: Math.round(latencyMs),
      upstreamLatencyMs: usage.upstreamLatencyMs ?? null,
      images: measure.images,
      size: usage.size ?? null,
      quality: usage.quality ?? null,
      inputTextTokens: measure.inputTextTokens,
      inputImageTokens: measure.inputImageTokens,
      cachedInputTokens: measure.cachedInputTokens,
      outputTextTokens: measure.outputTextTokens,
      outputImageTokens: measure.outputImageTokens,
      inputTokens: measure.inputTextTokens + measure.inputImageTokens,
      outputTokens: measure.outputTextTokens + measure.outputImageTokens,
      costUsd: toNumericString(usage.cost ?? 0n),
      priceVersion: usage.priceVersion ?? null,
      user: usage.user ?? stringOrUndefined(body.user) ?? null,
      promptSha256: prompt === undefined ? null : createHash('sha256').update(prompt).digest('hex'),
      promptLength: prompt === undefined ? null : prompt.length,
      promptText: prompt !== undefined && this.config.logging.logPrompts ? prompt : null,
      ...(context?.budget ? { reservation: this.budgets.toSettle(context.budget) } : {}),
    };
    this.recorder.record(row);
    this.metrics.observe({
      endpoint,
      // Only catalogue ids become label values: whatever clients send must not mint new series.
      model: row.model !== null && this.registry.has(row.model) ? row.model : '(unknown)',
      provider: row.provider ?? '(none)',
      status,
      latencyMs,
      upstreamLatencyMs: usage.upstreamLatencyMs,
      images: measure.images,
      costUsd: formatUsd(usage.cost ?? 0n),
    });
  }
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
