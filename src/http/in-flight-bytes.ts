import { Injectable, Optional } from '@nestjs/common';
import type { Counter } from 'prom-client';
import { ErrorCode } from '../common/errors/error-code.enum.js';
import { GatewayError } from '../common/errors/gateway.error.js';
import type { RequestContext } from '../common/http/request-context.js';
import { AppConfig } from '../config/app.config.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { AfterBurstCollector } from './after-burst-collector.js';
import type { ClosedRequest, RequestListener } from './request-listener.js';

/** A request, by its `RequestContext` (which `RequestMeter` sees as less). */
type InFlightRequest = Pick<RequestContext, 'usage'>;

/** The longest `Retry-After` of a refusal, in seconds (the shortest is 1). */
const MAX_RETRY_AFTER_S = 5;

/**
 * Back-pressure on the answers in flight (`MAX_IN_FLIGHT_BYTES`): an image generation, an image
 * edit or a chat completion reserves the estimated bytes of its answer (`estimateResponseBytes`)
 * before its upstream is called (`RequestMeter.reserve`, before the budget), and holds them until
 * its connection has CLOSED, the answer handed to the client's socket whatever its pace, and its
 * work has ended (an `Idempotency-Key` request whose client left goes on to store its answer).
 * So a slow client keeps its bytes counted, and a burst is refused rather than held in memory.
 *
 * A request that would take the total past the limit while others are in flight is refused with
 * 503 `overloaded` and a `Retry-After` of 1 to 5 s, by how far past it would go; nothing of it
 * reaches the upstream or a budget. A request larger than the limit alone is admitted when nothing
 * else is in flight, so that no request is refused forever. A request reserves once, whatever its
 * retries and fallback routes do; an idempotent replay calls no upstream and reserves nothing.
 *
 * Told CLOSED by `RequestLifecycle` (after the log line and `HttpDrain`).
 */
@Injectable()
export class InFlightBytes implements RequestListener {
  /** The requests holding bytes, and how many each. */
  private readonly held = new Map<InFlightRequest, number>();
  /** Requests whose connection closed and whose work ended: nothing more to hold for them. */
  private readonly ended = new WeakSet<InFlightRequest>();
  private total = 0;
  private readonly refusals?: Counter;

  constructor(
    private readonly config: AppConfig,
    @Optional() metrics?: MetricsService,
    @Optional() private readonly collector?: AfterBurstCollector,
  ) {
    metrics?.gauge(
      'easel_in_flight_bytes',
      'Estimated bytes of the answers in flight (image generations, edits, chat completions)',
      () => this.total,
    );
    metrics?.gauge(
      'easel_in_flight_bytes_limit',
      'MAX_IN_FLIGHT_BYTES: past it, requests are refused with 503 overloaded',
      () => this.limit,
    );
    this.refusals = metrics?.counter(
      'easel_overloaded_requests_total',
      'Requests refused with 503 overloaded: their answers would have passed MAX_IN_FLIGHT_BYTES',
    );
  }

  get limit(): number {
    return this.config.maxInFlightBytes;
  }

  /** The estimated bytes of the answers in flight now. */
  get bytes(): number {
    return this.total;
  }

  /**
   * Counts `bytes` for the request until its connection closes and its work ends, or throws 503
   * `overloaded` when they do not fit beside the answers in flight. A request whose connection
   * has already closed (and whose work has ended) is not counted: it is about to stop.
   */
  admit(context: InFlightRequest, bytes: number): void {
    if (bytes <= 0 || this.ended.has(context)) return;
    const total = this.total + bytes;
    if (this.total > 0 && total > this.limit) {
      this.refusals?.inc();
      const overBy = (total - this.limit) / this.limit;
      const retryAfterS = Math.min(MAX_RETRY_AFTER_S, Math.max(1, Math.ceil(MAX_RETRY_AFTER_S * overBy)));
      throw new GatewayError(
        ErrorCode.Overloaded,
        `Easel is sending as many large answers as it may at once; retry in ${retryAfterS} s.`,
        { headers: { 'retry-after': String(retryAfterS) } },
      );
    }
    this.held.set(context, (this.held.get(context) ?? 0) + bytes);
    this.total = total;
    this.collector?.observe(this.total);
  }

  connectionClosed({ context }: ClosedRequest): void {
    if (!context) return;
    // settled() never rejects: at once, unless the work outlives its client.
    void context.settled().then(() => {
      this.ended.add(context);
      this.total -= this.held.get(context) ?? 0;
      this.held.delete(context);
      this.collector?.observe(this.total);
    });
  }
}
