import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Pico } from '../common/money/usd.js';
import { UpstreamExecutor } from '../providers/upstream-executor.js';

export interface RequestObservation {
  endpoint: string;
  model: string;
  provider: string;
  status: number;
  latencyMs: number;
  upstreamLatencyMs?: number;
  images: number;
  cost: Pico;
  /** The requested model was deprecated or retired (its lifecycle), and the key that called it. */
  lifecycle?: 'deprecated' | 'retired';
  apiKeyId?: string;
}

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160, 320, 600];
const REQUEST_LABELS = ['endpoint', 'model', 'provider', 'status'] as const;
const MODEL_LABELS = ['model', 'provider'] as const;

/** Prometheus metrics of this instance (SPEC §9), on its own registry. */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  private readonly requests = this.counter('easel_requests_total', 'Requests to /v1 with a valid key', REQUEST_LABELS);
  private readonly latency = this.histogram(
    'easel_request_duration_seconds',
    'Time from request to the end of the response',
    REQUEST_LABELS,
  );
  private readonly upstreamLatency = this.histogram(
    'easel_upstream_duration_seconds',
    'Time spent waiting for the upstream',
    MODEL_LABELS,
  );
  private readonly images = this.counter('easel_images_total', 'Images generated', MODEL_LABELS);
  private readonly cost = this.counter('easel_cost_usd_total', 'Cost charged, USD', MODEL_LABELS);
  private readonly deprecatedCalls = this.counter(
    'easel_deprecated_model_requests_total',
    'Requests for a deprecated or retired model (its catalogue lifecycle), by model and API key id: whom to tell to move',
    ['model', 'state', 'api_key'],
  );

  constructor(executor: UpstreamExecutor) {
    collectDefaultMetrics({ register: this.registry, prefix: 'easel_process_' });
    new Gauge({
      name: 'easel_circuit_open',
      help: '1 while the circuit breaker of a model route is open (0.5 half-open)',
      labelNames: ['model', 'route'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const { model, route, state } of executor.states())
          this.set({ model, route }, state === 'open' ? 1 : state === 'half_open' ? 0.5 : 0);
      },
    });
  }

  /** A gauge read when Prometheus scrapes (queue depth, spool size). */
  gauge(name: string, help: string, read: () => number | Promise<number>): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      async collect() {
        this.set(await read());
      },
    });
  }

  /** A counter of this instance's registry (usage records rejected, …). */
  counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  private histogram<L extends string>(name: string, help: string, labelNames: readonly L[]): Histogram<L> {
    return new Histogram({ name, help, labelNames, buckets: SECONDS, registers: [this.registry] });
  }

  observe(o: RequestObservation): void {
    const labels = { endpoint: o.endpoint, model: o.model, provider: o.provider, status: String(o.status) };
    this.requests.inc(labels);
    this.latency.observe(labels, o.latencyMs / 1000);
    if (o.upstreamLatencyMs !== undefined)
      this.upstreamLatency.observe({ model: o.model, provider: o.provider }, o.upstreamLatencyMs / 1000);
    if (o.images > 0) this.images.inc({ model: o.model, provider: o.provider }, o.images);
    // Metrics are approximate: a float of USD here is fine (stored money never is one).
    if (o.cost > 0n) this.cost.inc({ model: o.model, provider: o.provider }, Number(o.cost) / 1e12);
    if (o.lifecycle) this.deprecatedCalls.inc({ model: o.model, state: o.lifecycle, api_key: o.apiKeyId ?? '(none)' });
  }
}
