import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../../auth/principal.js';
import type { BudgetReservation } from '../../budgets/budgets.service.js';
import type { UsageMeasure } from '../../usage/usage-measure.js';
import { ErrorCode } from '../errors/error-code.enum.js';
import { GatewayError } from '../errors/gateway.error.js';
import { formatUsd, type Pico } from '../money/usd.js';

/** What a request used and what it cost; filled in by the service as it learns it. */
export interface RequestUsage {
  model?: string;
  /** The model that serves the request (the successor of a retired `model`, else `model`). */
  servedModel?: string;
  /** The requested model's lifecycle state when it is no longer active (counted by key in the metrics). */
  lifecycle?: 'deprecated' | 'retired';
  provider?: string;
  route?: string;
  size?: string;
  quality?: string;
  user?: string;
  /** The prompt text, for its hash and length in the usage record (text only with LOG_PROMPTS). */
  prompt?: string;
  upstreamLatencyMs?: number;
  /** An edit's input images (the mask included) and their bytes. */
  inputImages?: number;
  inputImageBytes?: number;
  /**
   * What the upstream billed for attempts that failed (the calls of a fan-out that succeeded before
   * another failed): charged with the answer's usage, or alone when there is no answer.
   */
  unanswered?: UsageMeasure;
  measure?: UsageMeasure;
  cost?: Pico;
  priceVersion?: number;
}

/**
 * Per-request state shared by the handler and the HTTP edge: who is asking, the reply an event
 * stream is written to, an abort signal that fires when the client goes away (unless the work must
 * outlive the client), the usage the service recorded, and the error code the filter wrote.
 */
export class RequestContext {
  readonly usage: RequestUsage = {};
  errorCode?: string;
  /** The budget reservation to settle with the actual cost when the response ends. */
  budget?: BudgetReservation;
  private readonly controller = new AbortController();
  private work?: Promise<void>;

  constructor(
    readonly requestId: string,
    readonly reply: FastifyReply,
  ) {}

  /** Who is asking: the API key resolved at the edge. Only routes that need a key make a context. */
  get principal(): Principal {
    const principal = (this.reply.request as EaselRequest).principal;
    if (!principal) throw new Error(`Request ${this.requestId} has no principal: its route does not need an API key`);
    return principal;
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /**
   * The request's connection closed (`RequestLifecycle` says so, last of what it does then): when
   * the response was not complete, the client went away, and the signal aborts, unless the work
   * outlives the client.
   */
  connectionClosed(): void {
    if (!this.reply.raw.writableFinished && this.work === undefined) {
      this.controller.abort(new GatewayError(ErrorCode.ClientClosedRequest, 'The client closed the connection.'));
    }
  }

  /**
   * The client's going away no longer cancels this request: `work` runs to its end (an
   * `Idempotency-Key` request finishes its upstream call and stores the answer for the retry).
   * Its usage is known only then: see `settled`.
   */
  outliveClient(work: Promise<unknown>): void {
    this.work = work.then(
      () => undefined,
      () => undefined,
    );
  }

  /** True when the request's work goes on after its client has gone (`outliveClient`). */
  get outlivesClient(): boolean {
    return this.work !== undefined;
  }

  /**
   * Resolves when the request's work has ended, so `usage`, `errorCode` and the cost are final:
   * at once, unless it outlives its client. `RequestLifecycle` waits for this before it reports a
   * request whose client left as finished (its usage record then has its cost).
   */
  settled(): Promise<void> {
    return this.work ?? Promise.resolve();
  }

  /** USD, decimal string, for `x-easel-cost-usd`. */
  get costUsd(): string {
    return formatUsd(this.usage.cost ?? 0n);
  }
}

export interface EaselRequest extends FastifyRequest {
  easelContext?: RequestContext;
  principal?: Principal;
}

export function requestContextOf(request: FastifyRequest, reply: FastifyReply): RequestContext {
  const easel = request as EaselRequest;
  easel.easelContext ??= new RequestContext(request.id, reply);
  return easel.easelContext;
}

export function existingRequestContext(request: FastifyRequest): RequestContext | undefined {
  return (request as EaselRequest).easelContext;
}

/** Injects the `RequestContext` of the current request. */
export const Ctx = createParamDecorator((_: unknown, context: ExecutionContext): RequestContext => {
  const http = context.switchToHttp();
  return requestContextOf(http.getRequest<FastifyRequest>(), http.getResponse<FastifyReply>());
});
