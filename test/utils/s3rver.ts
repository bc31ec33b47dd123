import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The part of s3rver (which ships no types) these tests use. */
interface S3rverServer {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverConstructor = new (options: {
  address: string;
  port: number;
  directory: string;
  silent: boolean;
  configureBuckets: { name: string }[];
}) => S3rverServer;

const S3rver = createRequire(import.meta.url)('s3rver') as S3rverConstructor;

/** s3rver's one account: it checks SigV4 signatures made with these. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export interface S3rverHandle {
  endpoint: string;
  bucket: string;
  /** What an Easel app needs to keep its images in this bucket (credentials included). */
  env: Record<string, string>;
  /** Takes the server down, keeping the objects (the bucket "fails"). */
  stop(): Promise<void>;
  /** Brings it back on the same port, with the same objects. */
  start(): Promise<void>;
  /** Stops it and deletes its objects. */
  close(): Promise<void>;
}

/**
 * A real S3-protocol server (s3rver: SigV4, PutObject, GetObject with ranges, presigned URLs) on a
 * loopback port, keeping its objects in a temp dir, with one empty bucket.
 */
export async function startS3rver(bucket = 'easel-images'): Promise<S3rverHandle> {
  const directory = await mkdtemp(join(tmpdir(), 'easel-s3rver-'));
  const boot = async (port: number) => {
    const server = new S3rver({
      address: '127.0.0.1',
      port,
      directory,
      silent: true,
      configureBuckets: [{ name: bucket }],
    });
    return { server, port: (await server.run()).port };
  };
  let running: Awaited<ReturnType<typeof boot>> | undefined = await boot(0);
  const port = running.port;
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await running?.server.close();
    running = undefined;
  };
  return {
    endpoint,
    bucket,
    env: {
      IMAGE_STORE: 's3',
      S3_BUCKET: bucket,
      S3_ENDPOINT: endpoint,
      S3_REGION: 'us-east-1',
      // s3rver serves buckets by path, not by host name.
      S3_FORCE_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    },
    stop,
    async start() {
      running ??= await boot(port);
    },
    async close() {
      await stop();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
