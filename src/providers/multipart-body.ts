import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

export interface MultipartField {
  name: string;
  value: string;
}

export interface MultipartFile {
  name: string;
  filename: string;
  contentType: string;
  bytes: Buffer;
}

const CRLF = '\r\n';

/**
 * A `multipart/form-data` request body (RFC 7578) for an upstream: the parts framed once, the
 * files' bytes referenced rather than copied, sent as a stream with its exact length (each
 * attempt of a retried call gets a fresh stream of the same pieces). Names and file names are
 * Easel's own (`image[]`, `image-0.png`), never a client's, so they need no escaping; values may
 * hold anything (a prompt's line breaks included). The boundary carries 96 random bits drawn after
 * the client sent its bytes, so no part holds it but by a chance of 2^-96 per position: the
 * megabytes of an image are not searched for it.
 */
export class MultipartBody {
  readonly contentType: string;
  readonly length: number;
  private readonly pieces: Buffer[];

  constructor(parts: ReadonlyArray<MultipartField | MultipartFile>) {
    const boundary = `----EaselFormBoundary${randomBytes(12).toString('hex')}`;
    this.contentType = `multipart/form-data; boundary=${boundary}`;
    this.pieces = parts.flatMap((part) => {
      const head =
        'bytes' in part
          ? `--${boundary}${CRLF}Content-Disposition: form-data; name="${part.name}"; filename="${part.filename}"${CRLF}Content-Type: ${part.contentType}${CRLF}${CRLF}`
          : `--${boundary}${CRLF}Content-Disposition: form-data; name="${part.name}"${CRLF}${CRLF}`;
      return [Buffer.from(head), 'bytes' in part ? part.bytes : Buffer.from(part.value), Buffer.from(CRLF)];
    });
    this.pieces.push(Buffer.from(`--${boundary}--${CRLF}`));
    this.length = this.pieces.reduce((sum, piece) => sum + piece.length, 0);
  }

  stream(): Readable {
    return Readable.from(this.pieces, { objectMode: false });
  }
}
