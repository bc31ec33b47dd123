import { randomBytes } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buffer } from 'node:stream/consumers';
import { HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { S3RVER_CREDENTIALS, type S3rverHandle, startS3rver } from '../../test/utils/s3rver.js';
import { errorRejectedBy } from '../../test/utils/thrown-error.js';
import { ErrorCode } from '../common/errors/error-code.enum.js';
import { GatewayError } from '../common/errors/gateway.error.js';
import type { S3StoreConfig } from '../config/app.config.js';
import type { ImageBody } from './object-storage.interface.js';
import { S3ObjectStorage } from './s3.storage.js';

const TTL_MS = 60_000;
const BYTES = Buffer.from('0123456789abcdefghij'); // 20 bytes
// An image streamed in slices, one larger than a socket write, so the PUT's body goes out a slice at a time.
const SLICES = [randomBytes(1), randomBytes(70_000), randomBytes(7), randomBytes(20_000)];
const STREAMED_BYTES = Buffer.concat(SLICES);

/** A streamed body of `SLICES`, counting the reads of it (each try of an upload reads it afresh). */
function streamed(): ImageBody & { reads: number } {
  return announcing(STREAMED_BYTES.length, SLICES);
}

/** A streamed body of `slices` that announces `size` bytes (another number: a broken source), counting its reads. */
function announcing(size: number, slices: readonly Buffer[]): ImageBody & { reads: number } {
  return {
    size,
    reads: 0,
    async *chunks() {
      this.reads++;
      for (const slice of slices) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        yield slice;
      }
    },
  };
}

/**
 * The timeout of a test whose upload must fail at once: well under the client's 30 s request
 * timeout, which a PUT whose body falls short of its declared length would otherwise wait for.
 */
const FAILS_FAST_MS = 10_000;

