import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ClosedRequest, RequestListener } from '../../http/request-listener.js';
import { ErrorCode } from '../errors/error-code.enum.js';
import { GatewayError } from '../errors/gateway.error.js';

/**
 * Graceful shutdown, first step. Nest runs the module-destroy hooks, then the before-shutdown hooks
 * (the usage writer flushes), then closes the HTTP server (every connection left, see
 * createFastifyAdapter), then the shutdown hooks (pools, Redis, the embedded database). So this
 * waits, in the first hook to run (module destroy), until the requests in flight have finished.
 * New requests meanwhile get 503.
 *
 * At the edge (`RequestLifecycle`): `admit` in its `onRequest` step, and a request counts as in
 * flight until its connection closes (`connectionClosed`).
 */
@Injectable()
export class HttpDrain implements RequestListener, OnModuleDestroy {
  private readonly inFlight = new Set<FastifyRequest>();
  private draining = false;
  private drained?: () => void;

  /** Counts the request in flight, or refuses it (503, and the connection closed) while shutting down. */
  admit(request: FastifyRequest, reply: FastifyReply): void {
    if (this.draining) {
      void reply.header('connection', 'close');
      throw new GatewayError(ErrorCode.NotReady, 'Easel is shutting down; retry on another instance.');
    }
    this.inFlight.add(request);
  }

  connectionClosed({ request }: ClosedRequest): void {
    // A request refused while draining was never counted.
    if (this.inFlight.delete(request) && this.inFlight.size === 0) this.drained?.();
  }

  async onModuleDestroy(): Promise<void> {
    this.draining = true;
    if (this.inFlight.size > 0) await new Promise<void>((resolve) => (this.drained = resolve));
  }
}
