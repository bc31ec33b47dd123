import type { Readable } from 'node:stream';

export interface StoredObject {
  body: Readable;
  size: number;
}

/** Where `response_format: url` images live. One implementation per `IMAGE_STORE`. */
export interface ObjectStorage {
  put(key: string, bytes: Buffer, contentType: string): Promise<void>;
  /** undefined when there is no such object (or it has been cleaned up). */
  get(key: string): Promise<StoredObject | undefined>;
}

export const OBJECT_STORAGE = Symbol('OBJECT_STORAGE');
