import { Injectable } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import type { ClosedRequest, RequestListener } from '../http/request-listener.js';

/**
 * One JSON line per request when its connection closes (so a client that left early gets its line
 * too): id, method, path (never the query: image URLs carry signatures), status (499 when the
 * response was not complete), latency to the close, key prefix, model, error code, cost.
 */
@Injectable()
export class RequestLogListener implements RequestListener {
  constructor(private readonly logger: PinoLogger) {
    logger.setContext('HTTP');
  }

  connectionClosed({ request, requestId, principal, context, status, latencyMs }: ClosedRequest): void {
    this.logger.info(
      {
        requestId,
        method: request.method,
        path: request.url.split('?')[0],
        status,
        latencyMs: Math.round(latencyMs),
        keyPrefix: principal?.prefix,
        model: context?.usage.model,
        errorCode: context?.errorCode,
        costUsd: context?.usage.cost === undefined ? undefined : context.costUsd,
      },
      'request',
    );
  }
}
