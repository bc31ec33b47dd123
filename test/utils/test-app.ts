import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import OpenAI from 'openai';
import { AppModule } from '../../src/app.module.js';
import { configureApp, createFastifyAdapter } from '../../src/app.setup.js';
import { generateApiKeySecret } from '../../src/auth/api-key.secret.js';
import { AppConfig } from '../../src/config/app.config.js';
import { freePort } from './free-port.js';
import { createTestDatabase, type TestDatabase } from './test-database.js';

export interface TestAppOptions {
  /** Extra or overriding environment variables (values as strings, like the real env). */
  env?: Record<string, string | undefined>;
  /** Reuse a database (for restart tests); a fresh one otherwise. */
  database?: TestDatabase;
  /** Reuse a data dir (for restart tests); a fresh temp dir otherwise. */
  dataDir?: string;
  /** Receives every JSON log line the apps of this test file write; discarded otherwise. */
  logs?: string[];
}

export interface TestApp {
  app: NestFastifyApplication;
  config: AppConfig;
  baseUrl: string;
  adminKey: string | undefined;
  database: TestDatabase;
  dataDir: string;
  /** Calls Easel over real HTTP. */
  http(
    path: string,
    init?: { method?: string; key?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<Response>;
  /** The official OpenAI SDK pointed at this app. */
  openai(key: string): OpenAI;
  /** Closes the app; drops the database and data dir unless `keep` (restart tests). */
  close(options?: { keep?: boolean }): Promise<void>;
  /**
   * Closes this app and boots a new one on the same database, data dir, env and admin key: what
   * an app keeps in memory for its life (circuit breakers, caches, rate-limit counters) starts
   * afresh, while keys and usage rows stay.
   */
  restart(): Promise<TestApp>;
}

/**
 * Boots the real AppModule exactly as `main.ts` does (same adapter, same `configureApp`) on a
 * loopback port, with its own PostgreSQL database and data dir, and config from `options.env`.
 */
export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const database = options.database ?? (await createTestDatabase());
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'easel-test-data-')));
  const port = await freePort();
  const adminKey = 'ADMIN_API_KEY' in (options.env ?? {}) ? options.env!.ADMIN_API_KEY : generateApiKeySecret().key;
  const config = AppConfig.fromEnv({
    DATABASE_URL: database.url,
    EASEL_DATA_DIR: dataDir,
    PORT: String(port),
    PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
    HOST: '127.0.0.1',
    // nestjs-pino's level is per process (the first app's): log everything, the shared sink decides.
    LOG_LEVEL: 'debug',
    ADMIN_API_KEY: adminKey,
    ...options.env,
  });
  if (options.logs) logCaptures.add(options.logs);
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config, logSink),
    createFastifyAdapter(),
    {
      bufferLogs: true,
    },
  );
  configureApp(app);
  await app.listen(port, '127.0.0.1');
  const baseUrl = `http://127.0.0.1:${port}`;

  const http: TestApp['http'] = (path, init = {}) =>
    fetch(`${baseUrl}${path}`, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: {
        ...(init.key ? { authorization: `Bearer ${init.key}` } : {}),
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...init.headers,
      },
      body: init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body),
    });

  const testApp: TestApp = {
    app,
    config,
    baseUrl,
    adminKey,
    database,
    dataDir,
    http,
    openai: (key) => new OpenAI({ apiKey: key, baseURL: `${baseUrl}/v1`, maxRetries: 0 }),
    async close({ keep = false } = {}) {
      await app.close();
      if (options.logs) logCaptures.delete(options.logs);
      if (!keep) {
        await database.drop();
        await rm(dataDir, { recursive: true, force: true });
      }
    },
    async restart() {
      await testApp.close({ keep: true });
      return createTestApp({ ...options, env: { ...options.env, ADMIN_API_KEY: adminKey }, database, dataDir });
    },
  };
  return testApp;
}

/**
 * nestjs-pino keeps its root logger per process, so every app of a test file logs through the
 * destination of the first one: one shared sink, copying each line to the captures registered.
 */
const logCaptures = new Set<string[]>();
const logSink = {
  write(line: string): void {
    for (const capture of logCaptures) capture.push(line);
  },
};
