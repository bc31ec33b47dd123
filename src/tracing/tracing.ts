import {
  type Attributes,
  type Context,
  context,
  propagation,
  type Span,
  SpanKind,
  type SpanOptions,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { GatewayError } from '../common/errors/gateway.error.js';

/**
 * Easel's own spans, on `@opentelemetry/api` alone. Without an SDK registered (no
 * `OTEL_EXPORTER_OTLP_ENDPOINT`, see `tracing.sdk.ts`) the API's tracer is a no-op: every span is
 * the same non-recording object and nothing is kept, so these calls cost next to nothing.
 *
 * What a span may carry: names, routes, counts, statuses, error codes, token counts and costs.
 * Never a prompt, a key, an image or an error's message (an upstream's message may quote the prompt).
 */
const tracer = trace.getTracer('easel');

export const SPAN = {
  request: 'easel.request',
  auth: 'easel.auth',
  validate: 'easel.validate',
  upstreamAttempt: 'easel.upstream.attempt',
  storagePut: 'easel.storage.put',
  usageRecord: 'easel.usage.record',
  usageInsert: 'easel.usage.insert',
} as const;

/** A span, child of `parent` (by default the active span). */
export function startSpan(name: string, attributes?: Attributes, parent: Context = context.active()): Span {
  return tracer.startSpan(name, { attributes }, parent);
}

/**
 * The span of a request, root of Easel's spans for it: under the Fastify instrumentation's server
 * span when there is one, else the server span itself, continuing the caller's trace when the
 * headers carry one (`traceparent`; a no-op without an SDK).
 */
export function startRequestSpan(headers: Record<string, unknown>, attributes: Attributes): Span {
  const active = context.active();
  const options: SpanOptions = trace.getSpan(active)
    ? { kind: SpanKind.INTERNAL, attributes }
    : { kind: SpanKind.SERVER, attributes };
  return tracer.startSpan(
    SPAN.request,
    options,
    options.kind === SpanKind.SERVER ? propagation.extract(active, headers) : active,
  );
}

/** A span's context, to make it the parent of what follows. */
export function contextWith(span: Span, parent: Context = context.active()): Context {
  return trace.setSpan(parent, span);
}

/**
 * Runs `work(...args)` with `span` active, so that the spans started meanwhile (Easel's and the
 * auto-instrumentations') are its children; a plain call when the span does not record.
 */
export function withSpan<A extends unknown[], R>(
  span: Span,
  work: (...args: A) => R,
  thisArg?: unknown,
  ...args: A
): R {
  return span.isRecording()
    ? context.with(trace.setSpan(context.active(), span), work, thisArg, ...args)
    : work.apply(thisArg, args);
}

/** Ends a span: an error marks it failed with its code (`error.type`), never its message. */
export function endSpan(span: Span, error?: unknown): void {
  if (error !== undefined) {
    span.setAttribute('error.type', errorType(error));
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
  span.end();
}

/** `work` in a span, child of `parent` (by default the active span), ended when it settles. */
export async function traced<T>(
  name: string,
  attributes: Attributes,
  work: () => Promise<T>,
  parent: Context = context.active(),
): Promise<T> {
  const span = startSpan(name, attributes, parent);
  try {
    const result = await withSpan(span, work);
    span.end();
    return result;
  } catch (error) {
    endSpan(span, error);
    throw error;
  }
}

export function errorType(error: unknown): string {
  if (error instanceof GatewayError) return error.code;
  return error instanceof Error ? error.name : 'unknown';
}
