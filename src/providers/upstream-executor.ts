import { Injectable, Logger } from '@nestjs/common';
import type { Span } from '@opentelemetry/api';
import {
  circuitBreaker,
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  handleWhen,
  isBrokenCircuitError,
} from 'cockatiel';
import { sleep } from '../common/async/sleep.js';
import { ErrorCode } from '../common/errors/error-code.enum.js';
import { GatewayError } from '../common/errors/gateway.error.js';
import type { RequestContext } from '../common/http/request-context.js';
import { endSpan, SPAN, startSpan, withSpan } from '../tracing/tracing.js';
import { addUsage, EMPTY_USAGE } from '../usage/usage-measure.js';
import type { RegisteredModel, RegisteredRoute } from './provider-registry.service.js';
import { ProviderRegistry } from './provider-registry.service.js';
import { UpstreamHttpError } from './upstream-http.js';

/** On one route: retries after the first attempt, their jittered exponential backoff, and Retry-After. */
const RETRY = {
  maxRetries: 2,
  baseDelayMs: 500,
  maxDelayMs: 8_000,
  /** A Retry-After longer than this is not waited for: the next route is tried instead. */
  maxRetryAfterS: 30,
} as const;
/** Consecutive failed calls (after retries) that open a route's breaker, and how long it stays open. */
const BREAKER = { failures: 5, openMs: 30_000 } as const;

/** Failures that say nothing about the request itself: worth another try or another route. */
function isUpstreamFault(error: unknown): error is GatewayError {
  return (
    error instanceof GatewayError &&
    (error.code === ErrorCode.UpstreamError || error.code === ErrorCode.UpstreamTimeout)
  );
}

/** What the executor uses of the request: its signal (the client went away) and its usage (the route). */
export type UpstreamCallContext = Pick<RequestContext, 'signal' | 'usage'>;

/**
 * Upstream calls made to survive faults: per route, transient failures (429, 5xx, timeouts,
 * broken connections) are retried at most twice with jittered exponential backoff, honouring
 * Retry-After; then the model's next route is tried. Each route has a circuit breaker (cockatiel):
 * after 5 consecutive failed calls it is skipped for 30 s. Refusals and bad requests are never
 * retried, and nothing is retried once the client has gone (the request context's signal).
 *
 * Every attempt writes its route on the request's usage (`context.usage.route`), so the usage
 * record names the route that answered, or the last one tried when none did; what a failed
 * attempt was billed for (`GatewayError.billable`) is added to `context.usage.unanswered`, and
 * such an attempt is final: no retry, no other route.
 * Each attempt is a trace span (`easel.upstream.attempt`: route, attempt number, retry or
 * fallback, outcome, the upstream's HTTP status when it failed with one).
 */
@Injectable()
export class UpstreamExecutor {
  private readonly logger = new Logger(UpstreamExecutor.name);
  private readonly breakers = new Map<string, CircuitBreakerPolicy>();

  constructor(private readonly registry: ProviderRegistry) {}

  async run<T>(
    model: RegisteredModel,
    context: UpstreamCallContext,
    call: (route: RegisteredRoute) => Promise<T>,
  ): Promise<T> {
    const { signal } = context;
    let lastError: GatewayError | undefined;
    let attempt = 0;
    for (const [position, route] of this.registry.routeOrder(model).entries()) {
      const breaker = this.breakerFor(model, route);
      try {
        return await breaker.execute(async () => {
          for (let retry = 0; ; retry++) {
            context.usage.route = route.name;
            const span = startSpan(SPAN.upstreamAttempt, {
              'gen_ai.request.model': model.definition.id,
              'easel.route': route.name,
              'easel.attempt': ++attempt,
              'easel.retry': retry > 0,
              // The request has moved on from the route drawn first (failing, or its circuit open).
              'easel.fallback': position > 0,
            });
            try {
              const result = await withSpan(span, call, undefined, route);
              span.setAttribute('easel.outcome', 'success');
              span.end();
              return result;
            } catch (error) {
              if (isPartlyBilled(error)) {
                context.usage.unanswered = addUsage(context.usage.unanswered ?? EMPTY_USAGE, error.billable!);
              }
              const delay =
                retry < RETRY.maxRetries && !signal.aborted && !isPartlyBilled(error)
                  ? retryDelayMs(error, retry)
                  : undefined;
              endFailedAttempt(span, error, delay === undefined ? 'failed' : 'retry');
              if (delay === undefined) throw error;
              this.logger.warn(
                `${model.definition.id} via ${route.name}: ${(error as Error).message} Retrying in ${delay} ms.`,
              );
              await sleep(delay, signal);
            }
          }
        });
      } catch (error) {
        if (isBrokenCircuitError(error)) continue;
        if (!isUpstreamFault(error) || signal.aborted || isPartlyBilled(error)) throw error;
        lastError = error;
      }
    }
    throw (
      lastError ??
      new GatewayError(ErrorCode.UpstreamError, `Every route of ${model.definition.id} is failing; retry later.`, {
        headers: { 'retry-after': String(BREAKER.openMs / 1000) },
      })
    );
  }

