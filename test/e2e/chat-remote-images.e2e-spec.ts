import { request as httpRequest } from 'node:http';
import { DataSource } from 'typeorm';
import { FakeImageHost } from '../fakes/fake-image-host.server.js';
import type { FakeVertexServer } from '../fakes/fake-vertex.server.js';
import type { TestApp } from '../utils/test-app.js';
import { startWithVertex, useUpstreamApp } from '../utils/upstream-apps.js';
import { waitFor } from '../utils/wait-for.js';

/**
 * `image_url` parts with http(s) URLs (REMOTE_IMAGE_URLS=true), against a real image server on
 * 127.0.0.1 and the fake Vertex AI. Off by default: chat-validation.e2e-spec.ts covers that 400.
 */

const MODEL = 'vertex/google/gemini-2.5-flash-image';
const CHAT = '/v1/chat/completions';
const TIMEOUT_MS = 2000;

const withImageUrls = (...urls: string[]) => ({
  model: MODEL,
  messages: [
    {
      role: 'user',
      content: [
        { type: 'text', text: 'Make it blue' },
        ...urls.map((url) => ({ type: 'image_url', image_url: { url } })),
      ],
    },
  ],
});

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

describe('POST /v1/chat/completions with remote image URLs', () => {
  const host = new FakeImageHost();
  let requestCount = 0;

  beforeAll(() => host.start());
  beforeEach(() => host.reset());
  afterEach(() => {
    expect(host.unexpected).toEqual([]);
  });
  afterAll(() => host.stop());

  /** Posts the body with a fresh request id, for finding its usage record. */
  async function post(sut: TestApp, key: string, body: unknown): Promise<{ response: Response; requestId: string }> {
    const requestId = `remote-image-${++requestCount}`;
    const response = await sut.http(CHAT, { key, body, headers: { 'x-request-id': requestId } });
    return { response, requestId };
  }

  /** The one usage record of the request (waits for the batch insert, then checks no second one follows). */
  async function usageRecordOf(sut: TestApp, requestId: string): Promise<Record<string, unknown>> {
    const dataSource = sut.app.get(DataSource);
    const query = () =>
      dataSource.query(
        `SELECT status, http_status, error_code, endpoint, model FROM usage_records WHERE request_id = $1`,
        [requestId],
      );
    await waitFor<unknown[]>(query, (rows) => rows.length > 0);
    await new Promise((resolve) => setTimeout(resolve, 150));
    const rows = (await query()) as Array<Record<string, unknown>>;
    expect(rows).toHaveLength(1);
    return rows[0]!;
  }

  async function expectRefused(
    sut: TestApp,
    key: string,
    body: unknown,
    param: string,
    message: RegExp,
  ): Promise<void> {
    const { response, requestId } = await post(sut, key, body);

    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const error = (await response.json()) as ErrorBody;
    expect(error).toEqual({
      error: { message: expect.any(String), type: 'invalid_request_error', param, code: 'invalid_value' },
    });
    expect(error.error.message).toMatch(message);
    expect(await usageRecordOf(sut, requestId)).toEqual({
      status: 'error',
      http_status: 400,
      error_code: 'invalid_value',
      endpoint: 'chat',
      model: MODEL,
    });
  }

  describe('enabled, without allowed networks', () => {
    let vertex: FakeVertexServer;
    let sut: TestApp;
    let key: string;

    useUpstreamApp(
      () => startWithVertex({ REMOTE_IMAGE_URLS: 'true' }),
      (app) => ({ fake: vertex, sut, key } = app),
    );

    it.each([
      ['127.0.0.1', '127.0.0.1', /host is a private, loopback or otherwise reserved address/],
      [
        'localhost, by the addresses its name resolves to',
        'localhost',
        /host name does not resolve to a public address/,
      ],
      ['[::1]', '[::1]', /host is a private/],
      ['[::ffff:127.0.0.1], IPv4-mapped', '[::ffff:127.0.0.1]', /host is a private/],
      ['0.0.0.0, which reaches this host', '0.0.0.0', /host is a private/],
      ['2130706433, 127.0.0.1 in decimal', '2130706433', /host is a private/],
      ['0x7f.1, 127.0.0.1 in short hex', '0x7f.1', /host is a private/],
      ['169.254.169.254, the cloud metadata service', '169.254.169.254', /host is a private/],
    ])('refuses %s before connecting', async (_name, hostname, message) => {
      await expectRefused(
        sut,
        key,
        withImageUrls(host.url('/image.png', hostname)),
        'messages[0].content[1].image_url.url',
        message,
      );

      expect(host.hits).toEqual([]);
      expect(vertex.requests).toHaveLength(0);
    });

    it('does not echo the address a host name resolved to', async () => {
      const { response } = await post(sut, key, withImageUrls(host.url('/image.png', 'localhost')));

      expect(((await response.json()) as ErrorBody).error.message).not.toMatch(/127\.0\.0\.1|::1/);
    });
  });

  describe('enabled, with REMOTE_IMAGE_ALLOWED_NETWORKS=127.0.0.1/32', () => {
    let vertex: FakeVertexServer;
    let sut: TestApp;
    let key: string;

    useUpstreamApp(
      () =>
        startWithVertex({
          REMOTE_IMAGE_URLS: 'true',
          REMOTE_IMAGE_ALLOWED_NETWORKS: '127.0.0.1/32',
          REMOTE_IMAGE_TIMEOUT_MS: String(TIMEOUT_MS),
        }),
      (app) => ({ fake: vertex, sut, key } = app),
    );

    const inlinePng = () => ({ inlineData: { mimeType: 'image/png', data: host.png.toString('base64') } });

    it('sends the fetched PNG to Vertex as inlineData, byte for byte, and records the request once', async () => {
      const { response, requestId } = await post(sut, key, withImageUrls(host.url('/image.png')));

      expect(response.status).toBe(200);
      expect(host.hits).toEqual(['/image.png']);
      expect(vertex.generationRequests).toHaveLength(1);
      expect(vertex.generationRequests[0]!.body).toMatchObject({
        contents: [{ role: 'user', parts: [{ text: 'Make it blue' }, inlinePng()] }],
      });
      expect(await usageRecordOf(sut, requestId)).toMatchObject({
        status: 'success',
        http_status: 200,
        error_code: null,
      });
    });

    it('follows up to 3 redirects, relative ones included', async () => {
      const { response } = await post(sut, key, withImageUrls(host.url('/redirect/3')));

      expect(response.status).toBe(200);
      expect(host.hits).toEqual(['/redirect/3', '/redirect/2', '/redirect/1', '/redirect/0']);
      expect(vertex.generationRequests[0]!.body).toMatchObject({
        contents: [{ parts: [{ text: 'Make it blue' }, inlinePng()] }],
      });
    });

    it('fetches the images of one request concurrently and keeps their order', async () => {
      const { response } = await post(
        sut,
        key,
        withImageUrls(host.url('/gate/a.png'), host.url('/gate/b.png'), host.url('/gate/c.png')),
      );

      expect(response.status).toBe(200);
      expect([...host.hits].sort()).toEqual(['/gate/a.png', '/gate/b.png', '/gate/c.png']);
      expect(vertex.generationRequests[0]!.body).toMatchObject({
        contents: [{ parts: [{ text: 'Make it blue' }, inlinePng(), inlinePng(), inlinePng()] }],
      });
    });

    it('mixes fetched images with data URLs', async () => {
      const dataUrl = `data:image/png;base64,${host.png.toString('base64')}`;

      const { response } = await post(sut, key, withImageUrls(dataUrl, host.url('/image.png')));

      expect(response.status).toBe(200);
      expect(host.hits).toEqual(['/image.png']);
      expect(vertex.generationRequests[0]!.body).toMatchObject({
        contents: [{ parts: [{ text: 'Make it blue' }, inlinePng(), inlinePng()] }],
      });
    });

    it('streams with a fetched image too', async () => {
      const response = await sut.http(CHAT, { key, body: { ...withImageUrls(host.url('/image.png')), stream: true } });

      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(await response.text()).toMatch(/data: \[DONE\]/);
      expect(vertex.generationRequests[0]!.body).toMatchObject({
        contents: [{ parts: [{ text: 'Make it blue' }, inlinePng()] }],
      });
    });

    const PARAM = 'messages[0].content[1].image_url.url';
    it.each<[string, () => string, RegExp, string[]]>([
      [
        'a text/html page',
        () => host.url('/page.html'),
        /sent text\/html, not a PNG, JPEG or WebP image/,
        ['/page.html'],
      ],
      [
        'image/png whose bytes are not a PNG',
        () => host.url('/disguised.png'),
        /says image\/png, but the bytes it sent are not such an image/,
        ['/disguised.png'],
      ],
      ['an image announced as larger than 7 MB', () => host.url('/huge.png'), /larger than 7 MB/, ['/huge.png']],
      [
        'an image that turns out larger than 7 MB',
        () => host.url('/huge-unannounced.png'),
        /larger than 7 MB/,
        ['/huge-unannounced.png'],
      ],
      ['a 404', () => host.url('/missing.png'), /^The image host answered HTTP 404\.$/, ['/missing.png']],
      [
        'an image that does not arrive in time',
        () => host.url('/slow.png'),
        new RegExp(`did not arrive within ${TIMEOUT_MS} ms`),
        ['/slow.png'],
      ],
      [
        'a redirect to the cloud metadata service',
        () => host.url(`/redirect-to?location=${encodeURIComponent('http://169.254.169.254/latest/meta-data/')}`),
        /redirects to a private, loopback or otherwise reserved address/,
        ['/redirect-to'],
      ],
      [
        'a redirect to a loopback address outside the allowed network',
        () => host.url(`/redirect-to?location=${encodeURIComponent(`http://127.0.0.2:${host.port}/image.png`)}`),
        /redirects to a private/,
        ['/redirect-to'],
      ],
      [
        'a redirect to a file: URL',
        () => host.url(`/redirect-to?location=${encodeURIComponent('file:///etc/passwd')}`),
        /redirected to must be http:\/\/ or https:\/\//,
        ['/redirect-to'],
      ],
      [
        'more than 3 redirects',
        () => host.url('/redirect/4'),
        /redirects more than 3 times/,
        ['/redirect/4', '/redirect/3', '/redirect/2', '/redirect/1'],
      ],
      [
        'a loopback address outside the allowed network',
        () => host.url('/image.png', '127.0.0.2'),
        /host is a private/,
        [],
      ],
      [
        'a URL with a user name and password',
        () => host.url('/image.png', 'user:secret@127.0.0.1'),
        /must not contain a user name or password/,
        [],
      ],
      [
        'a scheme other than http(s) and data',
        () => `ftp://127.0.0.1:${host.port}/image.png`,
        /must be an http\(s\) URL or a data URL/,
        [],
      ],
    ])('refuses %s with 400 on the image, without calling Vertex', async (_name, url, message, hits) => {
      await expectRefused(sut, key, withImageUrls(url()), PARAM, message);

      expect(host.hits).toEqual(hits);
      expect(vertex.requests).toHaveLength(0);
    });

    it('names the exact part that failed in a later message', async () => {
      const body = {
        model: MODEL,
        messages: [
          { role: 'user', content: 'A lighthouse' },
          { role: 'assistant', content: 'Which one?' },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'These two' },
              { type: 'image_url', image_url: { url: host.url('/image.png') } },
              { type: 'image_url', image_url: { url: host.url('/missing.png') } },
            ],
          },
        ],
      };

      await expectRefused(sut, key, body, 'messages[2].content[2].image_url.url', /HTTP 404/);
      expect(vertex.requests).toHaveLength(0);
    });

    it('refuses a stream before it starts: a JSON 400, not an event', async () => {
      const response = await sut.http(CHAT, {
        key,
        body: { ...withImageUrls(host.url('/missing.png')), stream: true },
      });

      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(((await response.json()) as ErrorBody).error).toMatchObject({
        param: PARAM,
        message: expect.stringMatching(/HTTP 404/),
      });
      expect(vertex.requests).toHaveLength(0);
    });

    it('counts URLs against max_input_images (3) before fetching any', async () => {
      const urls = ['/image.png', '/image.png', '/image.png', '/image.png'].map((path) => host.url(path));

      await expectRefused(sut, key, withImageUrls(...urls), 'messages', /at most 3 input images/);
      expect(host.hits).toEqual([]);
      expect(vertex.requests).toHaveLength(0);
    });

    it('stops fetching when the client goes away, and records the request as 499', async () => {
      // node:http without an agent: the socket is closed for good (fetch would reconnect at once
      // and leave an idle connection that holds up the app's shutdown).
      const client = httpRequest(`${sut.baseUrl}${CHAT}`, {
        method: 'POST',
        agent: false,
        headers: {
          authorization: `Bearer ${key}`,
          'content-type': 'application/json',
          'x-request-id': 'remote-image-client-left',
        },
      });
      client.on('error', () => undefined);
      // Earlier tests' fetches that Easel gave up on count too.
      const abortedBefore = host.abortedResponses;
      client.end(JSON.stringify(withImageUrls(host.url('/slow.png'))));
      await waitFor(
        async () => host.hits.length,
        (hits) => hits === 1,
      );

      client.destroy();
      const abortedAt = Date.now();

      // Well before the 2 s deadline: the client's disconnect, not the timeout, closed the fetch.
      await waitFor(
        async () => host.abortedResponses,
        (count) => count === abortedBefore + 1,
        TIMEOUT_MS / 2,
      );
      expect(Date.now() - abortedAt).toBeLessThan(TIMEOUT_MS / 2);
      expect(await usageRecordOf(sut, 'remote-image-client-left')).toMatchObject({
        status: 'error',
        http_status: 499,
        error_code: 'client_closed_request',
      });
      expect(vertex.requests).toHaveLength(0);
    });
  });
});
