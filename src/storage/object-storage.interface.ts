import type { Readable } from 'node:stream';
import type { ByteRange, ByteRangeSpec } from './byte-range.js';

export interface StoredObject {
  /** The whole object, or the bytes of `range`. */
  body: Readable;
  /** The whole object's size. */
  size: number;
  /** Set when a range was asked for: the bytes `body` holds. */
  range?: ByteRange;
}

/** Where `response_format: url` images live. One implementation per `IMAGE_STORE`. */
export interface ObjectStorage {
  put(key: string, bytes: Buffer, contentType: string): Promise<void>;
  /**
   * undefined when there is no such object (or it has been cleaned up). With `range`, only those
   * bytes (resolved with `resolveByteRange`, which throws 416 for a range outside the object).
   */
  get(key: string, range?: ByteRangeSpec): Promise<StoredObject | undefined>;
}

export const OBJECT_STORAGE = Symbol('OBJECT_STORAGE');
