import { Busboy } from '@fastify/busboy';

/** One part of a `multipart/form-data` body, as it was on the wire. */
export interface FormPart {
  name: string;
  /**
   * The `filename` of its Content-Disposition. OpenAI tells a file from a text field by it, so a
   * fake must too: present on file parts, absent on text fields.
   */
  filename?: string;
  /** Its Content-Type, lower-cased without parameters; `text/plain` when the part has none (RFC 7578). */
  contentType: string;
  bytes: Buffer;
}

/** Whether a Content-Type header announces a `multipart/form-data` body (boundary or not). */
export function isMultipartFormData(contentType: string | undefined): contentType is string {
  return /^multipart\/form-data\s*(;|$)/i.test(contentType ?? '');
}

/**
 * The parts of a `multipart/form-data` body, in wire order. Rejects when the Content-Type has no
 * boundary or the body is not well-formed multipart (e.g. it lacks the closing delimiter).
 *
 * Every part is read as bytes (busboy's `isPartAFile` says yes to all of them), so a text field
 * keeps its exact bytes too and only `filename` tells what the client meant.
 */
export function parseMultipartForm(contentType: string, raw: Buffer): Promise<FormPart[]> {
  return new Promise((resolve, reject) => {
    const parts: FormPart[] = [];
    const reading: Promise<void>[] = [];
    let parser: ReturnType<typeof Busboy>;
    try {
      parser = Busboy({ headers: { 'content-type': contentType }, isPartAFile: () => true });
    } catch (error) {
      reject(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    parser.on('file', (name, stream, filename, _encoding, mimeType) => {
      const part: FormPart = { name, contentType: mimeType, bytes: Buffer.alloc(0) };
      if (filename !== undefined) part.filename = filename;
      parts.push(part);
      reading.push(
        (async () => {
          const chunks: Buffer[] = [];
          for await (const chunk of stream) chunks.push(chunk as Buffer);
          part.bytes = Buffer.concat(chunks);
        })(),
      );
    });
    parser.on('error', (error) => reject(error instanceof Error ? error : new Error(String(error))));
    parser.on('finish', () => {
      Promise.all(reading).then(() => resolve(parts), reject);
    });
    parser.end(raw);
  });
}
