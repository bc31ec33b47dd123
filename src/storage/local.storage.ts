import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type ByteRangeSpec, resolveByteRange } from './byte-range.js';
import { IMAGE_KEY, type ImageBody, type ObjectStorage, type StoredObject } from './object-storage.interface.js';

/** Images as files under `<dataDir>/images`, written atomically (temp file, then rename). */
export class LocalObjectStorage implements ObjectStorage {
  private ready?: Promise<unknown>;

  constructor(
    private readonly dir: string,
    private readonly maxAgeMs: number,
  ) {}

  async put(key: string, body: Buffer | ImageBody): Promise<void> {
    this.assertKey(key);
    this.ready ??= mkdir(this.dir, { recursive: true });
    await this.ready;
    const temp = join(this.dir, `.${key}.tmp`);
    try {
      if (Buffer.isBuffer(body)) await writeFile(temp, body);
      else await writeStreamed(temp, body);
      await rename(temp, join(this.dir, key));
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
  }

  async get(key: string, rangeSpec?: ByteRangeSpec): Promise<StoredObject | undefined> {
    if (!IMAGE_KEY.test(key)) return undefined;
    const path = join(this.dir, key);
    const info = await stat(path).catch(() => undefined);
    if (!info) return undefined;
    const range = rangeSpec && resolveByteRange(rangeSpec, info.size);
    return { body: createReadStream(path, range), size: info.size, range };
  }

  /** Deletes files older than the URL lifetime; none while the directory does not exist yet. */
  async sweep(now = Date.now()): Promise<number> {
    const names = await readdir(this.dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw error;
    });
    let removed = 0;
    for (const name of names) {
      const path = join(this.dir, name);
      const info = await stat(path).catch(() => undefined);
      if (info && now - info.mtimeMs > this.maxAgeMs) {
        await unlink(path).catch(() => undefined);
        removed++;
      }
    }
    return removed;
  }

  private assertKey(key: string): void {
    if (!IMAGE_KEY.test(key)) throw new Error(`unsafe storage key ${key}`);
  }
}

/**
 * Writes `body` to `path` as it is read, refusing a source that is not `size` bytes. Settles only
 * once the file is closed, so that a failed write's file exists by then and can be removed.
 */
async function writeStreamed(path: string, body: ImageBody): Promise<void> {
  let written = 0;
  const counted = Readable.from(
    (async function* () {
      for await (const chunk of body.chunks()) {
        written += chunk.length;
        yield chunk;
      }
    })(),
    { objectMode: false },
  );
  const file = createWriteStream(path);
  try {
    await pipeline(counted, file);
  } catch (error) {
    // A source that fails early can fail the pipeline before the file is even open.
    if (!file.closed) await once(file, 'close');
    throw error;
  }
  if (written !== body.size) throw new Error(`the image was ${written} bytes, not the ${body.size} announced`);
}
