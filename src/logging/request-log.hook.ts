import { Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { PinoLogger } from 'nestjs-pino';
import { type EaselRequest, existingRequestContext } from '../common/http/request-context.js';

/** One JSON line per request: id, method, path (never the query: image URLs carry signatures), status, latency, key prefix, model, cost. */
@Injectable()
export class RequestLogHook implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly logger: PinoLogger,
  ) {
    logger.setContext('HTTP');
  }

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    fastify?.addHook('onRequest', async (request, reply) => {
      const receivedAt = performance.now();
      // 'close' also comes when the client leaves early (onResponse does not), so every request gets its line.
      reply.raw.once('close', () => {
        const context = existingRequestContext(request);
        this.logger.info(
          {
            requestId: request.id,
            method: request.method,
            path: request.url.split('?')[0],
            status: reply.raw.writableFinished ? reply.raw.statusCode : 499,
            latencyMs: Math.round(performance.now() - receivedAt),
            keyPrefix: (request as EaselRequest).principal?.prefix,
            model: context?.usage.model,
            errorCode: context?.errorCode,
            costUsd: context?.usage.cost === undefined ? undefined : context.costUsd,
          },
          'request',
        );
      });
    });
  }
}
