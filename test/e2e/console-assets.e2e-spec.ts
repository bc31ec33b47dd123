import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { createTestApp, type TestApp } from '../utils/test-app.js';

/**
 * How Easel serves the console's files (src/console/console-assets.ts) from a build directory
 * (here a stand-in made by the test, named by EASEL_CONSOLE_DIR): the page for every app route,
 * hashed assets cached for a year, compression, ETags, and nothing outside the build.
 */
const INDEX =
  '<!doctype html><html><head><script type="module" src="/console/assets/app-Ab12.js"></script></head></html>';
const SCRIPT = `export const hello = ${JSON.stringify('console '.repeat(200))};\n`;

/** A raw GET (fetch would decode the body and normalise the path). */
function rawGet(
  app: TestApp,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const url = new URL(app.baseUrl);
    const request = httpRequest({ host: url.hostname, port: url.port, path, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode!, headers: response.headers, body: Buffer.concat(chunks) }),
      );
    });
    request.on('error', reject);
    request.end();
  });
}

describe('console assets', () => {
  let app: TestApp;
  let built: string;

  beforeAll(async () => {
    built = await mkdtemp(join(tmpdir(), 'easel-console-assets-'));
    mkdirSync(join(built, 'assets'));
    writeFileSync(join(built, 'index.html'), INDEX);
    writeFileSync(join(built, 'assets', 'app-Ab12.js'), SCRIPT);
    app = await createTestApp({ env: { EASEL_CONSOLE_DIR: built } });
  });

  afterAll(async () => {
    await app?.close();
    await rm(built, { recursive: true, force: true });
  });

  it('answers /console and every app route with the page, revalidated on each load, under a strict policy', async () => {
    for (const path of ['/console', '/console/', '/console/keys', '/console/requests?team=growth']) {
      const response = await rawGet(app, path);
      expect({ path, status: response.status }).toEqual({ path, status: 200 });
      expect(response.body.toString()).toBe(INDEX);
      expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(response.headers['cache-control']).toBe('no-cache');
      expect(response.headers.etag).toMatch(/^"[\w-]{27}"$/);
      expect(response.headers['content-security-policy']).toContain("script-src 'self'");
      expect(response.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(response.headers['x-content-type-options']).toBe('nosniff');
    }
  });

  it('answers 304 to a page or an asset the browser has', async () => {
    const first = await rawGet(app, '/console/assets/app-Ab12.js');
    const again = await rawGet(app, '/console/assets/app-Ab12.js', { 'if-none-match': first.headers.etag as string });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
    const page = await rawGet(app, '/console');
    const pageAgain = await rawGet(app, '/console/keys', { 'if-none-match': `W/${page.headers.etag as string}` });
    expect(pageAgain.status).toBe(304);
    const other = await rawGet(app, '/console', { 'if-none-match': '"something-else"' });
    expect(other.status).toBe(200);
  });

  it('serves hashed assets for a year, compressed as the browser accepts', async () => {
    const plain = await rawGet(app, '/console/assets/app-Ab12.js');
    expect(plain.status).toBe(200);
    expect(plain.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(plain.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.headers.vary).toBe('accept-encoding');
    expect(plain.body.toString()).toBe(SCRIPT);

    const brotli = await rawGet(app, '/console/assets/app-Ab12.js', { 'accept-encoding': 'gzip, deflate, br' });
    expect(brotli.headers['content-encoding']).toBe('br');
    expect(brotliDecompressSync(brotli.body).toString()).toBe(SCRIPT);
    expect(brotli.body.length).toBeLessThan(SCRIPT.length / 4);

    const gzip = await rawGet(app, '/console/assets/app-Ab12.js', { 'accept-encoding': 'gzip, br;q=0' });
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gzip.body).toString()).toBe(SCRIPT);

    const refused = await rawGet(app, '/console/assets/app-Ab12.js', { 'accept-encoding': 'gzip;q=0, br;q=0' });
    expect(refused.headers['content-encoding']).toBeUndefined();
    expect(refused.body.toString()).toBe(SCRIPT);
  });

  it('serves nothing outside the build, and unknown API paths stay JSON errors', async () => {
    for (const path of [
      '/console/assets/missing.js',
      '/console/assets/..%2F..%2Fpackage.json',
      '/console/assets/%2e%2e/index.html',
      '/console/assets/',
      '/console/api/nothing',
      '/console/api',
    ]) {
      const response = await rawGet(app, path);
      expect({ path, status: response.status }).toEqual({ path, status: 404 });
      expect(JSON.parse(response.body.toString())).toEqual({
        error: expect.objectContaining({ type: 'invalid_request_error', code: 'not_found' }),
      });
    }
    // The traversal a client normalises away still lands inside /console (the page), never the disk.
    const traversal = await rawGet(app, '/console/../package.json');
    expect(traversal.body.toString()).not.toContain('"name": "easel"');
  });

  it('takes GET and HEAD only', async () => {
    const head = await fetch(`${app.baseUrl}/console/keys`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    const post = await app.http('/console/keys', { method: 'POST', body: {} });
    expect(post.status).toBe(404);
    expect(((await post.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });

  it('says the console is not built, in the error shape, when the build is missing', async () => {
    const bare = await createTestApp({ env: { EASEL_CONSOLE_DIR: join(built, 'no-such-build') } });
    try {
      const response = await bare.http('/console/keys');
      expect(response.status).toBe(503);
      const body = (await response.json()) as { error: { message: string; code: string } };
      expect(body.error.code).toBe('not_ready');
      expect(body.error.message).toContain('npm run build');
      // The API is there all the same.
      expect((await bare.http('/health/live')).status).toBe(200);
    } finally {
      await bare.close();
    }
  });
});
