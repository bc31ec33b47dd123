import { join } from 'node:path';
import type { Principal } from '../auth/principal.js';
import type { BudgetReservation, BudgetsService } from '../budgets/budgets.service.js';
import { ErrorCode } from '../common/errors/error-code.enum.js';
import { GatewayError } from '../common/errors/gateway.error.js';
import { formatUsd, parseUsd, type Pico } from '../common/money/usd.js';
import { AppConfig } from '../config/app.config.js';
import { loadModelCatalogue } from '../config/models.catalogue.js';
import { InFlightBytes } from '../http/in-flight-bytes.js';
import type { RegisteredModel } from '../providers/provider-registry.service.js';
import { CostEstimator } from './pricing/cost-estimator.js';
import type { CurrentPrice, PriceBook } from './pricing/price-book.service.js';
import { PricingService } from './pricing/pricing.service.js';
import { type MeteredContext, RequestMeter } from './request-meter.js';
import type { UsageMeasure } from './usage-measure.js';

const MODEL_ID = 'azure/openai/gpt-image-1';
const definition = loadModelCatalogue(join(process.cwd(), 'config/models.yaml')).find((m) => m.id === MODEL_ID)!;
const model = { definition, provider: { kind: definition.provider }, routes: [] } as unknown as RegisteredModel;
const principal = { keyId: 'key-1', team: 'default', monthlyBudget: parseUsd('10') } as Principal;
const measure: UsageMeasure = {
  inputTextTokens: 10,
  inputImageTokens: 0,
  cachedInputTokens: 0,
  outputTextTokens: 0,
  outputImageTokens: 1056,
  images: 1,
};

/** The price book's one read, over versions the test sets (the real one reads PostgreSQL). */
class Prices {
  current: CurrentPrice = {
    model: MODEL_ID,
    version: 1,
    effectiveFrom: new Date(),
    source: 'catalogue',
    prices: definition.prices,
  };
  priceOf(): CurrentPrice {
    return this.current;
  }
}

/** Budgets that apply (`estimateCost` is called) or do not, and refuse when told. */
class Budgets {
  estimates: Pico[] = [];
  applies = true;
  refusal?: GatewayError;
  async reserve(_principal: Principal, estimateCost: () => Pico): Promise<BudgetReservation | undefined> {
    if (!this.applies) return undefined;
    const estimate = estimateCost();
    this.estimates.push(estimate);
    if (this.refusal) throw this.refusal;
    return { scopes: ['key:key-1'], month: '2026-11-01', estimate };
  }
}

function requestContext(): MeteredContext {
  return { usage: {} };
}

