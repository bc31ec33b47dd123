import { Injectable } from '@nestjs/common';
import type { Principal } from '../auth/principal.js';
import { BudgetsService } from '../budgets/budgets.service.js';
import type { RequestContext } from '../common/http/request-context.js';
import type { Pico } from '../common/money/usd.js';
import { InFlightBytes } from '../http/in-flight-bytes.js';
import { estimateResponseBytes, type ResponseShape } from '../http/response-bytes.js';
import type { RegisteredModel } from '../providers/provider-registry.service.js';
import { CostEstimator, type ImageRequestShape } from './pricing/cost-estimator.js';
import { PriceBook } from './pricing/price-book.service.js';
import { PricingService } from './pricing/pricing.service.js';
import { addUsage, EMPTY_USAGE, type UsageMeasure } from './usage-measure.js';

/** What the meter writes on a request: its usage and its budget reservation. */
export type MeteredContext = Pick<RequestContext, 'usage' | 'budget'>;

/** What `reserve` needs of a request: what its cost and the bytes of its answer are estimated from. */
export type MeteredRequestShape = ImageRequestShape & Omit<ResponseShape, 'n' | 'size' | 'imageSize'>;

/** A request whose budget is reserved: its upstream clock runs from the reservation to `charge`. */
export interface MeteredRequest {
  /**
   * Prices `measure` at the version in force now and puts measure, cost, price version and
   * upstream latency on the request's usage (which the usage record, the cost header and the
   * budget settlement read), together with what failed attempts were billed
   * (`context.usage.unanswered`). Returns the cost.
   */
  charge(measure: UsageMeasure): Pico;
  /** The request failed: charges what failed attempts were billed, if anything, and throws `error`. */
  fail(error: unknown): never;
}

/**
 * The money side of a generation request, in the order a service meets it: `recordProvider` once
 * the request is known to be servable, `reserve` as the last step before the upstream call (503
 * when the answers in flight would pass MAX_IN_FLIGHT_BYTES, then 429 when a budget would be
 * overrun), then `charge` on the `MeteredRequest` with what the upstream
 * reported. The route is written by `UpstreamExecutor`; the request's own fields (model, prompt,
 * user) by the service, before anything can refuse it.
 */
@Injectable()
export class RequestMeter {
  constructor(
    private readonly budgets: BudgetsService,
    private readonly prices: PriceBook,
    private readonly estimator: CostEstimator,
    private readonly pricing: PricingService,
    private readonly inFlight: InFlightBytes,
  ) {}

  /** The provider kind that serves the request, for its usage record and metrics. */
  recordProvider(context: MeteredContext, model: RegisteredModel): void {
    context.usage.provider = model.definition.provider;
  }

  /**
   * Counts the estimated bytes of the answer in flight until its connection closes
   * (`InFlightBytes`), then reserves the estimated cost of `request` against every budget that
   * applies, for settlement with the actual cost when the response ends (`context.budget`). The
   * cost is estimated only when a budget applies; a request refused for its bytes reserves none.
   */
  async reserve(
    principal: Principal,
    context: MeteredContext,
    model: RegisteredModel,
    request: MeteredRequestShape,
  ): Promise<MeteredRequest> {
    const modelId = model.definition.id;
    this.inFlight.admit(context, estimateResponseBytes(model.definition.capabilities, request));
    context.budget = await this.budgets.reserve(principal, () =>
      this.estimator.estimateImages(model.definition, this.prices.priceOf(modelId).prices, request),
    );
    const started = performance.now();
    return {
      charge: (measure) => this.charge(context, modelId, measure, started),
      fail: (error) => {
        if (context.usage.unanswered) this.charge(context, modelId, EMPTY_USAGE, started);
        throw error;
      },
    };
  }

  private charge(context: MeteredContext, modelId: string, answered: UsageMeasure, started: number): Pico {
    const measure = context.usage.unanswered ? addUsage(answered, context.usage.unanswered) : answered;
    const price = this.prices.priceOf(modelId);
    const cost = this.pricing.cost(measure, price.prices);
    Object.assign(context.usage, {
      measure,
      cost,
      priceVersion: price.version,
      upstreamLatencyMs: Math.round(performance.now() - started),
    });
    return cost;
  }
}
