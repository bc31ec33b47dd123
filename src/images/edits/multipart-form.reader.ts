import type { IncomingMessage } from 'node:http';
import { Busboy, type BusboyFileStream, type BusboyHeaders, type BusboyInstance } from '@fastify/busboy';
import { Injectable } from '@nestjs/common';
import { ErrorCode } from '../../common/errors/error-code.enum.js';
import { GatewayError, InvalidRequestError } from '../../common/errors/gateway.error.js';
import { formatBytes } from '../../common/http/route-policy.js';
import { AppConfig } from '../../config/app.config.js';

/** One file part, in full: its bytes are at most UPLOAD_MAX_FILE_BYTES. */
export interface FormFile {
  /** The part's name as sent (`image`, `image[]`, `mask`). */
  name: string;
  filename: string;
  bytes: Buffer;
}

/** A multipart body, in the order its parts came. */
export interface MultipartForm {
  fields: Array<{ name: string; value: string }>;
  files: FormFile[];
}

/**
 * Hard limits of a form, whatever the model: the most input images any model takes (the
 * catalogue's maximum, 16) plus a mask; a few more fields than the endpoint knows (the unknown
 * ones are then named by the validation); a field as long as a 32000-character prompt can be in
 * UTF-8, with room.
 */
export const FORM_LIMITS = { files: 17, fields: 32, fieldBytes: 256 * 1024, fieldNameBytes: 100, headerPairs: 16 };
/** Room for the text fields and the multipart framing, on top of UPLOAD_MAX_TOTAL_BYTES of files. */
const FRAMING_ALLOWANCE = 1024 * 1024;

/**
 * Reads an image edit's `multipart/form-data` body as it streams in, with hard limits checked as
 * the bytes arrive: a file over UPLOAD_MAX_FILE_BYTES or files over UPLOAD_MAX_TOTAL_BYTES
 * together (413 `file_too_large`), too many files or fields, or a field too long (400). Nothing is
 * buffered past a limit: the body stops being read at once, and the HTTP edge closes the
 * connection after the answer rather than read the rest (`closeWithoutReading`). A body whose
 * `Content-Length` already says it is too large is refused before a byte of it is read.
 */
@Injectable()
export class MultipartFormReader {
  constructor(private readonly config: AppConfig) {}

  /** `paramOf` names a file part for the errors (`image[2]`, `mask`), called once per file in order. */
  read(request: IncomingMessage, paramOf: (name: string) => string): Promise<MultipartForm> {
    const { maxFileBytes, maxTotalBytes } = this.config.uploads;
    const declared = Number(request.headers['content-length'] ?? 0);
    if (declared > maxTotalBytes + FRAMING_ALLOWANCE) {
      throw new GatewayError(
        ErrorCode.FileTooLarge,
        `The upload is ${formatBytes(declared)}; this server takes at most ${formatBytes(maxTotalBytes)} of files per request (UPLOAD_MAX_TOTAL_BYTES).`,
      );
    }
    let parser: BusboyInstance;
    try {
      parser = new Busboy({
        headers: request.headers as BusboyHeaders,
        limits: {
          fileSize: maxFileBytes,
          files: FORM_LIMITS.files,
          fields: FORM_LIMITS.fields,
          fieldSize: FORM_LIMITS.fieldBytes,
          fieldNameSize: FORM_LIMITS.fieldNameBytes,
          parts: FORM_LIMITS.files + FORM_LIMITS.fields,
          headerPairs: FORM_LIMITS.headerPairs,
        },
      });
    } catch (error) {
      throw malformed(error);
    }
    return new Promise<MultipartForm>((resolve, reject) => {
      const form: MultipartForm = { fields: [], files: [] };
      let total = 0;
      let settled = false;
      const fail = (error: GatewayError) => {
        if (settled) return;
        settled = true;
        // Stop reading: the edge answers and closes the connection without reading the rest.
        request.unpipe(parser);
        request.pause();
        parser.removeAllListeners();
        parser.on('error', () => undefined);
        reject(error);
      };
      const onClose = () => {
        if (!request.complete)
          fail(new GatewayError(ErrorCode.ClientClosedRequest, 'The client closed the connection.'));
      };
      request.once('close', onClose);
      // Busboy does not apply `fieldNameSize` to multipart bodies: the names are checked here.
      const overlong = (name: string) => Buffer.byteLength(name) > FORM_LIMITS.fieldNameBytes;
      parser.on('field', (name: string, value: string, nameTruncated: boolean, valueTruncated: boolean) => {
        if (nameTruncated || overlong(name)) return fail(new InvalidRequestError('A form field has an overlong name.'));
        if (valueTruncated) {
          return fail(new InvalidRequestError(`${name} is longer than ${formatBytes(FORM_LIMITS.fieldBytes)}.`, name));
        }
        form.fields.push({ name, value });
      });
      parser.on('file', (name: string, stream: BusboyFileStream, filename: string) => {
        // A body cut inside a file is an error on the file's stream: unheard, it would crash the process.
        stream.on('error', (error: unknown) => fail(malformed(error)));
        if (overlong(name)) {
          stream.resume();
          return fail(new InvalidRequestError('A form field has an overlong name.'));
        }
        const param = paramOf(name);
        const chunks: Buffer[] = [];
        // In the order the files came; the bytes are filled in when the file ends.
        const file: FormFile = { name, filename, bytes: Buffer.alloc(0) };
        form.files.push(file);
        stream.on('data', (chunk: Buffer) => {
          total += chunk.length;
          if (total > maxTotalBytes) {
            chunks.length = 0;
            return fail(
              new GatewayError(
                ErrorCode.FileTooLarge,
                `The uploaded files are larger than ${formatBytes(maxTotalBytes)} together (UPLOAD_MAX_TOTAL_BYTES).`,
                { param },
              ),
            );
          }
          chunks.push(chunk);
        });
        stream.on('limit', () => {
          chunks.length = 0;
          fail(
            new GatewayError(
              ErrorCode.FileTooLarge,
              `${param} is larger than ${formatBytes(maxFileBytes)}, the most one file may be (UPLOAD_MAX_FILE_BYTES).`,
              { param },
            ),
          );
        });
        stream.on('end', () => {
          file.bytes = Buffer.concat(chunks);
        });
      });
      parser.on('filesLimit', () =>
        fail(new InvalidRequestError(`A request takes at most ${FORM_LIMITS.files} files (images and a mask).`)),
      );
      parser.on('fieldsLimit', () =>
        fail(new InvalidRequestError(`A request takes at most ${FORM_LIMITS.fields} form fields.`)),
      );
      parser.on('partsLimit', () =>
        fail(new InvalidRequestError(`A request takes at most ${FORM_LIMITS.files + FORM_LIMITS.fields} parts.`)),
      );
      parser.on('error', (error: unknown) => fail(malformed(error)));
      parser.on('finish', () => {
        request.off('close', onClose);
        if (settled) return;
        settled = true;
        resolve(form);
      });
      request.pipe(parser);
    });
  }
}

function malformed(error: unknown): InvalidRequestError {
  const detail = error instanceof Error ? error.message.replace(/^Multipart: /, '') : 'unreadable';
  return new InvalidRequestError(`The multipart/form-data body is malformed: ${detail.slice(0, 200)}.`);
}
