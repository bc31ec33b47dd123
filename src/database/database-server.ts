import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { AppConfig } from '../config/app.config.js';
import { type EmbeddedPostgresHandle, startEmbeddedPostgres } from './embedded-postgres.js';

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
    });
    this.logger.log(`Embedded PostgreSQL ready in ${Date.now() - started} ms (data in ${this.config.dataDir})`);
    return handle;
  }

  /** The pool on this server: it is closed before an embedded server stops. */
  attach(dataSource: DataSource): void {
    this.dataSource = dataSource;
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.embedded) return;
    if (this.dataSource?.isInitialized) await this.dataSource.destroy();
    await (await this.embedded).stop();
  }
}