describe(S3ObjectStorage.name, () => {
  let s3: S3rverHandle;
  let bucket: S3Client;
  let config: S3StoreConfig;
  let sut: S3ObjectStorage;

  beforeAll(async () => {
    s3 = await startS3rver();
    config = { bucket: s3.bucket, endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, prefix: 'img/' };
    bucket = new S3Client({ ...config, credentials: S3RVER_CREDENTIALS });
  });

  beforeEach(() => {
    sut = new S3ObjectStorage(config, TTL_MS, S3RVER_CREDENTIALS);
  });

  afterEach(() => sut.onApplicationShutdown());

  afterAll(async () => {
    bucket.destroy();
    await s3.close();
  });

  it('writes the object under the prefix with its content type and an Expires at the end of the URL lifetime', async () => {
    await sut.put('written.png', BYTES, 'image/png');

    const head = await bucket.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: 'img/written.png' }));
    expect(head.ContentType).toBe('image/png');
    expect(head.ContentLength).toBe(20);
    expect(Math.abs(head.Expires!.getTime() - (Date.now() + TTL_MS))).toBeLessThan(5_000);
  });

  it('reads the whole object back', async () => {
    await sut.put('whole.webp', BYTES, 'image/webp');

    const stored = await sut.get('whole.webp');

    expect(stored?.size).toBe(20);
    expect(stored?.range).toBeUndefined();
    expect(await buffer(stored!.body)).toEqual(BYTES);
  });

  it('stores a streamed image byte for byte, in one PUT of its announced length', async () => {
    const body = streamed();

    await sut.put('streamed.png', body, 'image/png');

    const head = await bucket.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: 'img/streamed.png' }));
    expect(head.ContentType).toBe('image/png');
    expect(head.ContentLength).toBe(STREAMED_BYTES.length);
    expect(body.reads).toBe(1);
    const stored = await sut.get('streamed.png');
    expect(stored?.size).toBe(STREAMED_BYTES.length);
    expect(await buffer(stored!.body)).toEqual(STREAMED_BYTES);
  });

  it.each([
    [{ first: 2, last: 4 }, 2, 4],
    [{ first: 15 }, 15, 19],
    [{ first: 10, last: 999 }, 10, 19],
    [{ suffix: 5 }, 15, 19],
  ])('reads only the bytes of the range %j from the bucket', async (range, start, end) => {
    await sut.put('ranged.png', BYTES, 'image/png');

    const stored = await sut.get('ranged.png', range);

    expect(stored).toMatchObject({ size: 20, range: { start, end } });
    expect(await buffer(stored!.body)).toEqual(BYTES.subarray(start, end + 1));
  });

  it.each([[{ first: 20 }], [{ suffix: 0 }]])(
    'refuses the range %j outside the object with 416 and its size',
    async (range) => {
      await sut.put('small.png', BYTES, 'image/png');

      const error = await errorRejectedBy(() => sut.get('small.png', range), GatewayError);

      expect(error.code).toBe(ErrorCode.RangeNotSatisfiable);
      expect(error.headers).toEqual({ 'content-range': 'bytes */20' });
    },
  );

  it('answers undefined for a missing object (with or without a range) and for keys that are not image keys', async () => {
    await expect(sut.get('missing.png')).resolves.toBeUndefined();
    await expect(sut.get('missing.png', { first: 50 })).resolves.toBeUndefined();
    await expect(sut.get('../img/whole.webp')).resolves.toBeUndefined();
    await expect(sut.put('a/b.png', BYTES, 'image/png')).rejects.toThrow(/unsafe/);
  });

  it('sweeps expired images under its prefix only, leaving other objects of the bucket alone', async () => {
    // Objects of other shapes, even under the prefix and named like images, are not Easel's.
    const others = ['elsewhere.png', 'img/nested/deep.png', 'img/README', 'img/report.png', 'img/backup.tar'];
    for (const Key of others) await bucket.send(new PutObjectCommand({ Bucket: s3.bucket, Key, Body: 'x' }));
    await sut.put('AAAAAAAAAAAAAAAAAAAAAA.png', BYTES, 'image/png');

    await expect(sut.sweep(Date.now())).resolves.toBe(0);
    const removed = await sut.sweep(Date.now() + TTL_MS + 5_000);

    const left = await bucket.send(new ListObjectsV2Command({ Bucket: s3.bucket }));
    const keys = left.Contents!.map(({ Key }) => Key);
    // Only the object shaped as ImageStore names them went (the other tests' keys are not).
    expect(removed).toBe(1);
    expect(keys).not.toContain('img/AAAAAAAAAAAAAAAAAAAAAA.png');
    expect(keys).toEqual(expect.arrayContaining(others));
  });

  it('presigns a GET URL of the bucket that serves the bytes and lives as long as asked', async () => {
    await sut.put('signed.jpeg', BYTES, 'image/jpeg');

    const url = new URL(await sut.presignedUrl('signed.jpeg', 900));
    const response = await fetch(url);

    expect(url.origin).toBe(s3.endpoint);
    expect(url.pathname).toBe(`/${s3.bucket}/img/signed.jpeg`);
    expect(url.searchParams.get('X-Amz-Expires')).toBe('900');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/jpeg');
    expect(Buffer.from(await response.arrayBuffer())).toEqual(BYTES);
  });

  it('pings the bucket, and fails to ping one that does not exist', async () => {
    await expect(sut.ping()).resolves.toBeUndefined();
    const other = new S3ObjectStorage({ ...config, bucket: 'no-such-bucket' }, TTL_MS, S3RVER_CREDENTIALS);
    await expect(other.ping()).rejects.toThrow();
    other.onApplicationShutdown();
  });

  describe('behind a bucket that fails uploads', () => {
    let proxy: FlakyProxy;

    beforeEach(async () => {
      proxy = await startFlakyProxy(new URL(s3.endpoint));
      sut.onApplicationShutdown();
      sut = new S3ObjectStorage({ ...config, endpoint: proxy.endpoint }, TTL_MS, S3RVER_CREDENTIALS);
    });

    afterEach(() => new Promise((resolve) => proxy.server.close(resolve)));

    it('retries a transient failure and stores the object', async () => {
      proxy.failNextPuts = 2;

      await sut.put('retried.png', BYTES, 'image/png');

      expect(proxy.puts).toBe(3);
      expect(await buffer((await sut.get('retried.png'))!.body)).toEqual(BYTES);
    });

    it('gives up after the first try and two retries', async () => {
      proxy.failNextPuts = 10;

      await expect(sut.put('lost.png', BYTES, 'image/png')).rejects.toThrow();

      expect(proxy.puts).toBe(3);
      await expect(sut.get('lost.png')).resolves.toBeUndefined();
    });

    it.each([
      [503, 'SlowDown'],
      [500, 'InternalError'],
      [429, 'TooManyRequests'],
    ])(
      'sends a streamed image again, read afresh, after a %i %s, and stores it byte for byte',
      async (status, code) => {
        proxy.failNextPuts = 1;
        proxy.failWith = { status, code };
        const body = streamed();

        await sut.put('streamed-retried.png', body, 'image/png');

        expect(proxy.puts).toBe(2);
        expect(body.reads).toBe(2);
        // Both tries sent the whole image: the retry read it afresh rather than sending a drained stream.
        expect(proxy.putBytes).toEqual([STREAMED_BYTES.length, STREAMED_BYTES.length]);
        const stored = await sut.get('streamed-retried.png');
        expect(stored?.size).toBe(STREAMED_BYTES.length);
        expect(await buffer(stored!.body)).toEqual(STREAMED_BYTES);
      },
    );

    it('gives a streamed image up after three tries when the bucket keeps failing', async () => {
      proxy.failNextPuts = 10;
      const body = streamed();

      const error = await errorRejectedBy(() => sut.put('streamed-lost.png', body, 'image/png'), Error);

      expect(error.name).toBe('SlowDown');
      expect(proxy.puts).toBe(3);
      expect(body.reads).toBe(3);
      await expect(sut.get('streamed-lost.png')).resolves.toBeUndefined();
    });

    it.each([
      [403, 'AccessDenied'],
      [400, 'InvalidArgument'],
    ])('does not send a streamed image again after a %i %s', async (status, code) => {
      proxy.failNextPuts = 10;
      proxy.failWith = { status, code };
      const body = streamed();

      const error = await errorRejectedBy(() => sut.put('streamed-refused.png', body, 'image/png'), Error);

      expect(error.name).toBe(code);
      expect(proxy.puts).toBe(1);
      expect(body.reads).toBe(1);
      await expect(sut.get('streamed-refused.png')).resolves.toBeUndefined();
    });
  });

  describe('behind a bucket that, as S3 does, stores no upload cut short', () => {
    let proxy: FlakyProxy;

    beforeEach(async () => {
      proxy = await startFlakyProxy(new URL(s3.endpoint));
      sut.onApplicationShutdown();
      sut = new S3ObjectStorage({ ...config, endpoint: proxy.endpoint }, TTL_MS, S3RVER_CREDENTIALS);
    });

    afterEach(() => {
      // A PUT left waiting for the rest of its body would hold the close until the client's timeout.
      proxy.server.closeAllConnections();
      return new Promise((resolve) => proxy.server.close(resolve));
    });

    it(
      'fails a streamed image whose source yields fewer bytes than announced at once, storing nothing',
      async () => {
        const body = announcing(STREAMED_BYTES.length + 1_000, SLICES);

        await expect(sut.put('short.png', body, 'image/png')).rejects.toThrow();

        expect(proxy.puts).toBeGreaterThan(0);
        await expect(sut.get('short.png')).resolves.toBeUndefined();
        expect(await storedKeys()).not.toContain('img/short.png');
      },
      FAILS_FAST_MS,
    );

    it.each([
      ['in a chunk after all the announced bytes', STREAMED_BYTES.length, [...SLICES, randomBytes(10)]],
      ['in its last chunk', STREAMED_BYTES.length - 5, SLICES],
    ])(
      'fails a streamed image whose source yields more bytes than announced (%s) at once, storing nothing',
      async (_where, size, slices) => {
        const body = announcing(size, slices);

        await expect(sut.put('long.png', body, 'image/png')).rejects.toThrow();

        expect(proxy.puts).toBeGreaterThan(0);
        await expect(sut.get('long.png')).resolves.toBeUndefined();
        expect(await storedKeys()).not.toContain('img/long.png');
      },
      FAILS_FAST_MS,
    );
  });

  /** Every key in the bucket (read from s3rver itself, not through a proxy). */
  async function storedKeys(): Promise<string[]> {
    const listed = await bucket.send(new ListObjectsV2Command({ Bucket: s3.bucket }));
    return (listed.Contents ?? []).map(({ Key }) => Key!);
  }
});

