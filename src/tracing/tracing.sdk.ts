import { register } from 'node:module';
import type { AppConfig } from '../config/app.config.js';

/**
 * Starts the OpenTelemetry SDK when `OTEL_EXPORTER_OTLP_ENDPOINT` is set; otherwise loads none of
 * it, and Easel's spans (`tracing.ts`) stay no-ops. Must run before Fastify, undici, pg and ioredis
 * are imported: under ESM the instrumentations patch a module only as it loads, through the
 * `import-in-the-middle` loader hook registered here (`main.ts` imports the application after
 * this). Spans go over OTLP/HTTP in batches; the SDK reads its other `OTEL_*` variables itself.
 *
 * Resolves with the SDK's shutdown (exports what is buffered), or undefined when tracing is off.
 */
export async function startTracing(config: AppConfig): Promise<(() => Promise<void>) | undefined> {
  const { otlpEndpoint, serviceName } = config.tracing;
  if (!otlpEndpoint) return undefined;
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
  // The SDK reads its variables from the process environment; a `.env` file's reach it too.
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = otlpEndpoint;
  // Traces only, unless asked: metrics are Prometheus's (/metrics) and logs are stdout's.
  process.env.OTEL_METRICS_EXPORTER ??= 'none';
  process.env.OTEL_LOGS_EXPORTER ??= 'none';
  const [
    { NodeSDK },
    { default: FastifyOtel },
    { UndiciInstrumentation },
    { PgInstrumentation },
    { IORedisInstrumentation },
  ] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@fastify/otel'),
    import('@opentelemetry/instrumentation-undici'),
    import('@opentelemetry/instrumentation-pg'),
    import('@opentelemetry/instrumentation-ioredis'),
  ]);
  const sdk = new NodeSDK({
    serviceName,
    instrumentations: [
      // Registered on every Fastify instance as it is created (diagnostics channel, no patching):
      // the request's server span (an incoming `traceparent` honoured), parent of Easel's
      // `easel.request`. No span per hook or handler: those would run the handler outside
      // `easel.request`, whose children its steps must be; and the path without its query
      // (image URLs carry signatures).
      new FastifyOtel.FastifyOtelInstrumentation({
        registerOnInitialization: true,
        instrumentHooks: false,
        instrumentHandler: false,
        requestHook: (span, request) => span.setAttribute('url.path', request.url.split('?', 1)[0]!),
      }),
      // Outgoing URLs without their query: a client's remote image URL may be presigned, its
      // signature a credential (upstream URLs lose only their api-version).
      new UndiciInstrumentation({
        requestHook: (span, request) => {
          const path = request.path.split('?', 1)[0]!;
          span.setAttribute('url.full', `${request.origin}${path}`);
          if (path !== request.path) span.setAttribute('url.query', '(redacted)');
        },
      }),
      // Statement text only, never its values (a usage row holds a prompt's hash, a key's id).
      new PgInstrumentation({ enhancedDatabaseReporting: false }),
      // The command's name only: its arguments are rate-limit keys and key-change messages.
      new IORedisInstrumentation({ dbStatementSerializer: (command) => command }),
    ],
  });
  sdk.start();
  return () => sdk.shutdown();
}
