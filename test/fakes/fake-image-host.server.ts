import sharp from 'sharp';
import { FakeHttpServer, type RecordedRequest, type ScriptedResponse } from './fake-http.server.js';

/** More than the 7 MB an input image may have, starting like a PNG. */
const OVERSIZED = Buffer.alloc(8 * 1024 * 1024);
Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(OVERSIZED);
/** How long `/slow.png` keeps the client waiting. */
const SLOW_MS = 10_000;
/** How long a request waits at the gate for the others. */
const GATE_MS = 3_000;

/**
 * A web server hosting images, and the ways that goes wrong, on 127.0.0.1 port 0. It records
 * every request (`hits`: the paths), so a test can prove that nothing was fetched.
 *
 * | path | answer |
 * |---|---|
 * | `/image.png` | a real 16x16 PNG (`png`) |
 * | `/redirect/<n>` | 302 to `/redirect/<n-1>` (a relative Location); `/redirect/0` is the PNG |
 * | `/redirect-to?location=<url>` | 302 to that URL |
 * | `/page.html` | a text/html page |
 * | `/disguised.png` | `content-type: image/png`, but HTML bytes |
 * | `/huge.png` | a PNG-looking body of 8 MB, announced in `content-length` |
 * | `/huge-unannounced.png` | the same, chunked without `content-length` |
 * | `/slow.png` | the PNG after 10 s, unless the client gives up first (`abortedResponses`) |
 * | `/gate/<name>.png` | the PNG once `gateSize` requests wait at the gate together; 503 after 3 s |
 * | `/missing.png` | 404 |
 */
export class FakeImageHost extends FakeHttpServer {
  png!: Buffer;
  gateSize = 3;
  private gate: Array<() => void> = [];

  get port(): number {
    return Number(new URL(this.baseUrl).port);
  }

  get hits(): string[] {
    return this.requests.map((request) => request.path);
  }

  /** A URL on this server through `host` (an IP literal or a name that resolves to 127.0.0.1). */
  url(path: string, host = '127.0.0.1'): string {
    return `http://${host}:${this.port}${path}`;
  }

  override async start(): Promise<this> {
    this.png = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#2a6f97' } })
      .png()
      .toBuffer();
    return super.start();
  }

  override reset(): void {
    super.reset();
    this.gateSize = 3;
    this.gate = [];
  }

  protected async respond(request: RecordedRequest): Promise<ScriptedResponse | undefined> {
    const redirect = /^\/redirect\/(\d+)$/.exec(request.path);
    if (redirect)
      return Number(redirect[1]) === 0
        ? this.image()
        : { status: 302, headers: { location: `/redirect/${Number(redirect[1]) - 1}` } };
    if (request.path.startsWith('/gate/'))
      return (await this.atGate()) ? this.image() : { status: 503, raw: 'Waited alone at the gate' };
    switch (request.path) {
      case '/image.png':
        return this.image();
      case '/redirect-to':
        return { status: 302, headers: { location: request.query.get('location') ?? '/' } };
      case '/page.html':
        return {
          status: 200,
          headers: { 'content-type': 'text/html; charset=utf-8' },
          raw: '<!doctype html><title>Not an image</title>',
        };
      case '/disguised.png':
        return {
          status: 200,
          headers: { 'content-type': 'image/png' },
          raw: '<!doctype html><title>Not an image either</title>',
        };
      case '/huge.png':
        return {
          status: 200,
          headers: { 'content-type': 'image/png', 'content-length': String(OVERSIZED.length) },
          raw: OVERSIZED,
        };
      case '/huge-unannounced.png':
        return {
          status: 200,
          headers: { 'content-type': 'image/png', 'transfer-encoding': 'chunked' },
          raw: OVERSIZED,
        };
      case '/slow.png':
        return { ...this.image(), delayMs: SLOW_MS };
      case '/missing.png':
        return { status: 404, headers: { 'content-type': 'text/plain' }, raw: 'Not found' };
      default:
        return undefined;
    }
  }

  private image(): ScriptedResponse {
    return { status: 200, headers: { 'content-type': 'image/png' }, raw: this.png };
  }

  /** True once `gateSize` requests are here at once: proof they were sent concurrently. */
  private atGate(): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), GATE_MS);
      this.gate.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
      if (this.gate.length >= this.gateSize) for (const open of this.gate.splice(0)) open();
    });
  }
}
