import { Injectable } from '@nestjs/common';
import type { Principal } from '../auth/principal.js';
import { BudgetsService } from '../budgets/budgets.service.js';
import type { RequestContext } from '../common/http/request-context.js';
import type { Pico } from '../common/money/usd.js';
import type { RegisteredModel } from '../providers/provider-registry.service.js';
import { CostEstimator, type ImageRequestShape } from './pricing/cost-estimator.js';
import { PriceBook } from './pricing/price-book.service.js';
import { PricingService } from './pricing/pricing.service.js';
import { addUsage, EMPTY_USAGE, type UsageMeasure } from './usage-measure.js';

/** What the meter writes on a request: its usage and its budget reservation. */
export type MeteredContext = Pick<RequestContext, 'usage' | 'budget'>;

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
 * the request is known to be servable, `reserve` as the last step before the upstream call (429
 * when a budget would be overrun), then `charge` on the `MeteredRequest` with what the upstream
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
  ) {}

  /** The provider kind that serves the request, for its usage record and metrics. */
  recordProvider(context: MeteredContext, model: RegisteredModel): void {
    context.usage.provider = model.definition.provider;
  }

  /**
   * Reserves the estimated cost of `request` against every budget that applies, for settlement
   * with the actual cost when the response ends (`context.budget`). The estimate is made only
   * when a budget applies.
   */
  async reserve(
    principal: Principal,
    context: MeteredContext,
    model: RegisteredModel,
    request: ImageRequestShape,
  ): Promise<MeteredRequest> {
    const modelId = model.definition.id;
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
