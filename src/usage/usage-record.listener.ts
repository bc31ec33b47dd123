import { hash, randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { BudgetsService } from '../budgets/budgets.service.js';
import { toNumericString } from '../common/money/usd.js';
import { AppConfig } from '../config/app.config.js';
import {
  CLIENT_CLOSED_REQUEST,
  type FinishedRequest,
  requestedModel,
  type RequestListener,
} from '../http/request-listener.js';
import { UsageRecorder, type UsageRecordRow } from './usage.recorder.js';
import { EMPTY_USAGE } from './usage-measure.js';

/**
 * One usage record for every request to /v1 made with a valid API key, whatever its outcome
 * (success, validation error, refusal, upstream failure, a client gone: 499), made when
 * `RequestLifecycle` says the request finished: before its response completes, so that a crash
 * after a client got its answer cannot lose the record (the recorder journals it at once). The
 * record carries the request's budget reservation, which the recorder settles with the actual
 * cost in the transaction that stores the record. Admin keys and requests without a valid key
 * have no one to charge and leave none.
 */
@Injectable()
export class UsageRecordListener implements RequestListener {
  constructor(
    private readonly recorder: UsageRecorder,
    private readonly config: AppConfig,
    private readonly budgets: BudgetsService,
  ) {}

  requestFinished(finished: FinishedRequest): void {
    const { request, endpoint, principal, context, status, latencyMs } = finished;
    if (endpoint === undefined || !principal || principal.isAdmin) return;
    const usage = context?.usage ?? {};
    const measure = usage.measure ?? EMPTY_USAGE;
    const body = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as Record<
      string,
      unknown
    >;
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
      model: requestedModel(finished) ?? null,
      servedModel: usage.servedModel ?? null,
      provider: usage.provider ?? null,
      route: usage.route ?? null,
      status: ok ? 'success' : 'error',
      httpStatus: status,
      errorCode: ok
        ? null
        : (context?.errorCode ?? (status === CLIENT_CLOSED_REQUEST ? 'client_closed_request' : null)),
      latencyMs: Math.round(latencyMs),
      upstreamLatencyMs: usage.upstreamLatencyMs ?? null,
      images: measure.images,
      inputImages: usage.inputImages ?? 0,
      inputImageBytes: usage.inputImageBytes ?? 0,
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
      promptSha256: prompt === undefined ? null : hash('sha256', prompt, 'hex'),
      promptLength: prompt === undefined ? null : prompt.length,
      promptText: prompt !== undefined && this.config.logging.logPrompts ? prompt : null,
      ...(context?.budget ? { reservation: this.budgets.toSettle(context.budget) } : {}),
    };
    this.recorder.record(row);
  }
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
