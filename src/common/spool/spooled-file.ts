import { randomBytes } from 'node:crypto';
import { close, closeSync, open, read, readSync, unlink, writev } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const openFile = promisify(open);
const unlinkFile = promisify(unlink);
const writeVector = promisify(writev);
const readInto = promisify(read);

/** How the files are named, for the moment they have a name. */
const PREFIX = '.spool-';
/** Bytes read per step when the file is streamed out. */
const READ_CHUNK = 256 * 1024;

/** A file whose holder was collected without closing it: its descriptor is closed then. */
const unclosed = new FinalizationRegistry<number>((fd) => close(fd, () => undefined));

/**
 * Bytes in a temporary file that has no name: created in `dir` (mode 0600), unlinked at once, so
 * only this descriptor reaches it and the disk space comes back when it closes, even after a crash.
 * Written once, in order (`append`), then read as often as needed. Closed when the last `hold` is
 * let go (the request that made it holds it until its connection closes), or else when this object
 * is garbage-collected.
 */
export class SpooledFile {
  private written = 0;
  private holds = 1;
  private closed = false;
  /** Reads and writes under way: the descriptor closes only after them (else one could reach a reused descriptor). */
  private busy = 0;
  private pending: Promise<unknown> = Promise.resolve();

  private constructor(private readonly fd: number) {
    unclosed.register(this, fd, this);
  }

  static async create(dir: string): Promise<SpooledFile> {
    const path = join(dir, `${PREFIX}${randomBytes(12).toString('base64url')}`);
    const fd = await openFile(path, 'wx+', 0o600);
    try {
      await unlinkFile(path);
    } catch (error) {
      // Already gone: another instance sharing the directory swept it at its start (see `sweep`).
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        closeSync(fd);
        throw error;
      }
    }
    return new SpooledFile(fd);
  }

  /**
   * Removes what a crash left in `dir` (a file is named only between its creation and its unlink,
   * microseconds apart); at start, before any file is made.
   */
  static async sweep(dir: string): Promise<number> {
    const names = await readdir(dir).catch(() => [] as string[]);
    const removed = await Promise.all(
      names
        .filter((name) => name.startsWith(PREFIX))
        .map((name) =>
          unlinkFile(join(dir, name)).then(
            () => true,
            () => false,
          ),
        ),
    );
    return removed.filter(Boolean).length;
  }

  /** The bytes written so far. */
  get length(): number {
    return this.written;
  }

  /** Writes `parts` after what is there (in the order of the calls), resolving once they are on disk. */
  append(parts: readonly Buffer[]): Promise<void> {
    const size = parts.reduce((sum, part) => sum + part.length, 0);
    const at = this.written;
    this.written += size;
    const write = this.pending.then(() => this.io(() => this.writeAll(parts, at, size)));
    this.pending = write.catch(() => undefined);
    return write;
  }

  private async writeAll(parts: readonly Buffer[], at: number, size: number): Promise<void> {
    let done = (await writeVector(this.fd, parts as Buffer[], at)).bytesWritten;
    // A short write (rare: a signal, a full disk that then errs) goes on from where it stopped.
    while (done < size) {
      const rest = Buffer.concat(parts as Buffer[], size).subarray(done);
      done += (await writeVector(this.fd, [rest], at + done)).bytesWritten;
    }
  }

  /** One read or write of the descriptor, which stays open until it has ended. */
  private async io<T>(work: () => Promise<T>): Promise<T> {
    this.assertOpen();
    this.busy++;
    try {
      return await work();
    } finally {
      if (--this.busy === 0 && this.closed) close(this.fd, () => undefined);
    }
  }

  /** The bytes from `start` to `end`, a chunk at a time (fresh buffers, safe to hand to a socket). */
  async *chunks(start = 0, end = this.written): AsyncGenerator<Buffer> {
    for (let at = start; at < end;) {
      const chunk = Buffer.allocUnsafe(Math.min(READ_CHUNK, end - at));
      const { bytesRead } = await this.io(() => readInto(this.fd, chunk, 0, chunk.length, at));
      if (bytesRead === 0) throw new Error(`spooled file ended at ${at} of ${end} bytes`);
      at += bytesRead;
      yield chunk.subarray(0, bytesRead);
    }
  }

  /** Every byte, read at once (for the rare consumer that needs them whole). */
  readAll(): Buffer {
    this.assertOpen();
    const all = Buffer.allocUnsafe(this.written);
    for (let at = 0; at < all.length;) {
      const bytesRead = readSync(this.fd, all, at, all.length - at, at);
      if (bytesRead === 0) throw new Error(`spooled file ended at ${at} of ${all.length} bytes`);
      at += bytesRead;
    }
    return all;
  }

  /** The last `count` bytes (fewer when the file is shorter). */
  lastBytes(count: number): Buffer {
    this.assertOpen();
    const size = Math.min(count, this.written);
    const tail = Buffer.alloc(size);
    if (size > 0) readSync(this.fd, tail, 0, size, this.written - size);
    return tail;
  }

  /** Keeps the file open until the returned function is called (once). */
  hold(): () => void {
    this.assertOpen();
    this.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.release();
    };
  }

  /** Lets go of the maker's hold (see `hold`): the file closes once nobody holds it. */
  release(): void {
    if (this.closed || --this.holds > 0) return;
    this.closed = true;
    unclosed.unregister(this);
    if (this.busy === 0) close(this.fd, () => undefined);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('the spooled file is closed');
  }
}
