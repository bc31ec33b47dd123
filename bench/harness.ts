import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from '../src/app.module.js';
import { configureApp, createFastifyAdapter } from '../src/app.setup.js';
import { generateApiKeySecret } from '../src/auth/api-key.secret.js';
import { AppConfig } from '../src/config/app.config.js';

export interface RunningEasel {
  baseUrl: string;
  apiKey: string;
  close(): Promise<void>;
}

/**
 * Boots Easel as `main.ts` does, on a loopback port, with a throwaway data dir (and so a throwaway
 * embedded PostgreSQL unless DATABASE_URL is set), and creates an API key.
 */
export async function startEasel(env: Record<string, string>, port = 0): Promise<RunningEasel> {
  const dataDir = mkdtempSync(join(tmpdir(), 'easel-bench-'));
  const adminKey = generateApiKeySecret().key;
  const config = AppConfig.fromEnv({
    ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
    EASEL_DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'error',
    ADMIN_API_KEY: adminKey,
    ...env,
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), createFastifyAdapter(), { logger: ['error'] });
  configureApp(app);
  await app.listen(port, '127.0.0.1');
  const baseUrl = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  const created = await fetch(`${baseUrl}/admin/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench', team: 'default' }),
  });
  const { key } = (await created.json()) as { key: string };
  return {
    baseUrl,
    apiKey: key,
    close: async () => {
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
