import { randomBytes } from 'node:crypto';
import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { isProcessAlive } from '../common/os/process-alive.js';

/** How long an owner file may go untouched before its owner counts as gone (see `leftovers`). */
const OWNER_STALE_MS = 30_000;
/** The journals open in this process (tests run several apps in one process). */
const liveTokens = new Set<string>();

/**
 * The records written to one journal file, held in memory too until they are stored. A segment
 * is open (taking records) until it is sealed; then its file is closed and complete.
 */
export class JournalSegment<T> {
  readonly rows: T[] = [];
  /** False once a write to the file failed: the file then lacks records (use `rows`, not the file). */
  complete = true;
  /** The file's descriptor while the segment is open. */
  fd?: number;

  constructor(
    /** Undefined when the file could not be created (the records are then in memory only). */
    readonly path: string | undefined,
  ) {}
}

/**
 * The usage journal: every record is appended to a local file before its response completes, so
 * a process that is killed loses nothing (one write system call per record, into the page cache;
 * no fsync, so a power cut may lose the last records, a crash does not). Records go to the open
 * segment; the recorder seals it when it writes a batch, deletes the segment once its records are
 * committed, and moves it into the spool when they cannot be. Segments left behind by a process
 * that died are `leftovers`, which the recorder moves into the spool at start.
 *
 * Segment names: `segment-<first record, epoch ms>-<pid>-<token>-<n>.ndjson`. An owner file
 * `owner-<pid>-<token>` is touched while the journal is open.
 */
export class UsageJournal<T> {
  private readonly token = randomBytes(4).toString('hex');
  private readonly ownerFile: string;
  private open?: JournalSegment<T>;
  private readonly sealed: Array<JournalSegment<T>> = [];
  private opened = 0;

  constructor(
    private readonly dir: string,
    /** Told when a file cannot be created or written (the records stay in memory). */
    private readonly onError: (error: unknown) => void,
  ) {
    this.ownerFile = join(dir, `owner-${process.pid}-${this.token}`);
    liveTokens.add(this.token);
  }

  /** Appends one record (its JSON line written at once). */
  write(row: T, line: string): void {
    const segment = (this.open ??= this.create());
    segment.rows.push(row);
    if (segment.fd === undefined) return;
    try {
      const bytes = Buffer.from(line);
      const written = writeSync(segment.fd, bytes);
      if (written !== bytes.length) throw new Error(`wrote ${written} of ${bytes.length} bytes`);
    } catch (error) {
      segment.complete = false;
      this.seal();
      this.onError(error);
    }
  }

  /** Records in memory, not yet stored. */
  get depth(): number {
    return this.sealed.reduce((total, segment) => total + segment.rows.length, this.open?.rows.length ?? 0);
  }

  /** Records in the open segment. */
  get openDepth(): number {
    return this.open?.rows.length ?? 0;
  }

  /** The next segment to store: the oldest sealed one, else the open one (sealed now); undefined when none holds records. */
  take(): JournalSegment<T> | undefined {
    if (this.sealed.length === 0) this.seal();
    return this.sealed.shift();
  }

  /** Gives back a segment `take` returned, to be taken first next time. */
  putBack(segment: JournalSegment<T>): void {
    this.sealed.unshift(segment);
  }

  /** Deletes a sealed segment's file: its records are stored. */
  discard(segment: JournalSegment<T>): void {
    if (segment.path) unlinkSync(segment.path);
  }

  /**
   * Segment files whose writer is gone: a process that is no longer running (or had this
   * process's id: a restart in a container), or whose owner file has not been touched for 30 s
   * (its process id now belongs to another program). Segments of journals open in this process
   * are never leftovers.
   */
  leftovers(now = Date.now()): string[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    const found: string[] = [];
    for (const name of names) {
      const match = /^segment-\d+-(\d+)-([0-9a-f]+)-\d+\.ndjson$/.exec(name);
      if (!match || liveTokens.has(match[2]!)) continue;
      const pid = Number(match[1]);
      if (pid === process.pid || !isProcessAlive(pid) || ownerIsStale(join(this.dir, `owner-${pid}-${match[2]}`), now))
        found.push(join(this.dir, name));
    }
    return found;
  }

  /** Touches the owner file (call every few seconds), and removes owner files of writers that are gone. */
  heartbeat(now = new Date()): void {
    try {
      if (this.opened > 0) this.touchOwner(now);
    } catch (error) {
      this.onError(error);
    }
    for (const name of safeReaddir(this.dir)) {
      const match = /^owner-(\d+)-([0-9a-f]+)$/.exec(name);
      if (!match || liveTokens.has(match[2]!)) continue;
      const path = join(this.dir, name);
      const pid = Number(match[1]);
      if (pid === process.pid || !isProcessAlive(pid) || ownerIsStale(path, now.getTime())) {
        const hasSegments = safeReaddir(this.dir).some((file) => file.includes(`-${pid}-${match[2]}-`));
        if (!hasSegments) unlinkQuietly(path);
      }
    }
  }

  /** Seals the open segment; the journal takes no more records for this process's token after. */
  close(): void {
    this.seal();
    liveTokens.delete(this.token);
    unlinkQuietly(this.ownerFile);
  }

  private seal(): void {
    const segment = this.open;
    if (!segment) return;
    this.open = undefined;
    if (segment.fd !== undefined) {
      try {
        closeSync(segment.fd);
      } catch (error) {
        this.onError(error);
      }
      segment.fd = undefined;
    }
    if (segment.rows.length > 0) this.sealed.push(segment);
    else if (segment.path) unlinkQuietly(segment.path);
  }

  private touchOwner(now: Date): void {
    try {
      utimesSync(this.ownerFile, now, now);
    } catch {
      mkdirSync(this.dir, { recursive: true });
      writeFileSync(this.ownerFile, '', { mode: 0o600 });
    }
  }

  private create(): JournalSegment<T> {
    const path = join(this.dir, `segment-${Date.now()}-${process.pid}-${this.token}-${++this.opened}.ndjson`);
    try {
      // The owner file first, so another process sharing the directory never takes this segment for a leftover.
      this.touchOwner(new Date());
      const segment = new JournalSegment<T>(path);
      segment.fd = openSync(path, 'wx', 0o600);
      return segment;
    } catch (error) {
      this.onError(error);
      return new JournalSegment<T>(undefined);
    }
  }
}

function ownerIsStale(path: string, now: number): boolean {
  try {
    return now - statSync(path).mtimeMs > OWNER_STALE_MS;
  } catch {
    return true;
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}
