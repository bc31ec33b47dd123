import { createReadStream } from 'node:fs';
import { mkdir, readdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import { type ByteRangeSpec, resolveByteRange } from './byte-range.js';
import type { ObjectStorage, StoredObject } from './object-storage.interface.js';

const SAFE_KEY = /^[A-Za-z0-9_-]+\.[a-z]+$/;

/**
 * Images as files under `<dataDir>/images`, written atomically (temp file, then rename). Files
 * older than the URL lifetime are swept periodically, since no URL for them can still be valid.
 */
export class LocalObjectStorage implements ObjectStorage, OnApplicationShutdown {
  private readonly logger = new Logger(LocalObjectStorage.name);
  private readonly sweeper: NodeJS.Timeout;
  private ready?: Promise<unknown>;

  constructor(
    private readonly dir: string,
    private readonly maxAgeMs: number,
  ) {
    this.sweeper = setInterval(() => void this.sweep(), Math.min(maxAgeMs, 10 * 60_000));
    this.sweeper.unref();
  }

  async put(key: string, bytes: Buffer): Promise<void> {
    this.assertKey(key);
    this.ready ??= mkdir(this.dir, { recursive: true });
    await this.ready;
    const temp = join(this.dir, `.${key}.tmp`);
    await writeFile(temp, bytes);
    await rename(temp, join(this.dir, key));
  }

  async get(key: string, rangeSpec?: ByteRangeSpec): Promise<StoredObject | undefined> {
    if (!SAFE_KEY.test(key)) return undefined;
    const path = join(this.dir, key);
    const info = await stat(path).catch(() => undefined);
    if (!info) return undefined;
    const range = rangeSpec && resolveByteRange(rangeSpec, info.size);
    return { body: createReadStream(path, range), size: info.size, range };
  }

  /** Deletes files older than the URL lifetime; returns how many. */
  async sweep(now = Date.now()): Promise<number> {
    let removed = 0;
    try {
      for (const name of await readdir(this.dir)) {
        const path = join(this.dir, name);
        const info = await stat(path).catch(() => undefined);
        if (info && now - info.mtimeMs > this.maxAgeMs) {
          await unlink(path).catch(() => undefined);
          removed++;
        }
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') this.logger.warn(`Image sweep failed: ${String(error)}`);
    }
    return removed;
  }

  private assertKey(key: string): void {
    if (!SAFE_KEY.test(key)) throw new Error(`unsafe storage key ${key}`);
  }

  onApplicationShutdown(): void {
    clearInterval(this.sweeper);
  }
}