describe(RequestMeter.name, () => {
  const pricing = new PricingService();
  const estimator = new CostEstimator(pricing);
  let budgets: Budgets;
  let prices: Prices;
  /** At most 16 MiB of answers in flight: two 1024x1024 PNGs as base64 (5,592,408 bytes each) fit, three do not. */
  let inFlight: InFlightBytes;
  let sut: RequestMeter;

  beforeEach(() => {
    budgets = new Budgets();
    prices = new Prices();
    inFlight = new InFlightBytes(AppConfig.fromEnv({ MAX_IN_FLIGHT_BYTES: String(16 * 1024 * 1024) }));
    sut = new RequestMeter(
      budgets as unknown as BudgetsService,
      prices as unknown as PriceBook,
      estimator,
      pricing,
      inFlight,
    );
  });

  it('records the provider that serves the request', () => {
    const context = requestContext();

    sut.recordProvider(context, model);

    expect(context.usage.provider).toBe('azure-openai');
  });

  it("reserves the estimator's estimate at the prices in force, and keeps the reservation for settlement", async () => {
    const context = requestContext();
    const request = { prompt: 'x'.repeat(40), n: 2, size: '1024x1024', quality: 'medium' };

    await sut.reserve(principal, context, model, request);

    const expected = estimator.estimateImages(definition, definition.prices, request);
    expect(budgets.estimates).toEqual([expected]);
    expect(formatUsd(expected)).toBe('0.08453');
    expect(context.budget).toEqual({ scopes: ['key:key-1'], month: '2026-11-01', estimate: expected });
  });

  it('counts the estimated bytes of the answer in flight, whether or not a budget applies', async () => {
    budgets.applies = false;

    await sut.reserve(principal, requestContext(), model, { prompt: 'a cat', n: 2, size: '1024x1024' });

    expect(inFlight.bytes).toBe(2 * 5_592_408);
  });

  it('refuses 503 overloaded when the answers in flight would pass the limit, before any budget is estimated', async () => {
    await sut.reserve(principal, requestContext(), model, { prompt: 'a cat', n: 2, size: '1024x1024' });
    budgets.estimates = [];
    const context = requestContext();

    const refusal = await sut.reserve(principal, context, model, { prompt: 'a cat', n: 1, size: '1024x1024' }).then(
      () => undefined,
      (error: unknown) => error,
    );

    expect(refusal).toBeInstanceOf(GatewayError);
    expect(refusal).toMatchObject({ code: ErrorCode.Overloaded, headers: { 'retry-after': expect.any(String) } });
    expect(budgets.estimates).toEqual([]);
    expect(context.budget).toBeUndefined();
    expect(inFlight.bytes).toBe(2 * 5_592_408);
  });

  it('estimates nothing and keeps no reservation when no budget applies', async () => {
    budgets.applies = false;
    const context = requestContext();

    await sut.reserve(principal, context, model, { prompt: 'a cat', n: 1, size: 'auto' });

    expect(budgets.estimates).toEqual([]);
    expect(context.budget).toBeUndefined();
  });

  it('passes a refusal on, with nothing reserved on the context', async () => {
    budgets.refusal = new GatewayError(ErrorCode.InsufficientQuota, 'over budget');
    const context = requestContext();

    await expect(sut.reserve(principal, context, model, { prompt: 'a cat', n: 1, size: 'auto' })).rejects.toBe(
      budgets.refusal,
    );
    expect(context.budget).toBeUndefined();
  });

  it('charges the measure at the price version in force when it is charged, with the upstream latency', async () => {
    const context = requestContext();
    const metered = await sut.reserve(principal, context, model, { prompt: 'a cat', n: 1, size: 'auto' });
    prices.current = { ...prices.current, version: 2, prices: { ...definition.prices, outputImage: parseUsd('80') } };

    const cost = metered.charge(measure);

    expect(formatUsd(cost)).toBe('0.08453'); // (10 × 5 + 1056 × 80) / 1e6
    expect(context.usage).toMatchObject({ measure, cost, priceVersion: 2 });
    expect(context.usage.upstreamLatencyMs).toEqual(expect.any(Number));
    expect(context.usage.upstreamLatencyMs).toBeGreaterThanOrEqual(0);
  });

  it('charges what failed attempts were billed with the answer, and alone when the request fails', async () => {
    const unanswered = { ...measure, inputTextTokens: 4, outputImageTokens: 1000 };
    const answered = requestContext();
    answered.usage.unanswered = unanswered;
    const failed = requestContext();
    failed.usage.unanswered = unanswered;
    const error = new GatewayError(ErrorCode.UpstreamError, 'the third call failed');

    const cost = (await sut.reserve(principal, answered, model, { prompt: 'a cat', n: 1, size: 'auto' })).charge(
      measure,
    );
    const failing = await sut.reserve(principal, failed, model, { prompt: 'a cat', n: 1, size: 'auto' });

    expect(formatUsd(cost)).toBe('0.08231'); // ((10 + 4) × 5 + (1056 + 1000) × 40) / 1e6
    expect(answered.usage.measure).toMatchObject({ inputTextTokens: 14, outputImageTokens: 2056, images: 2 });
    expect(() => failing.fail(error)).toThrow(error);
    expect(formatUsd(failed.usage.cost!)).toBe('0.04002'); // (4 × 5 + 1000 × 40) / 1e6
  });

  it('charges nothing for a failure that billed nothing', async () => {
    const context = requestContext();
    const metered = await sut.reserve(principal, context, model, { prompt: 'a cat', n: 1, size: 'auto' });

    expect(() => metered.fail(new Error('refused'))).toThrow('refused');
    expect(context.usage.cost).toBeUndefined();
  });
});
