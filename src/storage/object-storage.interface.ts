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

/** A key safe to read or write (`<name>.png`: no path, no dots but the extension's). */
export const IMAGE_KEY = /^[A-Za-z0-9_-]+\.[a-z]+$/;

/**
 * Exactly the keys `ImageStore` makes (22 base64url characters of randomness and an image
 * extension): the only objects of a shared bucket a sweep may delete.
 */
export const SWEPT_IMAGE_KEY = /^[A-Za-z0-9_-]{22}\.(png|jpeg|webp)$/;

/**
 * An image to store, streamed: `size` bytes, a slice at a time, read afresh by each call of
 * `chunks` (an upload tried again). A source that yields another number of bytes fails the
 * write, and nothing is stored.
 */
export interface ImageBody {
  size: number;
  chunks(): AsyncIterable<Buffer>;
}

/**
 * Where `response_format: url` images live. One implementation per `IMAGE_STORE`. A failure other
 * than "no such object" is thrown as it comes; `ImageStore` turns it into 503 `storage_unavailable`.
 */
export interface ObjectStorage {
  put(key: string, body: Buffer | ImageBody, contentType: string): Promise<void>;
  /**
   * undefined when there is no such object (or it has been cleaned up). With `range`, only those
   * bytes (resolved with `resolveByteRange`, which throws 416 for a range outside the object).
   */
  get(key: string, range?: ByteRangeSpec): Promise<StoredObject | undefined>;
  /** Deletes the images older than the URL lifetime, since no URL for them can still be valid; how many. */
  sweep(now?: number): Promise<number>;
  /** The store's own presigned GET URL, valid for `expiresInSeconds` (stores that have such URLs). */
  presignedUrl?(key: string, expiresInSeconds: number): Promise<string>;
  /** Throws unless the store answers (readiness), for stores that can be unreachable. */
  ping?(): Promise<void>;
}

export const OBJECT_STORAGE = Symbol('OBJECT_STORAGE');
