import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateApiKeySecret } from '../../src/auth/api-key.secret.js';
import { type ServerProcess, startServerProcess } from '../utils/server-process.js';
import { createTestDatabase, type TestDatabase } from '../utils/test-database.js';

const MB = 1024 * 1024;
/** Small limits, so that the margin between what the reader may hold and what it must not is wide. */
const MAX_FILE_BYTES = 8 * MB;
const MAX_TOTAL_BYTES = 16 * MB;
const UPLOAD_BYTES = 200 * MB;

/** A process's resident memory now, and its peak since the peak was last reset, in bytes (Linux). */
async function memoryOf(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)![1]) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/**
 * Sends a multipart form with one `image` file of `bytes` bytes, chunked (no Content-Length, so
 * only the reader's own limits can stop it), and resolves with the answer as soon as it comes,
 * however much of the file was sent by then.
 */
function uploadHuge(
  baseUrl: string,
  key: string,
  bytes: number,
): Promise<{ status: number; body: string; sent: number }> {
  const boundary = 'hugeboundary';
  const url = new URL('/v1/images/edits', baseUrl);
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = request(url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${key}`,
        'content-type': `multipart/form-data; boundary=${boundary}`,
        'transfer-encoding': 'chunked',
      },
    });
    req.on('response', (response) => {
      answered = true;
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        resolve({ status: response.statusCode!, body: Buffer.concat(chunks).toString('utf8'), sent });
        req.destroy();
      });
    });
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nbig\r\n--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="huge.png"\r\nContent-Type: image/png\r\n\r\n`;
    req.write(head);
    const chunk = Buffer.alloc(MB, 0x41);
    const pump = () => {
      while (!answered && sent < bytes) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      if (!answered) req.end(`\r\n--${boundary}--\r\n`);
    };
    pump();
  });
}

/**
 * A 200 MB upload, in a separate Easel process whose memory is read from /proc: refused with 413
 * once the file passes UPLOAD_MAX_FILE_BYTES, without the process holding the rest. Linux only
 * (its peak memory is read and reset through /proc); elsewhere reported as skipped, never passed.
 */
const describeOnLinux = existsSync('/proc/self/clear_refs') ? describe : describe.skip;

describeOnLinux('POST /v1/images/edits uploads against an Easel process (Linux: memory read from /proc)', () => {
  let database: TestDatabase;
  let server: ServerProcess | undefined;
  let key: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    const adminKey = generateApiKeySecret().key;
    server = await startServerProcess(
      {
        DATABASE_URL: database.url,
        EASEL_DATA_DIR: await mkdtemp(join(tmpdir(), 'easel-upload-')),
        ADMIN_API_KEY: adminKey,
        LOG_LEVEL: 'warn',
        UPLOAD_MAX_FILE_BYTES: String(MAX_FILE_BYTES),
        UPLOAD_MAX_TOTAL_BYTES: String(MAX_TOTAL_BYTES),
      },
      120_000,
    );
    const created = await fetch(`${server.baseUrl}/admin/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'upload', team: 'default' }),
    });
    ({ key } = (await created.json()) as { key: string });
  }, 150_000);

  afterAll(async () => {
    server?.child.kill('SIGTERM');
    await server?.exited;
    await database?.drop();
  });

  it('answers 413 file_too_large, and the process grows by less than the upload limit', async () => {
    const pid = server!.child.pid!;
    const before = await memoryOf(pid);
    // The peak from now on.
    await writeFile(`/proc/${pid}/clear_refs`, '5');

    const answer = await uploadHuge(server!.baseUrl, key, UPLOAD_BYTES);

    const after = await memoryOf(pid);
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'file_too_large', param: 'image[0]' } });
    expect(answer.sent).toBeLessThan(UPLOAD_BYTES);
    // It holds at most the one file it read up to its limit (8 MB), never the 200 MB.
    expect(after.peak - before.rss).toBeLessThan(MAX_TOTAL_BYTES);
  }, 120_000);

  it('answers 400 to a body cut inside a file part, and lives on (such an error, unheard, ends the process)', async () => {
    const body =
      '--cut\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nx\r\n' +
      '--cut\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n0123456789';

    const response = await fetch(`${server!.baseUrl}/v1/images/edits`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'multipart/form-data; boundary=cut' },
      body,
    });

    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { message: string } }).error.message).toContain('malformed');
    expect((await fetch(`${server!.baseUrl}/health/live`)).status).toBe(200);
  }, 60_000);

  it('answers 413 at once when Content-Length says the body is too large, reading none of it', async () => {
    const pid = server!.child.pid!;
    const before = await memoryOf(pid);
    await writeFile(`/proc/${pid}/clear_refs`, '5');

    const status = await new Promise<number>((resolve, reject) => {
      const req = request(new URL('/v1/images/edits', server!.baseUrl), {
        method: 'POST',
        headers: {
          authorization: `Bearer ${key}`,
          'content-type': 'multipart/form-data; boundary=x',
          'content-length': String(UPLOAD_BYTES),
        },
      });
      req.on('response', (response) => {
        resolve(response.statusCode!);
        req.destroy();
      });
      req.on('error', reject);
      req.write('--x\r\n');
    });

    expect(status).toBe(413);
    expect((await memoryOf(pid)).peak - before.rss).toBeLessThan(8 * MB);
  }, 60_000);
});
