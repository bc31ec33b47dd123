import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, errorShapeOf } from '../../common/errors/error-code.enum.js';
import { GatewayError } from '../../common/errors/gateway.error.js';
import { AppConfig } from '../../config/app.config.js';
import { type MultipartForm, MultipartFormReader } from './multipart-form.reader.js';

const MAX_FILE_BYTES = 2048;
const MAX_TOTAL_BYTES = 4096;
/** What the reader allows on top of the files for fields and framing, in a declared Content-Length. */
const FRAMING_ALLOWANCE = 1024 * 1024;
const MB = 1024 * 1024;
/** How long the server waits after a refusal before it measures again what it has read. */
const SETTLE_MS = 100;
const BOUNDARY = 'spec-boundary';

/** What the server saw of one request: the form read, or the refusal and how much of the body had been read. */
type Outcome =
  | { form: MultipartForm }
  | {
      error: GatewayError;
      /** Bytes the connection had read when the reader refused. */
      bytesRead: number;
      /** ... and SETTLE_MS later, before the server discards the rest to answer. */
      bytesReadLater: number;
    };

/** The server's JSON answer: the form, files in base64, or the error. */
interface Answer {
  status: number;
  fields?: Array<{ name: string; value: string }>;
  files?: Array<{ name: string; filename: string; bytes: string }>;
  error?: { code: string; param?: string; message: string };
}

/** The outcomes in the order the server settled them; `next()` waits for the next one. */
class Outcomes {
  private readonly settled: Outcome[] = [];
  private readonly waiting: Array<(outcome: Outcome) => void> = [];

  push(outcome: Outcome): void {
    const waiter = this.waiting.shift();
    if (waiter) waiter(outcome);
    else this.settled.push(outcome);
  }

  next(): Promise<Outcome> {
    const outcome = this.settled.shift();
    return outcome ? Promise.resolve(outcome) : within(new Promise((resolve) => this.waiting.push(resolve)));
  }
}

/** Fails instead of hanging when `promise` does not settle within `ms`. */
async function within<T>(promise: Promise<T>, ms = 5000): Promise<T> {
  const timeout = new AbortController();
  try {
    return await Promise.race([
      promise,
      sleep(ms, undefined, { signal: timeout.signal }).then(() => {
        throw new Error(`not settled within ${ms} ms`);
      }),
    ]);
  } finally {
    timeout.abort();
  }
}

function refusal(outcome: Outcome): Extract<Outcome, { error: GatewayError }> {
  if ('error' in outcome) return outcome;
  throw new Error(`the reader resolved with ${JSON.stringify(outcome.form)}`);
}

function answer(response: ServerResponse, status: number, body: object): void {
  response.writeHead(status, { 'content-type': 'application/json', connection: 'close' });
  response.end(JSON.stringify(body));
}

