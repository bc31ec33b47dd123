import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../../auth/principal.js';

/**
 * Per-request state shared by the handler and the HTTP edge: the request id, an abort signal that
 * fires when the client goes away, and the cost the `x-easel-cost-usd` header reports.
 */
export class RequestContext {
  /** USD, decimal string; "0" until a service charges something. */
  costUsd = '0';
  private readonly controller = new AbortController();

  constructor(
    readonly requestId: string,
    readonly principal: Principal | undefined,
    reply: FastifyReply,
  ) {
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) this.controller.abort(new Error('client disconnected'));
    });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }
}

interface RequestWithContext extends FastifyRequest {
  easelContext?: RequestContext;
  principal?: Principal;
}

export function requestContextOf(request: FastifyRequest, reply: FastifyReply): RequestContext {
  const withContext = request as RequestWithContext;
  withContext.easelContext ??= new RequestContext(request.id, withContext.principal, reply);
  return withContext.easelContext;
}

export function existingRequestContext(request: FastifyRequest): RequestContext | undefined {
  return (request as RequestWithContext).easelContext;
}

/** Injects the `RequestContext` of the current request. */
export const Ctx = createParamDecorator((_: unknown, context: ExecutionContext): RequestContext => {
  const http = context.switchToHttp();
  return requestContextOf(http.getRequest<FastifyRequest>(), http.getResponse<FastifyReply>());
});
