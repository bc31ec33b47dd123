import { mkdir } from 'node:fs/promises';
import { currentRequestResources } from '../http/request-resources.js';
import { SpooledFile } from './spooled-file.js';

/** File writes are gathered to about this size. */
const WRITE_BATCH = 256 * 1024;

/** Memory given back when the value that held it is collected without its request having let it go. */
const unreleased = new FinalizationRegistry<() => void>((release) => release());

/** Bytes held in memory (`Buffer`s, off the V8 heap) or in a temporary file. */
export type HeldPart = Buffer | SpooledFile;

export interface ByteSpoolOptions {
  /** The bytes all values together may hold in memory; past it a value goes on in a file. */
  memoryBytes: number;
  /** Where the (unnamed) temporary files are made. */
  dir: string;
}

/**
 * Where large values that arrive in pieces (the base64 of upstream images) are held while a
 * request needs them: in memory while all of them together stay within `memoryBytes`
 * (`SPOOL_THRESHOLD_BYTES`), else in unnamed temporary files under `dir` (`EASEL_DATA_DIR/spool`),
 * so a burst of large answers costs disk pages, not the process's memory. What a request holds is
 * let go of when its connection closes (`RequestResources`), or else when the value is collected.
 */
export class ByteSpool {
  private held = 0;
  /** Told each time a value goes to a file (a metric). */
  onFileCreated?: () => void;

  constructor(private readonly options: ByteSpoolOptions) {}

  /** Bytes held in memory now. */
  get memoryBytes(): number {
    return this.held;
  }

  /** A new value; what it holds is let go of with the current request (or when collected). */
  writer(): SpoolWriter {
    return new SpoolWriter(this);
  }

  /** @internal Takes `bytes` of the memory budget; false when they do not fit. */
  take(bytes: number): boolean {
    if (this.held + bytes > this.options.memoryBytes) return false;
    this.held += bytes;
    return true;
  }

  /** @internal */
  give(bytes: number): void {
    this.held -= bytes;
  }

  /** @internal Made each time (one syscall): a directory removed while Easel runs is made again. */
  async createFile(): Promise<SpooledFile> {
    await mkdir(this.options.dir, { recursive: true, mode: 0o700 });
    const file = await SpooledFile.create(this.options.dir);
    this.onFileCreated?.();
    return file;
  }
}

/** What a finished value holds. */
export interface HeldBytes {
  parts: HeldPart[];
  length: number;
  /**
   * Outside a request, what is held is let go of once this is collected: keep it with the value
   * (within a request, the request lets go when it ends).
   */
  readonly lease: object;
}

/** What one value holds (kept apart from the value, so that it can be let go of once the value is collected). */
class Holding {
  /** Memory taken from the spool's budget. */
  taken = 0;
  file?: SpooledFile;
  released = false;

  constructor(readonly spool: ByteSpool) {}

  /** The memory back to the budget, the file closed once nobody reads it; once. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.giveBackMemory();
    this.file?.release();
  }

  giveBackMemory(): void {
    this.spool.give(this.taken);
    this.taken = 0;
  }
}

/**
 * One value, written a piece at a time: in memory while the spool's budget allows, then in a file
 * (the pieces held so far written first). `write` returns a promise only when it wrote to disk:
 * the caller waits for it before reading on, so a slow disk slows the upstream, not the memory.
 */
export class SpoolWriter {
  private parts: Buffer[] = [];
  private length = 0;
  private batch: Buffer[] = [];
  private batchBytes = 0;
  private readonly holding: Holding;
  private readonly lease = {};

  constructor(spool: ByteSpool) {
    const holding = new Holding(spool);
    this.holding = holding;
    const resources = currentRequestResources();
    if (resources) resources.add(() => holding.release());
    else unreleased.register(this.lease, () => holding.release());
  }

  get size(): number {
    return this.length;
  }

  write(part: Buffer): Promise<void> | undefined {
    // Its request has ended (the client left while the upstream was still answering): nothing more is held.
    if (this.holding.released) return Promise.reject(new Error('the request this value was for has ended'));
    if (part.length === 0) return undefined;
    this.length += part.length;
    const { holding } = this;
    if (holding.file) return this.toFile(part);
    if (holding.spool.take(part.length)) {
      holding.taken += part.length;
      this.parts.push(part);
      return undefined;
    }
    return this.moveToFile(part);
  }

  /** The value as held: its memory parts, or its file. */
  async finish(): Promise<HeldBytes> {
    const { file } = this.holding;
    if (!file) return { parts: this.parts, length: this.length, lease: this.lease };
    await this.flush();
    return { parts: [file], length: this.length, lease: this.lease };
  }

  /** Every byte written, whole (for a value that turns out to be short, or not image data); then lets go. */
  async takeBack(): Promise<Buffer> {
    const held = await this.finish();
    const whole = Buffer.concat(held.parts.map((part) => (part instanceof SpooledFile ? part.readAll() : part)));
    this.holding.release();
    return whole;
  }

  /** Lets go of what the value holds (before its request ends: a value given up on). */
  release(): void {
    this.holding.release();
  }

  private async moveToFile(part: Buffer): Promise<void> {
    const { holding } = this;
    const file = await holding.spool.createFile();
    holding.file = file;
    if (holding.released) file.release();
    this.batch.push(...this.parts);
    this.batchBytes += this.parts.reduce((sum, piece) => sum + piece.length, 0);
    this.parts = [];
    holding.giveBackMemory();
    await this.toFile(part);
  }

  private toFile(part: Buffer): Promise<void> | undefined {
    this.batch.push(part);
    this.batchBytes += part.length;
    return this.batchBytes >= WRITE_BATCH ? this.flush() : undefined;
  }

  private flush(): Promise<void> {
    const batch = this.batch;
    this.batch = [];
    this.batchBytes = 0;
    return batch.length === 0 ? Promise.resolve() : this.holding.file!.append(batch);
  }
}
