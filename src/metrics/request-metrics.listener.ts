import { Injectable } from '@nestjs/common';
import { type FinishedRequest, requestedModel, type RequestListener } from '../http/request-listener.js';
import { ProviderRegistry } from '../providers/provider-registry.service.js';
import { MetricsService } from './metrics.service.js';

/**
 * Counts every finished request to /v1 made with a valid API key (the requests that leave a usage
 * record: not admin keys, not keyless requests) in the Prometheus metrics: requests, latency,
 * upstream latency, images, cost, and calls to deprecated or retired models by key.
 */
@Injectable()
export class RequestMetricsListener implements RequestListener {
  constructor(
    private readonly metrics: MetricsService,
    private readonly registry: ProviderRegistry,
  ) {}

  requestFinished(finished: FinishedRequest): void {
    const { endpoint, principal, context, status, latencyMs } = finished;
    if (endpoint === undefined || !principal || principal.isAdmin) return;
    const usage = context?.usage ?? {};
    const model = requestedModel(finished);
    this.metrics.observe({
      endpoint,
      // Only catalogue ids become label values: whatever clients send must not mint new series.
      model: model !== undefined && this.registry.has(model) ? model : '(unknown)',
      provider: usage.provider ?? '(none)',
      status,
      latencyMs,
      upstreamLatencyMs: usage.upstreamLatencyMs,
      images: usage.measure?.images ?? 0,
      cost: usage.cost ?? 0n,
      lifecycle: usage.lifecycle,
      apiKeyId: principal.keyId ?? undefined,
    });
  }
}
