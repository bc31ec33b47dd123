import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { ErrorCode } from '../errors/error-code.enum.js';
import { GatewayError } from '../errors/gateway.error.js';

/**
 * Graceful shutdown, first step. Nest runs the module-destroy hooks, then the before-shutdown hooks
 * (the usage writer flushes), then closes the HTTP server (every connection left, see
 * createFastifyAdapter), then the shutdown hooks (pools, Redis, the embedded database). So this
 * waits, in the first hook to run (module destroy), until the requests in flight have finished.
 * New requests meanwhile get 503.
 */
@Injectable()
export class HttpDrain implements OnModuleInit, OnModuleDestroy {
  private inFlight = 0;
  private draining = false;
  private drained?: () => void;

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onModuleInit(): void {
    this.adapterHost.httpAdapter?.getInstance<FastifyInstance>().addHook('onRequest', async (_request, reply) => {
      if (this.draining) {
        void reply.header('connection', 'close');
        throw new GatewayError(ErrorCode.NotReady, 'Easel is shutting down; retry on another instance.');
      }
      this.inFlight++;
      reply.raw.once('close', () => {
        if (--this.inFlight === 0) this.drained?.();
      });
    });
  }

  async onModuleDestroy(): Promise<void> {
    this.draining = true;
    if (this.inFlight > 0) await new Promise<void>((resolve) => (this.drained = resolve));
  }
}