/** A `multipart/form-data` part as it goes on the wire (the tests that send raw bodies build them with it). */
function part(name: string, content: string | Buffer, filename?: string): Buffer {
  const disposition = filename === undefined ? `name="${name}"` : `name="${name}"; filename="${filename}"`;
  const type = filename === undefined ? '' : 'Content-Type: image/png\r\n';
  return Buffer.concat([
    Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; ${disposition}\r\n${type}\r\n`),
    Buffer.from(content),
    Buffer.from('\r\n'),
  ]);
}
const CLOSING = Buffer.from(`--${BOUNDARY}--\r\n`);

/** Bytes a naive parser would take for framing: line breaks, dashes, a delimiter-like line. */
function trickyBytes(length: number): Buffer {
  const framing = Buffer.from('\r\n--\r\n\r\n------formdata-undici-0\r\n--another-boundary--\r\n');
  const bytes = Buffer.concat([framing, randomBytes(length), framing]);
  return bytes.subarray(0, length);
}

describe(MultipartFormReader.name, () => {
  let server: Server;
  let url: string;
  let sut: MultipartFormReader;
  let outcomes: Outcomes;

  beforeAll(async () => {
    sut = new MultipartFormReader(
      AppConfig.fromEnv({
        UPLOAD_MAX_FILE_BYTES: String(MAX_FILE_BYTES),
        UPLOAD_MAX_TOTAL_BYTES: String(MAX_TOTAL_BYTES),
      }),
    );
    server = createServer((req, res) => void serve(req, res));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  });

  beforeEach(() => {
    outcomes = new Outcomes();
  });

  /** Reads the request with the reader under test and answers what it read, or its error with its status. */
  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      // `read` may refuse at once (a declared length, a bad Content-Type): the same as a rejection here.
      // Files named as the edits pipe names them: mask, or the next image's index.
      let images = 0;
      const paramOf = (name: string) => (name === 'mask' ? 'mask' : `image[${images++}]`);
      const form = await new Promise<MultipartForm>((resolve) => resolve(sut.read(req, paramOf)));
      outcomes.push({ form });
      answer(res, 200, {
        fields: form.fields,
        files: form.files.map((file) => ({ ...file, bytes: file.bytes.toString('base64') })),
      });
    } catch (error) {
      if (!(error instanceof GatewayError)) {
        answer(res, 500, { error: { code: 'not_a_gateway_error', message: String(error) } });
        return;
      }
      const bytesRead = req.socket.bytesRead;
      await sleep(SETTLE_MS);
      outcomes.push({ error, bytesRead, bytesReadLater: req.socket.bytesRead });
      // Discard the rest, so that closing does not reset the connection before the client reads the answer.
      req.resume();
      answer(res, errorShapeOf(error.code).status, {
        error: { code: error.code, param: error.param, message: error.message },
      });
    }
  }

  async function post(form: FormData): Promise<Answer> {
    const response = await fetch(url, { method: 'POST', body: form });
    return { status: response.status, ...((await response.json()) as Omit<Answer, 'status'>) };
  }

  /**
   * Sends `headers`, then writes `chunks` one by one as the connection takes them, and ends the
   * request unless `end` is false; resolves with the answer whenever it comes, however much was sent.
   */
  function postRaw(
    headers: Record<string, string>,
    chunks: Iterable<Buffer>,
    { end = true } = {},
  ): { answer: Promise<Answer>; sent: () => number; abort: () => void } {
    let sent = 0;
    const req = request(url, { method: 'POST', headers });
    const answered = new Promise<Answer>((resolve, reject) => {
      req.on('response', (response) => {
        const body: Buffer[] = [];
        response.on('data', (chunk: Buffer) => body.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(body).toString('utf8');
          resolve({ status: response.statusCode!, ...(JSON.parse(text) as Omit<Answer, 'status'>) });
          req.destroy();
        });
      });
      req.on('error', reject);
    });
    void (async () => {
      req.flushHeaders();
      for (const chunk of chunks) {
        if (req.destroyed) return;
        sent += chunk.length;
        if (!req.write(chunk)) await once(req, 'drain');
      }
      if (end && !req.destroyed) req.end();
    })().catch(() => undefined);
    return { answer: answered, sent: () => sent, abort: () => req.destroy() };
  }

  const multipart = { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` };

  function expectRefusal(answered: Answer, code: ErrorCode, param?: string): void {
    expect(answered.status).toBe(errorShapeOf(code).status);
    expect(answered.error).toMatchObject({ code });
    expect(answered.error?.param).toBe(param);
  }

  describe('a form within the limits', () => {
    it('reads fields and files in the order they came, with their exact bytes', async () => {
      // Exactly at both limits: one file of UPLOAD_MAX_FILE_BYTES, all of them UPLOAD_MAX_TOTAL_BYTES together.
      const first = trickyBytes(MAX_FILE_BYTES);
      const second = trickyBytes(1000);
      const mask = trickyBytes(1048);
      const form = new FormData();
      form.append('prompt', 'line one\r\n--not-a-boundary\r\nünïcödé');
      form.append('image[]', new Blob([first], { type: 'image/png' }), 'first.png');
      form.append('n', '2');
      form.append('mask', new Blob([mask], { type: 'image/png' }), 'mask.png');
      form.append('image[]', new Blob([second], { type: 'image/jpeg' }), 'second.jpg');
      form.append('size', '');

      const answered = await post(form);
      const outcome = await outcomes.next();

      expect(answered.status).toBe(200);
      expect(answered.fields).toEqual([
        { name: 'prompt', value: 'line one\r\n--not-a-boundary\r\nünïcödé' },
        { name: 'n', value: '2' },
        { name: 'size', value: '' },
      ]);
      expect(outcome).toEqual({
        form: {
          fields: answered.fields,
          files: [
            { name: 'image[]', filename: 'first.png', bytes: first },
            { name: 'mask', filename: 'mask.png', bytes: mask },
            { name: 'image[]', filename: 'second.jpg', bytes: second },
          ],
        },
      });
    });

    it('reads a chunked body sent in small pieces', async () => {
      const bytes = trickyBytes(1500);
      const body = Buffer.concat([part('prompt', 'an otter'), part('image', bytes, 'otter.png'), CLOSING]);
      const pieces = Array.from({ length: Math.ceil(body.length / 7) }, (_, i) => body.subarray(i * 7, i * 7 + 7));

      const answered = await postRaw({ ...multipart, 'transfer-encoding': 'chunked' }, pieces).answer;

      expect(answered.status).toBe(200);
      expect(answered.fields).toEqual([{ name: 'prompt', value: 'an otter' }]);
      expect(answered.files).toEqual([{ name: 'image', filename: 'otter.png', bytes: bytes.toString('base64') }]);
    });

    it('reads a form with as many files, fields and field bytes as the hard limits allow', async () => {
      const form = new FormData();
      for (let i = 0; i < 16; i++) form.append('image[]', new Blob([Buffer.from([i])]), `${i}.png`);
      form.append('mask', new Blob([Buffer.from('m')]), 'mask.png');
      form.append('prompt', 'x'.repeat(256 * 1024));
      for (let i = 1; i < 32; i++) form.append(`field${i}`, String(i));

      const answered = await post(form);

      expect(answered.status).toBe(200);
      expect(answered.files).toHaveLength(17);
      expect(answered.fields).toHaveLength(32);
      expect(answered.fields![0]!.value).toHaveLength(256 * 1024);
    });
  });

  describe('file size limits', () => {
    it('refuses a file over UPLOAD_MAX_FILE_BYTES, naming the image by its index among the images', async () => {
      const form = new FormData();
      form.append('image[]', new Blob([trickyBytes(100)]), 'a.png');
      form.append('mask', new Blob([trickyBytes(100)]), 'mask.png');
      form.append('image[]', new Blob([trickyBytes(MAX_FILE_BYTES + 1)]), 'b.png');

      const answered = await post(form);

      expectRefusal(answered, ErrorCode.FileTooLarge, 'image[1]');
      expect(answered.status).toBe(413);
      expect(answered.error!.message).toContain('UPLOAD_MAX_FILE_BYTES');
    });

    it('refuses a mask over UPLOAD_MAX_FILE_BYTES, naming mask', async () => {
      const form = new FormData();
      form.append('image', new Blob([trickyBytes(100)]), 'a.png');
      form.append('mask', new Blob([trickyBytes(MAX_FILE_BYTES + 1)]), 'mask.png');

      expectRefusal(await post(form), ErrorCode.FileTooLarge, 'mask');
    });

    it('refuses files over UPLOAD_MAX_TOTAL_BYTES together, naming the file that crossed it', async () => {
      const form = new FormData();
      form.append('image[]', new Blob([trickyBytes(MAX_FILE_BYTES)]), 'a.png');
      form.append('image[]', new Blob([trickyBytes(MAX_FILE_BYTES)]), 'b.png');
      form.append('image[]', new Blob([trickyBytes(1)]), 'c.png');

      const answered = await post(form);

      expectRefusal(answered, ErrorCode.FileTooLarge, 'image[2]');
      expect(answered.error!.message).toContain('UPLOAD_MAX_TOTAL_BYTES');
    });

    it('stops reading a body at the limit: a 1 MB chunked upload is refused after about 2 KB', async () => {
      const chunk = Buffer.alloc(16 * 1024, 0x41);
      const body = [part('prompt', 'big'), part('image', Buffer.alloc(0), 'huge.png').subarray(0, -2)];
      for (let sent = 0; sent < MB; sent += chunk.length) body.push(chunk);
      body.push(Buffer.from('\r\n'), CLOSING);

      const upload = postRaw({ ...multipart, 'transfer-encoding': 'chunked' }, body);
      const outcome = refusal(await outcomes.next());

      expect(outcome.error.code).toBe(ErrorCode.FileTooLarge);
      expect(outcome.error.param).toBe('image[0]');
      // The request, paused, stops the connection from reading: well under the megabyte sent.
      expect(outcome.bytesRead).toBeLessThan(MB / 4);
      expect(outcome.bytesReadLater).toBeLessThan(MB / 4);
      expectRefusal(await upload.answer, ErrorCode.FileTooLarge, 'image[0]');
    });

    it('refuses a declared Content-Length over the total limit plus framing before reading a byte', async () => {
      const headers = { ...multipart, 'content-length': String(MAX_TOTAL_BYTES + FRAMING_ALLOWANCE + 1) };

      const upload = postRaw(headers, [], { end: false });
      const answered = await within(upload.answer);
      const outcome = refusal(await outcomes.next());

      expect(upload.sent()).toBe(0);
      expectRefusal(answered, ErrorCode.FileTooLarge, undefined);
      expect(answered.error!.message).toContain('UPLOAD_MAX_TOTAL_BYTES');
      expect(outcome.bytesRead).toBeLessThan(1024);
    });

    it('reads a body whose declared Content-Length is exactly the total limit plus framing', async () => {
      const headers = { ...multipart, 'content-length': String(MAX_TOTAL_BYTES + FRAMING_ALLOWANCE) };
      const upload = postRaw(headers, [part('prompt', 'an otter')], { end: false });
      void upload.answer.catch(() => undefined);
      await sleep(SETTLE_MS);

      upload.abort();
      const outcome = refusal(await outcomes.next());

      // Not refused up front: the reader waited for the body until the client went away.
      expect(outcome.error.code).toBe(ErrorCode.ClientClosedRequest);
    });
  });

  describe('count and length limits', () => {
    it('refuses an 18th file', async () => {
      const form = new FormData();
      for (let i = 0; i < 17; i++) form.append('image[]', new Blob([Buffer.from([i])]), `${i}.png`);
      form.append('mask', new Blob([Buffer.from('m')]), 'mask.png');

      const answered = await post(form);

      expectRefusal(answered, ErrorCode.InvalidRequest, undefined);
      expect(answered.error!.message).toContain('at most 17 files');
    });

    it('refuses a 33rd field', async () => {
      const form = new FormData();
      for (let i = 0; i < 33; i++) form.append(`field${i}`, String(i));

      const answered = await post(form);

      expectRefusal(answered, ErrorCode.InvalidRequest, undefined);
      expect(answered.error!.message).toContain('at most 32 form fields');
    });

    it('refuses a field over 256 KiB, naming it', async () => {
      const form = new FormData();
      form.append('n', '1');
      form.append('prompt', 'x'.repeat(256 * 1024 + 1));

      expectRefusal(await post(form), ErrorCode.InvalidRequest, 'prompt');
    });
  });

  describe('malformed bodies', () => {
    it.each([
      ['multipart/form-data without a boundary', 'multipart/form-data'],
      ['a Content-Type that is not multipart', 'application/json'],
    ])('refuses %s as malformed', async (_what, contentType) => {
      const body = Buffer.concat([part('prompt', 'an otter'), CLOSING]);

      const answered = await postRaw({ 'content-type': contentType, 'content-length': String(body.length) }, [body])
        .answer;

      expectRefusal(answered, ErrorCode.InvalidRequest, undefined);
      expect(answered.error!.message).toContain('malformed');
    });

    it.each([
      ['a text field', [part('image', trickyBytes(100), 'a.png'), part('prompt', 'an otter in the snow')]],
      // Busboy raises this one on the file's own stream: unheard, it would crash the process.
      ['a file', [part('prompt', 'an otter in the snow'), part('image', trickyBytes(100), 'a.png')]],
    ])('refuses a body cut inside %s, before its closing boundary, as malformed', async (_what, parts) => {
      const body = Buffer.concat(parts);
      const cut = body.subarray(0, body.length - 10);

      const answered = await postRaw({ ...multipart, 'content-length': String(cut.length) }, [cut]).answer;

      expectRefusal(answered, ErrorCode.InvalidRequest, undefined);
      expect(answered.error!.message).toContain('malformed');
    });

    it('refuses a field or file name longer than 100 bytes (busboy does not check multipart names)', async () => {
      const field = new FormData();
      field.append('x'.repeat(101), 'value');
      const file = new FormData();
      file.append('y'.repeat(101), new Blob([trickyBytes(10)], { type: 'image/png' }), 'a.png');

      expectRefusal(await post(field), ErrorCode.InvalidRequest, undefined);
      expectRefusal(await post(file), ErrorCode.InvalidRequest, undefined);
    });
  });

  describe('a client that goes away', () => {
    it.each([
      ['with a Content-Length', { 'content-length': '3000' }],
      ['chunked', { 'transfer-encoding': 'chunked' }],
    ])('rejects with client_closed_request when the upload stops midway (%s)', async (_what, framing) => {
      const upload = postRaw({ ...multipart, ...framing }, [part('image', trickyBytes(500), 'a.png')], {
        end: false,
      });
      void upload.answer.catch(() => undefined);
      await sleep(SETTLE_MS);

      upload.abort();
      const outcome = refusal(await outcomes.next());

      expect(outcome.error.code).toBe(ErrorCode.ClientClosedRequest);
    });
  });
});
