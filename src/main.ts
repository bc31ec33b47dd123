import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module.js';
import { configureApp, createFastifyAdapter, STOP_SIGNALS } from './app.setup.js';
import { AppConfig } from './config/app.config.js';

async function bootstrap(): Promise<void> {
  const started = Date.now();
  // A stop signal before Easel listens ends the start at once (an embedded PostgreSQL already
  // started is stopped by its exit hook; a migration under way rolls back). From then on the
  // shutdown hooks that configureApp installs stop it gracefully.
  const stopDuringStart = () => process.exit(0);
  for (const signal of STOP_SIGNALS) process.on(signal, stopDuringStart);
  const config = AppConfig.fromProcess();
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), createFastifyAdapter(), {
    bufferLogs: true,
  });
  configureApp(app);
  await app.listen(config.http.port, config.http.host);
  for (const signal of STOP_SIGNALS) process.off(signal, stopDuringStart);
  const logger = new Logger('Easel');
  logger.log(
    `Listening on http://${config.http.host}:${config.http.port} (docs at ${config.http.publicBaseUrl}/docs) — ready in ${Date.now() - started} ms`,
  );
  for (const signal of STOP_SIGNALS) process.once(signal, () => logger.log(`Stopping (${signal})`));
}

bootstrap().catch((error: unknown) => {
  // A bad configuration or catalogue stops the start with its own message.
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
