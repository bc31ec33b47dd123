import { hash, randomUUID } from 'node:crypto';
import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { sleep } from '../common/async/sleep.js';
import { ErrorCode } from '../common/errors/error-code.enum.js';
import { GatewayError, InvalidRequestError } from '../common/errors/gateway.error.js';
import type { EaselRequest, RequestContext } from '../common/http/request-context.js';
import { AppConfig } from '../config/app.config.js';
import { type IdempotencyId, IdempotencyStore } from './idempotency.store.js';
import { keepLeased } from './lease-heartbeat.js';

const KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * What identifies a request's body, when it is not its JSON: whether it streams, and a string that
 * differs when the body does (made only for a request with the header: it may hash megabytes).
 */
export interface RequestBodyIdentity {
  stream: boolean;
  fingerprint(): string;
}
/** How long a pending request's owner is taken to be alive without renewing, and how often it renews. */
const LEASE_MS = 30_000;
const RENEW_EVERY_MS = 10_000;
/** A duplicate looks at the first request's record again after this long, half as long again each time, up to the maximum. */
const FIRST_POLL_MS = 50;
const MAX_POLL_MS = 1_000;

/**
 * `Idempotency-Key`: the same key (per API key) with the same body within 24 h answers the first
 * result again (same images, same `created`) without calling the upstream or charging again; the
 * same key with another body is a 409. Failed requests are not remembered, so they can be retried
 * with the same key.
 *
 * The request that claims a key holds a lease on it (30 s, renewed every 10 s while it works). A
 * duplicate that arrives meanwhile waits for its answer (for up to UPSTREAM_TIMEOUT_MS, then 409);
 * one that finds the lease run out (the instance running it died) takes the request over and runs
 * it itself. A request holding a key is not cancelled when its client goes away: it finishes, its
 * answer is stored, and the client's retry gets it instead of paying twice.
 *
 * A route is idempotent by running its answer through `run` (and saying so with `@Idempotent()`).
 * Not a Nest interceptor: an interceptor puts an RxJS pipeline on every request of its route,
 * the many without the header too (see docs/BENCHMARKS.md).
 */
@Injectable()
export class IdempotencyGate implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(IdempotencyGate.name);
  private sweeper?: NodeJS.Timeout;
  /** Requests this instance runs under a lease; shutdown waits for them, client or not. */
  private readonly running = new Set<Promise<unknown>>();

  constructor(
    private readonly store: IdempotencyStore,
    private readonly config: AppConfig,
  ) {}

  /**
   * `answer()`, or with an `Idempotency-Key` header the first answer to that key and body. The
   * body is the request's JSON unless `body` says what it is (a multipart edit: its parsed fields
   * and files, by hash).
   */
  run<T>(context: RequestContext, answer: () => Promise<T>, body?: RequestBodyIdentity): Promise<T> {
    const header = context.reply.request.headers['idempotency-key'];
    if (header === undefined) return answer();
    return this.handle(context, String(header), answer, body) as Promise<T>;
  }

  private async handle(
    context: RequestContext,
    idempotencyKey: string,
    answer: () => Promise<unknown>,
    identity: RequestBodyIdentity | undefined,
  ): Promise<unknown> {
    const { reply } = context;
    const request = reply.request as EaselRequest;
    if (!KEY.test(idempotencyKey))
      throw new InvalidRequestError('Idempotency-Key must be 1..255 visible ASCII characters.', 'Idempotency-Key');
    const body = identity ?? {
      stream: (request.body as { stream?: unknown } | undefined)?.stream === true,
      fingerprint: () => JSON.stringify(request.body),
    };
    if (body.stream)
      throw new InvalidRequestError('Idempotency-Key cannot be used with stream: true.', 'Idempotency-Key');
    const apiKeyId = request.principal?.keyId;
    if (!apiKeyId) return answer();
    const requestHash = hash('sha256', `${request.routeOptions.url}\n${body.fingerprint()}`, 'hex');
    const id = { apiKeyId, idempotencyKey };
    const owner = randomUUID();

    try {
      const replay = await this.claim(id, requestHash, owner, context.signal);
      if (replay) {
        void reply.header('idempotent-replayed', 'true');
        return replay.body;
      }
    } catch (error) {
      if (error instanceof GatewayError) throw error;
      throw new GatewayError(
        ErrorCode.NotReady,
        'Idempotency-Key cannot be honoured right now (database unavailable); retry shortly.',
        { cause: error },
      );
    }

    const work = this.runLeased(id, owner, answer);
    context.outliveClient(work);
    this.running.add(work);
    const forget = () => this.running.delete(work);
    work.then(forget, forget);
    return work;
  }

  /**
   * Claims the key for `owner` (undefined), or returns the first request's stored answer, waiting
   * for it while its lease lives. Gives up with 409 after UPSTREAM_TIMEOUT_MS, and when the
   * waiting client goes away.
   */
  private async claim(
    id: IdempotencyId,
    requestHash: string,
    owner: string,
    signal: AbortSignal,
  ): Promise<{ body: unknown } | undefined> {
    const deadline = Date.now() + this.config.upstream.timeoutMs;
    for (let pollMs = FIRST_POLL_MS; ; pollMs = Math.min(pollMs * 1.5, MAX_POLL_MS)) {
      if (await this.store.claim(id, requestHash, owner, LEASE_MS)) return undefined;
      const existing = await this.store.find(id);
      if (!existing) continue;
      if (existing.requestHash !== requestHash) {
        throw new GatewayError(
          ErrorCode.Conflict,
          'This Idempotency-Key was used with a different request; use a new key.',
          {
            param: 'Idempotency-Key',
          },
        );
      }
      if (existing.state === 'done') return { body: existing.responseBody };
      if (Date.now() + pollMs > deadline) {
        throw new GatewayError(
          ErrorCode.Conflict,
          'The first request with this Idempotency-Key is still running; retry later.',
          {
            param: 'Idempotency-Key',
          },
        );
      }
      await sleep(pollMs, signal);
    }
  }

  /**
   * Runs the request while renewing the lease, then stores its answer. An answer that cannot be
   * stored is still returned (it was paid for); failures release the key.
   */
  private async runLeased(id: IdempotencyId, owner: string, answer: () => Promise<unknown>): Promise<unknown> {
    const lease = keepLeased(() => this.store.renewLease(id, owner, LEASE_MS), RENEW_EVERY_MS, {
      onLost: () =>
        this.logger.warn(
          'An Idempotency-Key lease was taken over while its request was still running; the other answer will be kept.',
        ),
      onError: (error) => this.logger.warn(`An Idempotency-Key lease could not be renewed: ${String(error)}`),
    });
    let result: unknown;
    try {
      result = await answer();
    } catch (error) {
      lease.stop();
      await this.store.release(id, owner).catch(() => undefined);
      throw error;
    }
    lease.stop();
    try {
      if (!(await this.store.complete(id, owner, result)))
        this.logger.warn('An Idempotency-Key answer was not stored: another request took the key over.');
    } catch (error) {
      this.logger.warn(`An Idempotency-Key answer could not be stored: ${String(error)}`);
    }
    return result;
  }

  /** Expired answers are deleted every ten minutes (they can hold whole images). */
  onModuleInit(): void {
    this.sweeper = setInterval(() => void this.store.deleteExpired().catch(() => undefined), 10 * 60_000);
    this.sweeper.unref();
  }

  /** Before the database closes: requests whose clients left still store their answers. */
  async onModuleDestroy(): Promise<void> {
    clearInterval(this.sweeper);
    await Promise.allSettled(this.running);
  }
}
