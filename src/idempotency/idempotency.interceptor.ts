import { createHash } from 'node:crypto';
import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { FastifyReply } from 'fastify';
import { type Observable, from, lastValueFrom } from 'rxjs';
import { LessThan, Repository } from 'typeorm';
import { ErrorCode } from '../common/errors/error-code.enum.js';
import { GatewayError, InvalidRequestError } from '../common/errors/gateway.error.js';
import type { EaselRequest } from '../common/http/request-context.js';
import { AppConfig } from '../config/app.config.js';
import { IdempotencyRecordEntity } from './idempotency-record.entity.js';

const TTL_MS = 24 * 3600 * 1000;
const KEY = /^[\x21-\x7e]{1,255}$/;
const POLL_MS = 100;

/**
 * `Idempotency-Key`: the same key (per API key) with the same body within 24 h answers the first
 * result again (same images, same `created`) without calling the upstream or charging again; a
 * duplicate that arrives while the first still runs waits for it; the same key with another body
 * is a 409. Failed requests are not remembered, so they can be retried with the same key.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor, OnModuleInit, OnModuleDestroy {
  private sweeper?: NodeJS.Timeout;

  constructor(
    @InjectRepository(IdempotencyRecordEntity) private readonly records: Repository<IdempotencyRecordEntity>,
    private readonly config: AppConfig,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<EaselRequest>();
    const header = request.headers['idempotency-key'];
    if (header === undefined) return next.handle();
    return from(this.handle(request, context.switchToHttp().getResponse<FastifyReply>(), String(header), next));
  }

  private async handle(request: EaselRequest, reply: FastifyReply, idempotencyKey: string, next: CallHandler): Promise<unknown> {
    if (!KEY.test(idempotencyKey)) throw new InvalidRequestError('Idempotency-Key must be 1..255 visible ASCII characters.', 'Idempotency-Key');
    const body = request.body as { stream?: unknown } | undefined;
    if (body?.stream === true) throw new InvalidRequestError('Idempotency-Key cannot be used with stream: true.', 'Idempotency-Key');
    const apiKeyId = request.principal?.keyId;
    if (!apiKeyId) return lastValueFrom(next.handle());
    const requestHash = createHash('sha256').update(`${request.routeOptions.url}\n${JSON.stringify(request.body)}`).digest('hex');
    const id = { apiKeyId, idempotencyKey };

    try {
      const replay = await this.claim(id, requestHash, reply);
      if (replay !== undefined) return replay;
    } catch (error) {
      if (error instanceof GatewayError) throw error;
      throw new GatewayError(ErrorCode.NotReady, 'Idempotency-Key cannot be honoured right now (database unavailable); retry shortly.', { cause: error });
    }

    try {
      const result = await lastValueFrom(next.handle());
      await this.records.update(id, { state: 'done', responseBody: result as object });
      return result;
    } catch (error) {
      await this.records.delete(id).catch(() => undefined);
      throw error;
    }
  }

  /** Claims the key for this request (undefined), or returns the first request's stored answer. */
  private async claim(id: { apiKeyId: string; idempotencyKey: string }, requestHash: string, reply: FastifyReply): Promise<unknown> {
    const deadline = Date.now() + this.config.upstream.timeoutMs * 3;
    for (;;) {
      await this.records.delete({ ...id, expiresAt: LessThan(new Date()) });
      const claimed = await this.records
        .createQueryBuilder()
        .insert()
        .values({ ...id, requestHash, state: 'pending', expiresAt: new Date(Date.now() + TTL_MS) })
        .orIgnore()
        .execute();
      if ((claimed.raw as unknown[]).length > 0) return undefined;
      const existing = await this.records.findOneBy(id);
      if (!existing) continue;
      if (existing.requestHash !== requestHash) {
        throw new GatewayError(ErrorCode.Conflict, 'This Idempotency-Key was used with a different request; use a new key.', {
          param: 'Idempotency-Key',
        });
      }
      if (existing.state === 'done') {
        void reply.header('idempotent-replayed', 'true');
        return existing.responseBody;
      }
      if (Date.now() > deadline) throw new GatewayError(ErrorCode.Conflict, 'The first request with this Idempotency-Key is still running.');
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  /** Expired answers are deleted every ten minutes (they can hold whole images). */
  onModuleInit(): void {
    this.sweeper = setInterval(() => void this.records.delete({ expiresAt: LessThan(new Date()) }).catch(() => undefined), 10 * 60_000);
    this.sweeper.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
  }
}
