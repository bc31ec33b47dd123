import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { ErrorCode } from '../common/errors/error-code.enum.js';
import { GatewayError } from '../common/errors/gateway.error.js';
import type { ImageFormat } from '../providers/image-provider.interface.js';
import type { ByteRangeSpec } from './byte-range.js';
import { ImageUrlSigner } from './image-url.signer.js';
import { OBJECT_STORAGE, type ObjectStorage, type StoredObject } from './object-storage.interface.js';

export const CONTENT_TYPES: Record<ImageFormat, string> = {
  png: 'image/png',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
};

export interface OpenedImage extends StoredObject {
  contentType: string;
}

/** Stores generated images and hands out signed, expiring URLs for them. */
@Injectable()
export class ImageStore {
  constructor(
    @Inject(OBJECT_STORAGE) private readonly storage: ObjectStorage,
    private readonly signer: ImageUrlSigner,
  ) {}

  async save(bytes: Buffer, format: ImageFormat): Promise<string> {
    const file = `${randomBytes(16).toString('base64url')}.${format}`;
    await this.storage.put(file, bytes, CONTENT_TYPES[format]);
    return this.signer.urlFor(file);
  }

  /** The image behind a signed URL (only `range` of it, when given); 403 for a bad or expired URL, 404 once it is gone. */
  async open(file: string, expires: number, signature: string, range?: ByteRangeSpec): Promise<OpenedImage> {
    switch (this.signer.check(file, expires, signature)) {
      case 'bad_signature':
        throw new GatewayError(ErrorCode.PermissionDenied, 'The image URL signature is not valid.', { param: 'sig' });
      case 'expired':
        throw new GatewayError(ErrorCode.PermissionDenied, 'The image URL has expired.', { param: 'expires' });
      case 'valid':
        break;
    }
    const stored = await this.storage.get(file, range);
    if (!stored) throw new GatewayError(ErrorCode.ResourceNotFound, 'The image no longer exists.');
    const format = file.slice(file.lastIndexOf('.') + 1) as ImageFormat;
    return { ...stored, contentType: CONTENT_TYPES[format] };
  }
}
