import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Busboy } from '@fastify/busboy';
import { MultipartBody } from './multipart-body.js';

type Part = ConstructorParameters<typeof MultipartBody>[0][number];

interface ParsedPart {
  name: string;
  filename?: string;
  contentType?: string;
  bytes: Buffer;
}

/** Streams `source` into the busboy a server would use; every part comes back with its exact bytes, in wire order. */
function parse(contentType: string, source: Readable): Promise<ParsedPart[]> {
  return new Promise((resolve, reject) => {
    const parts: ParsedPart[] = [];
    const reading: Promise<void>[] = [];
    const parser = Busboy({ headers: { 'content-type': contentType } });
    parser.on('field', (name, value) => parts.push({ name, bytes: Buffer.from(value) }));
    parser.on('file', (name, stream, filename, _encoding, mimeType) => {
      const part: ParsedPart = { name, filename, contentType: mimeType, bytes: Buffer.alloc(0) };
      parts.push(part);
      reading.push(
        (async () => {
          const chunks: Buffer[] = [];
          for await (const chunk of stream) chunks.push(chunk as Buffer);
          part.bytes = Buffer.concat(chunks);
        })(),
      );
    });
    parser.on('error', reject);
    parser.on('finish', () => void Promise.all(reading).then(() => resolve(parts), reject));
    source.on('error', reject).pipe(parser);
  });
}

async function streamed(source: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of source) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Bytes that look like multipart framing: line breaks, dashes, a header, a closing delimiter. */
const FRAMING_LOOKALIKE = Buffer.from(
  '\r\n--\r\n----\r\nContent-Disposition: form-data; name="x"\r\n\r\n--boundary--\r\n',
);
const PNG_BYTES = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytes(3000)]);
const JPEG_BYTES = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), FRAMING_LOOKALIKE, randomBytes(500)]);

const PARTS: Part[] = [
  { name: 'prompt', value: 'line one\r\nline two\n\r--dashes-- and ünïcödé 🦦' },
  { name: 'image[]', filename: 'image-0.png', contentType: 'image/png', bytes: PNG_BYTES },
  { name: 'n', value: '2' },
  { name: 'image[]', filename: 'image-1.jpeg', contentType: 'image/jpeg', bytes: JPEG_BYTES },
  { name: 'mask', filename: 'mask.png', contentType: 'image/png', bytes: Buffer.alloc(0) },
  { name: 'empty', value: '' },
];

/** What `parse` should give back for `parts`. */
function expected(parts: readonly Part[]): ParsedPart[] {
  return parts.map((part) =>
    'bytes' in part
      ? { name: part.name, filename: part.filename, contentType: part.contentType, bytes: part.bytes }
      : { name: part.name, bytes: Buffer.from(part.value) },
  );
}

describe(MultipartBody.name, () => {
  it('round-trips fields and files, in order, with names, file names, content types and exact bytes', async () => {
    const sut = new MultipartBody(PARTS);

    const parsed = await parse(sut.contentType, sut.stream());

    expect(parsed).toEqual(expected(PARTS));
  });

  it('declares multipart/form-data with a boundary drawn for this body', () => {
    const first = new MultipartBody(PARTS);
    const second = new MultipartBody(PARTS);

    expect(first.contentType).toMatch(/^multipart\/form-data; boundary=----EaselFormBoundary[0-9a-f]{24}$/);
    expect(second.contentType).not.toBe(first.contentType);
  });

  it('states as its length the exact number of bytes it streams', async () => {
    const sut = new MultipartBody(PARTS);

    const bytes = await streamed(sut.stream());

    expect(sut.length).toBe(bytes.length);
  });

  it('streams identical bytes each time, so a retried call sends the same body', async () => {
    const sut = new MultipartBody(PARTS);

    const first = await streamed(sut.stream());
    const second = await streamed(sut.stream());

    expect(second.equals(first)).toBe(true);
    expect(await parse(sut.contentType, sut.stream())).toEqual(expected(PARTS));
  });

  it('ends with the closing delimiter and nothing after it but a line break', async () => {
    const sut = new MultipartBody([{ name: 'prompt', value: 'an otter' }]);
    const boundary = sut.contentType.split('boundary=')[1]!;

    const text = (await streamed(sut.stream())).toString('latin1');

    expect(text).toBe(
      `--${boundary}\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nan otter\r\n--${boundary}--\r\n`,
    );
  });

  it('round-trips values and bytes that contain its boundary prefix', async () => {
    const parts: Part[] = [
      { name: 'prompt', value: 'before\r\n------EaselFormBoundary\r\nafter ----EaselFormBoundary--' },
      {
        name: 'image[]',
        filename: 'image-0.png',
        contentType: 'image/png',
        bytes: Buffer.concat([PNG_BYTES, Buffer.from('\r\n------EaselFormBoundary0123456789abcdef01234567--\r\n')]),
      },
    ];
    const sut = new MultipartBody(parts);

    expect(await parse(sut.contentType, sut.stream())).toEqual(expected(parts));
  });
});
