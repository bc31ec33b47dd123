import type { EventEmitter } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { AppConfig } from '../config/app.config.js';
import { type EmbeddedPostgresHandle, startEmbeddedPostgres } from './embedded-postgres.js';
import { forgetRunningDatabase, recordRunningDatabase } from './running-database.js';

/**
 * Where the database lives: `DATABASE_URL` when set, otherwise an embedded PostgreSQL in the data
 * dir, started on first use and stopped after the connection pool has closed.
 */
@Injectable()
export class DatabaseServer implements OnApplicationShutdown {
  private readonly logger = new Logger(DatabaseServer.name);
  private embedded?: Promise<EmbeddedPostgresHandle>;
  private dataSource?: DataSource;

  constructor(private readonly config: AppConfig) {}

  async connectionUrl(): Promise<string> {
    if (this.config.database.url) return this.config.database.url;
    this.embedded ??= this.startEmbedded();
    return (await this.embedded).url;
  }

  private async startEmbedded(): Promise<EmbeddedPostgresHandle> {
    const started = Date.now();
    const handle = await startEmbeddedPostgres({
      dataDir: this.config.dataDir,
      database: 'easel',
      log: (message) => this.logger.verbose(message),
      // Ctrl-C reaches Easel only: it stops the server itself, once the requests in flight and the
      // usage records are done and the pool has closed (below).
      ownProcessGroup: true,
    });
    const asRoot = handle.notes.length
      ? ` (as root, PostgreSQL runs as the user "postgres"; ${handle.notes.join('; ')})`
      : '';
    this.logger.log(`Embedded PostgreSQL ready in ${Date.now() - started} ms, data in ${handle.clusterDir}${asRoot}`);
    await recordRunningDatabase(this.config.dataDir, handle.url, (message) => this.logger.warn(message));
    return handle;
  }

  /** The pool on this server: it is closed before an embedded server stops. */
  attach(dataSource: DataSource): void {
    this.dataSource = dataSource;
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.embedded) return;
    if (this.dataSource?.isInitialized) await closePool(this.dataSource);
    await forgetRunningDatabase(this.config.dataDir);
    await (await this.embedded).stop();
  }
}

/** How long the pool's connections get to close before the embedded server stops anyway. */
const POOL_CLOSE_WAIT_MS = 2_000;

/**
 * Closes the pool and waits until its connections have closed: pg-pool's `end()` resolves as soon
 * as it has asked them to (it says `'remove'` for each once it has), and a server stopped under an
 * open one terminates it, which the pool reports as an error ("terminating connection due to
 * administrator command").
 */
async function closePool(dataSource: DataSource): Promise<void> {
  const pool = (dataSource.driver as unknown as { master?: EventEmitter & { totalCount: number } }).master;
  let open = pool?.totalCount ?? 0;
  const closed = new Promise<void>((resolve) => {
    if (open === 0) resolve();
    pool?.on('remove', () => --open <= 0 && resolve());
  });
  await dataSource.destroy();
  await Promise.race([closed, delay(POOL_CLOSE_WAIT_MS, undefined, { ref: false })]);
}
