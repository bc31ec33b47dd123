import { createHash, randomUUID } from 'node:crypto';
import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { BudgetsService } from '../budgets/budgets.service.js';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
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

/**
 * At the HTTP edge, after the response is sent: one usage record for every request to /v1 made
 * with a valid API key, whatever its outcome (success, validation error, refusal, upstream
 * failure). Requests without a valid key have no one to charge and leave none.
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

  private readonly logger = new Logger(UsageHttpHook.name);

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onRequest', async (request, reply) => {
      const receivedAt = performance.now();
      // 'close' comes once per response: after it was sent, or when the client went away first
      // (a cancelled stream, say), so every request is recorded exactly once either way.
      reply.raw.once('close', () => {
        const status = reply.raw.writableFinished ? reply.raw.statusCode : CLIENT_CLOSED_REQUEST;
        this.record(request, status, performance.now() - receivedAt);
      });
    });
  }

  private record(request: FastifyRequest, status: number, latencyMs: number): void {
    const principal = (request as EaselRequest).principal;
    const endpoint = ENDPOINTS[request.routeOptions.url ?? ''];
    if (!principal || principal.isAdmin || !endpoint) return;
    const context = existingRequestContext(request);
    const usage: RequestUsage = context?.usage ?? {};
    const measure = usage.measure ?? EMPTY_USAGE;
    const body = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as Record<string, unknown>;
    const prompt = usage.prompt ?? stringOrUndefined(body.prompt);
    // A stream that ended with an error event was sent with status 200: it still failed.
    const ok = status < 400 && context?.errorCode === undefined;
    const row: UsageRecordRow = {
      id: randomUUID(),
      createdAt: new Date().toISOString(),
      requestId: request.id,
      apiKeyId: principal.keyId,
      team: principal.team,
      endpoint,
      model: clip(usage.model ?? stringOrUndefined(body.model), 200),
      provider: usage.provider ?? null,
      route: usage.route ?? null,
      status: ok ? 'success' : 'error',
      httpStatus: status,
      errorCode: ok ? null : (context?.errorCode ?? (status === CLIENT_CLOSED_REQUEST ? 'client_closed_request' : null)),
      latencyMs: Math.round(latencyMs),
      upstreamLatencyMs: usage.upstreamLatencyMs ?? null,
      images: measure.images,
      size: clip(usage.size, 32),
      quality: clip(usage.quality, 16),
      inputTextTokens: measure.inputTextTokens,
      inputImageTokens: measure.inputImageTokens,
      cachedInputTokens: measure.cachedInputTokens,
      outputTextTokens: measure.outputTextTokens,
      outputImageTokens: measure.outputImageTokens,
      inputTokens: measure.inputTextTokens + measure.inputImageTokens,
      outputTokens: measure.outputTextTokens + measure.outputImageTokens,
      costUsd: toNumericString(usage.cost ?? 0n),
      priceVersion: usage.priceVersion ?? null,
      user: clip(usage.user ?? stringOrUndefined(body.user), 256),
      promptSha256: prompt === undefined ? null : createHash('sha256').update(prompt).digest('hex'),
      promptLength: prompt === undefined ? null : prompt.length,
      promptText: prompt !== undefined && this.config.logging.logPrompts ? prompt : null,
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
    if (context?.budget) {
      void this.budgets.settle(context.budget, usage.cost ?? 0n).catch((error: unknown) => this.logger.warn(`Budget not settled: ${String(error)}`));
    }
  }
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function clip(value: string | undefined, length: number): string | null {
  return value === undefined ? null : value.slice(0, length);
}
