import { Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import type { EaselRequest } from '../common/http/request-context.js';
import { bearerToken } from './api-key.guard.js';
import { ApiKeysService } from './api-keys.service.js';

/**
 * Resolves the caller's key as soon as a request arrives (Fastify `onRequest`, before the body is
 * parsed), so that even a request whose body is rejected before Nest routes it (bad JSON, too
 * large) is known to come from that key and leaves its usage record. It never refuses anything:
 * `ApiKeyGuard` decides access.
 */
@Injectable()
export class ApiKeyResolver implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly apiKeys: ApiKeysService,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onRequest', async (request) => {
      const token = bearerToken(request.headers.authorization);
      if (!token) return;
      (request as EaselRequest).principal = await this.apiKeys.authenticate(token).catch(() => undefined);
    });
  }
}
