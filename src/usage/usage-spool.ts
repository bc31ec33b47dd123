import { createReadStream, existsSync } from 'node:fs';
import { appendFile, mkdir, readdir, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const ACTIVE = 'spool.ndjson';

/**
 * Append-only NDJSON spool for usage records that could not be written to PostgreSQL. Replay takes
 * the active file aside (rename), so appends during a replay go to a fresh file, and deletes it
 * only once every record in it is stored.
 */
export class UsageSpool {
  constructor(private readonly dir: string) {}

  async append(records: readonly object[]): Promise<void> {
    if (records.length === 0) return;
    await mkdir(this.dir, { recursive: true });
    await appendFile(join(this.dir, ACTIVE), records.map((record) => `${JSON.stringify(record)}\n`).join(''), { mode: 0o600 });
  }

  /** Bytes waiting in the spool (active and set-aside files). */
  async size(): Promise<number> {
    let total = 0;
    for (const file of await this.files()) total += (await stat(join(this.dir, file)).catch(() => ({ size: 0 }))).size;
    return total;
  }

  /**
   * Feeds every spooled record to `store` in batches; a file is deleted only after all its batches
   * are stored. If `store` throws, the file stays for the next replay (the store must be
   * idempotent: records keep their ids).
   */
  async replay<T>(store: (batch: T[]) => Promise<void>, batchSize: number): Promise<number> {
    if (!existsSync(join(this.dir, ACTIVE)) && (await this.files()).length === 0) return 0;
    if (existsSync(join(this.dir, ACTIVE))) {
      await rename(join(this.dir, ACTIVE), join(this.dir, `replay-${Date.now()}-${process.pid}.ndjson`));
    }
    let replayed = 0;
    for (const file of (await this.files()).filter((name) => name !== ACTIVE).sort()) {
      const path = join(this.dir, file);
      let batch: T[] = [];
      const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
      for await (const line of lines) {
        if (!line.trim()) continue;
        batch.push(JSON.parse(line) as T);
        if (batch.length >= batchSize) {
          await store(batch);
          replayed += batch.length;
          batch = [];
        }
      }
      if (batch.length > 0) {
        await store(batch);
        replayed += batch.length;
      }
      await unlink(path);
    }
    return replayed;
  }

  private async files(): Promise<string[]> {
    try {
      return (await readdir(this.dir)).filter((name) => name.endsWith('.ndjson'));
    } catch {
      return [];
    }
  }
}
