import { createReadStream } from 'node:fs';
import { appendFile, mkdir, readdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';

/** The file earlier versions appended to; still replayed. */
const LEGACY_ACTIVE = 'spool.ndjson';
/** The dead-letter file: what can never be stored, kept for an operator, never replayed. */
export const REJECTED_FILE = 'rejected.ndjson';
/** A file being appended is this old at most (see `recoverTornAppends`). */
const TORN_APPEND_AGE_MS = 60_000;
/** Of an unparseable line, the dead-letter file keeps this many characters. */
const KEPT_LINE_CHARS = 65_536;

/** A spooled line or record that can never be stored. */
export interface Rejection {
  /**
   * `unparseable`: a line that is not a JSON object (torn by a crash or a full disk);
   * `refused`: a record PostgreSQL refused for its data (SQLSTATE class 22 or 23).
   */
  reason: 'unparseable' | 'refused';
  /** Why, for the operator (the database's message and SQLSTATE, or the line's place). */
  detail: string;
  record?: unknown;
  line?: string;
}

/**
 * Stores a batch. Resolves with the records of the batch that can never be stored (the others are
 * stored); rejects when the store cannot be reached, and then the batch is kept for later.
 */
export type SpoolStore<T> = (batch: T[]) => Promise<Rejection[]>;

/**
 * NDJSON spool for usage records that could not be written to PostgreSQL. Every file in it is
 * complete before it is in it: `append` writes a new file aside and renames it in, `adopt` moves a
 * closed journal segment in, so nothing is ever appended to a file a crash may have torn. `replay`
 * feeds every file to a store (one replay at a time) and deletes a file once all its records are
 * stored; lines that are not JSON, and records the store refuses for their data, are moved to the
 * dead-letter file (`rejected.ndjson`) when their file is done, so they never block the others.
 */
export class UsageSpool {
  private replaying?: Promise<number>;
  private written = 0;

  constructor(
    private readonly dir: string,
    /** Told of every rejection written to the dead-letter file (a log line and a metric). */
    private readonly onRejected: (rejections: readonly Rejection[]) => void = () => undefined,
  ) {}

  /** Writes `records` to the spool as one new file, whole or not at all. */
  async append(records: readonly object[], oldestAt = Date.now()): Promise<void> {
    if (records.length === 0) return;
    await mkdir(this.dir, { recursive: true });
    const name = `spool-${oldestAt}-${process.pid}-${++this.written}.ndjson`;
    const aside = join(this.dir, `${name}.tmp`);
    await writeFile(aside, records.map((record) => `${JSON.stringify(record)}\n`).join(''), {
      mode: 0o600,
      flag: 'wx',
    });
    await rename(aside, join(this.dir, name));
  }

  /** Moves a closed file of records (a journal segment, on the same file system) into the spool. */
  async adopt(path: string): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await rename(path, join(this.dir, basename(path)));
  }

  /**
   * Appends rejections to the dead-letter file, then reports them. Throws when that file cannot
   * be written (the records must then stay where they are).
   */
  async reject(rejections: readonly Rejection[], source?: string): Promise<void> {
    if (rejections.length === 0) return;
    await mkdir(this.dir, { recursive: true });
    const rejectedAt = new Date().toISOString();
    const lines = rejections.map(
      (rejection) => `${JSON.stringify({ rejected_at: rejectedAt, source, ...rejection })}\n`,
    );
    await appendFile(join(this.dir, REJECTED_FILE), lines.join(''), { mode: 0o600 });
    this.onRejected(rejections);
  }

  /** Bytes waiting to be replayed (the dead-letter file not included). */
  async size(): Promise<number> {
    let total = 0;
    for (const file of await this.files()) total += (await stat(join(this.dir, file)).catch(() => ({ size: 0 }))).size;
    return total;
  }

  /**
   * When the oldest record waiting was made (epoch ms), or undefined when none waits. From the
   * time in the file's name (a spool file and a journal segment are named for their first
   * record) or its modification time, whichever is earlier.
   */
  async oldestRecordAt(): Promise<number | undefined> {
    let oldest: number | undefined;
    for (const file of await this.files()) {
      const stats = await stat(join(this.dir, file)).catch(() => undefined);
      if (!stats) continue;
      const named = Number(/^[a-z]+-(\d+)-/.exec(file)?.[1] ?? Number.POSITIVE_INFINITY);
      const at = Math.min(named, stats.mtimeMs);
      if (oldest === undefined || at < oldest) oldest = at;
    }
    return oldest;
  }

  /**
   * Feeds every spooled record to `store` in batches and returns how many it stored. A file is
   * deleted once all its batches are stored, after its rejections are in the dead-letter file;
   * when `store` throws, the file stays for the next replay, which starts it over (the store must
   * be idempotent: records keep their ids). One replay at a time: a call during a replay gets
   * that replay's result.
   */
  replay<T>(store: SpoolStore<T>, batchSize: number): Promise<number> {
    this.replaying ??= this.replayFiles(store, batchSize).finally(() => {
      this.replaying = undefined;
    });
    return this.replaying;
  }

  private async replayFiles<T>(store: SpoolStore<T>, batchSize: number): Promise<number> {
    await this.recoverTornAppends();
    const files = await this.files();
    if (files.includes(LEGACY_ACTIVE)) {
      // Appended to by an earlier version: take it aside, so nothing appends to it while it replays.
      const aside = `replay-${Date.now()}-${process.pid}.ndjson`;
      await rename(join(this.dir, LEGACY_ACTIVE), join(this.dir, aside));
      files.splice(files.indexOf(LEGACY_ACTIVE), 1, aside);
    }
    let stored = 0;
    for (const file of files.sort()) stored += await this.replayFile(file, store, batchSize);
    return stored;
  }

  private async replayFile<T>(file: string, store: SpoolStore<T>, batchSize: number): Promise<number> {
    const path = join(this.dir, file);
    const rejections: Rejection[] = [];
    let stored = 0;
    let batch: T[] = [];
    const storeBatch = async (): Promise<void> => {
      const refused = await store(batch);
      rejections.push(...refused);
      stored += batch.length - refused.length;
      batch = [];
    };
    const input = createReadStream(path, { encoding: 'utf8' });
    try {
      let number = 0;
      for await (const line of createInterface({ input, crlfDelay: Infinity })) {
        number++;
        if (!line.trim()) continue;
        const record = parseRecord(line);
        if (record === undefined) {
          rejections.push({
            reason: 'unparseable',
            detail: `line ${number} is not a JSON record`,
            line: line.slice(0, KEPT_LINE_CHARS),
          });
          continue;
        }
        batch.push(record as T);
        if (batch.length >= batchSize) await storeBatch();
      }
      if (batch.length > 0) await storeBatch();
    } finally {
      input.destroy();
    }
    await this.reject(rejections, file);
    await unlink(path);
    return stored;
  }

  /**
   * An append that a crash interrupted leaves its file aside (`.tmp`); after a minute it cannot be
   * one in progress, and it joins the spool (a torn last line goes to the dead-letter file, and
   * records also stored from elsewhere are no-ops).
   */
  private async recoverTornAppends(now = Date.now()): Promise<void> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    for (const name of names.filter((file) => file.endsWith('.ndjson.tmp'))) {
      const path = join(this.dir, name);
      const stats = await stat(path).catch(() => undefined);
      if (stats && now - stats.mtimeMs > TORN_APPEND_AGE_MS) await rename(path, path.slice(0, -'.tmp'.length));
    }
  }

  /** The files waiting to be replayed. */
  private async files(): Promise<string[]> {
    try {
      return (await readdir(this.dir)).filter((name) => name.endsWith('.ndjson') && name !== REJECTED_FILE);
    } catch {
      return [];
    }
  }
}

function parseRecord(line: string): object | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}