  /**
   * A stream, with the same protection up to its first event: a stream that fails before yielding
   * anything is retried or moved to the next route; after the first event it is the client's.
   */
  async *stream<E>(
    model: RegisteredModel,
    context: UpstreamCallContext,
    open: (route: RegisteredRoute) => AsyncIterable<E>,
  ): AsyncGenerator<E> {
    const { iterator, first } = await this.run(model, context, async (route) => {
      const iterator = open(route)[Symbol.asyncIterator]();
      return { iterator, first: await iterator.next() };
    });
    if (first.done) return;
    yield first.value;
    yield* { [Symbol.asyncIterator]: () => iterator };
  }

  /** Each route's breaker state, for metrics and health. */
  states(): Array<{ model: string; route: string; state: 'closed' | 'open' | 'half_open' }> {
    return [...this.breakers.entries()].map(([key, breaker]) => {
      const [model, route] = key.split('\u0000') as [string, string];
      const state =
        breaker.state === CircuitState.Open || breaker.state === CircuitState.Isolated
          ? 'open'
          : breaker.state === CircuitState.HalfOpen
            ? 'half_open'
            : 'closed';
      return { model, route, state };
    });
  }

  private breakerFor(model: RegisteredModel, route: RegisteredRoute): CircuitBreakerPolicy {
    const key = `${model.definition.id}\u0000${route.name}`;
    let breaker = this.breakers.get(key);
    if (!breaker) {
      breaker = circuitBreaker(handleWhen(isUpstreamFault), {
        halfOpenAfter: BREAKER.openMs,
        breaker: new ConsecutiveBreaker(BREAKER.failures),
      });
      breaker.onBreak(() =>
        this.logger.warn(`Circuit opened for ${model.definition.id} via ${route.name} for ${BREAKER.openMs / 1000} s`),
      );
      this.breakers.set(key, breaker);
    }
    return breaker;
  }
}

/** Ends an attempt's span: `retry` (another try on this route follows) or `failed`. */
function endFailedAttempt(span: Span, error: unknown, outcome: 'retry' | 'failed'): void {
  span.setAttribute('easel.outcome', outcome);
  const cause = error instanceof GatewayError ? error.cause : error;
  if (cause instanceof UpstreamHttpError) span.setAttribute('http.response.status_code', cause.status);
  endSpan(span, error);
}

/**
 * An attempt the upstream billed in part (a fan-out whose other calls succeeded): neither retried
 * nor moved to another route, since trying again would make, and pay for, those images again.
 */
function isPartlyBilled(error: unknown): error is GatewayError {
  return error instanceof GatewayError && error.billable !== undefined;
}

/** undefined = do not retry. */
function retryDelayMs(error: unknown, retry: number): number | undefined {
  if (!(error instanceof GatewayError) || !error.transient) return undefined;
  const retryAfter = error.headers?.['retry-after'];
  if (retryAfter !== undefined) {
    const seconds = Number(retryAfter);
    return seconds > RETRY.maxRetryAfterS ? undefined : Math.max(0, seconds * 1000);
  }
  const cap = Math.min(RETRY.maxDelayMs, RETRY.baseDelayMs * 2 ** retry);
  return Math.round(cap / 2 + Math.random() * (cap / 2));
}