interface FlakyProxy {
  server: Server;
  endpoint: string;
  /** PUTs to answer with `failWith` (503 SlowDown unless told) before forwarding again. */
  failNextPuts: number;
  failWith: { status: number; code: string };
  /** PUTs received. */
  puts: number;
  /** The body length of each PUT received, failed or forwarded. */
  putBytes: number[];
}

/**
 * Forwards to s3rver (Host kept, so SigV4 still checks), answering the next `failNextPuts` PUTs, once
 * their body is read, with an S3 error (`failWith`). A PUT goes on only once its whole body (its
 * Content-Length) has arrived: S3 stores nothing of an upload cut short, where s3rver keeps what it
 * received.
 */
async function startFlakyProxy(target: URL): Promise<FlakyProxy> {
  const proxy = {
    failNextPuts: 0,
    failWith: { status: 503, code: 'SlowDown' },
    puts: 0,
    putBytes: [],
  } as unknown as FlakyProxy;
  proxy.server = createServer((incoming, outgoing) => {
    if (incoming.method === 'PUT') {
      proxy.puts++;
      const put = proxy.putBytes.push(0) - 1;
      incoming.on('data', (chunk: Buffer) => (proxy.putBytes[put] += chunk.length));
      if (proxy.failNextPuts > 0) {
        proxy.failNextPuts--;
        const { status, code } = proxy.failWith;
        incoming.resume();
        incoming.on('end', () => {
          outgoing.writeHead(status, { 'content-type': 'application/xml' });
          outgoing.end(`<?xml version="1.0"?><Error><Code>${code}</Code><Message>${code}</Message></Error>`);
        });
        return;
      }
    }
    const forward = () =>
      request(
        {
          host: target.hostname,
          port: target.port,
          method: incoming.method,
          path: incoming.url,
          headers: incoming.headers,
        },
        (answer) => {
          outgoing.writeHead(answer.statusCode!, answer.headers);
          answer.pipe(outgoing);
        },
      );
    if (incoming.method !== 'PUT') {
      incoming.pipe(forward());
      return;
    }
    const body: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => body.push(chunk));
    incoming.on('error', () => undefined);
    // Only once whole: an upload cut short (the client gave up on it) never reaches the bucket.
    incoming.on('end', () => forward().end(Buffer.concat(body)));
  });
  await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
  proxy.endpoint = `http://127.0.0.1:${(proxy.server.address() as AddressInfo).port}`;
  return proxy;
}
