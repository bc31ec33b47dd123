import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buffer } from 'node:stream/consumers';
import { HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { S3RVER_CREDENTIALS, type S3rverHandle, startS3rver } from '../../test/utils/s3rver.js';
import { errorRejectedBy } from '../../test/utils/thrown-error.js';
import { ErrorCode } from '../common/errors/error-code.enum.js';
import { GatewayError } from '../common/errors/gateway.error.js';
import type { S3StoreConfig } from '../config/app.config.js';
import { S3ObjectStorage } from './s3.storage.js';

const TTL_MS = 60_000;
const BYTES = Buffer.from('0123456789abcdefghij'); // 20 bytes

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
  });
});

interface FlakyProxy {
  server: Server;
  endpoint: string;
  /** PUTs to answer with 503 before forwarding again. */
  failNextPuts: number;
  /** PUTs received. */
  puts: number;
}

/** Forwards to s3rver (Host kept, so SigV4 still checks), answering the next `failNextPuts` PUTs with 503 SlowDown. */
async function startFlakyProxy(target: URL): Promise<FlakyProxy> {
  const proxy = { failNextPuts: 0, puts: 0 } as FlakyProxy;
  proxy.server = createServer((incoming, outgoing) => {
    if (incoming.method === 'PUT') {
      proxy.puts++;
      if (proxy.failNextPuts > 0) {
        proxy.failNextPuts--;
        incoming.resume();
        outgoing.writeHead(503, { 'content-type': 'application/xml' });
        outgoing.end('<?xml version="1.0"?><Error><Code>SlowDown</Code><Message>Slow down</Message></Error>');
        return;
      }
    }
    const forwarded = request(
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
    incoming.pipe(forwarded);
  });
  await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
  proxy.endpoint = `http://127.0.0.1:${(proxy.server.address() as AddressInfo).port}`;
  return proxy;
}
