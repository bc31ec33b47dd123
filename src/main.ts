import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module.js';
import { configureApp, createFastifyAdapter } from './app.setup.js';
import { AppConfig } from './config/app.config.js';

async function bootstrap(): Promise<void> {
  const started = Date.now();
  const config = AppConfig.fromProcess();
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), createFastifyAdapter(), {
    bufferLogs: true,
  });
  configureApp(app);
  await app.listen(config.http.port, config.http.host);
  new Logger('Easel').log(
    `Listening on http://${config.http.host}:${config.http.port} (docs at ${config.http.publicBaseUrl}/docs) — ready in ${Date.now() - started} ms`,
  );
}

bootstrap().catch((error: unknown) => {
  // A bad configuration or catalogue stops the start with its own message.
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
