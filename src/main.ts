import 'reflect-metadata';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppConfig } from './config/app.config.js';
import { startTracing } from './tracing/tracing.sdk.js';

/** `STOP_SIGNALS` of app.setup.ts, which cannot be imported before tracing starts (it loads Fastify). */
const EARLY_STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

async function bootstrap(): Promise<void> {
  const started = Date.now();
  // A stop signal before Easel listens ends the start at once (an embedded PostgreSQL already
  // started is stopped by its exit hook; a migration under way rolls back). From then on the
  // shutdown hooks that configureApp installs stop it gracefully.
  const stopDuringStart = () => process.exit(0);
  for (const signal of EARLY_STOP_SIGNALS) process.on(signal, stopDuringStart);
  const config = AppConfig.fromProcess();
  // Tracing first: the application is imported only after the SDK's loader hook is in place, so
  // that Fastify, undici, pg and ioredis load instrumented (ESM patches modules as they load).
  const stopTracing = await startTracing(config);
  const [{ Logger }, { NestFactory }, { AppModule }, { configureApp, createFastifyAdapter, STOP_SIGNALS }] =
    await Promise.all([
      import('@nestjs/common'),
      import('@nestjs/core'),
      import('./app.module.js'),
      import('./app.setup.js'),
    ]);
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), createFastifyAdapter(), {
    bufferLogs: true,
  });
  configureApp(app);
  // What is buffered is exported as the server closes (a stop signal, see app.setup.ts).
  if (stopTracing) app.getHttpAdapter().getInstance().addHook('onClose', stopTracing);
  await app.listen(config.http.port, config.http.host);
  for (const signal of EARLY_STOP_SIGNALS) process.off(signal, stopDuringStart);
  const logger = new Logger('Easel');
  logger.log(
    `Listening on http://${config.http.host}:${config.http.port} (console at ${config.http.publicBaseUrl}/console, docs at ${config.http.publicBaseUrl}/docs) — ready in ${Date.now() - started} ms${stopTracing ? `; traces to ${new URL(config.tracing.otlpEndpoint!).origin}` : ''}`,
  );
  for (const signal of STOP_SIGNALS) process.once(signal, () => logger.log(`Stopping (${signal})`));
}

bootstrap().catch((error: unknown) => {
  // A bad configuration or catalogue stops the start with its own message.
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
