import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { type FormPart, isMultipartFormData, parseMultipartForm } from './multipart-form.js';

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /**
   * The parsed JSON, else the body as UTF-8 text; `undefined` when empty or when it is
   * `multipart/form-data` (binary parts do not survive a text decoding: see `form`).
   */
  body: unknown;
  /** The body's bytes exactly as received. */
  rawBody: Buffer;
  /**
   * The parts of a `multipart/form-data` body, in wire order; `undefined` for any other body and
   * for one that does not parse (no boundary, malformed), which a fake then refuses.
   */
  form?: FormPart[];
}

export interface ScriptedResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Raw text or bytes instead of JSON (malformed bodies, images). */
  raw?: string | Buffer;
  /** Wait before answering (no longer than the client does). */
  delayMs?: number;
  /** Drop the connection without answering (a reset). */
  reset?: boolean;
  /**
   * Server-sent events instead of a body: answered with `content-type: text/event-stream` (unless
   * `headers` say otherwise) and each string written verbatim as one chunk, so it must carry its
   * own framing (e.g. `data: {...}\r\n\r\n`). `intervalMs` waits between chunks (default 0);
   * `failAfter: k` destroys the connection after the first k chunks (all of them if k is larger)
   * instead of ending the response: a mid-stream upstream failure. Without it the response ends
   * normally after the last chunk.
   */
  stream?: { events: string[]; failAfter?: number; intervalMs?: number };
}

/**
 * A real HTTP server on a loopback port that records every request, answers scripted responses
 * first, and otherwise lets the concrete fake decide. Unexpected routes are recorded and get 404.
 */
export abstract class FakeHttpServer {
  readonly requests: RecordedRequest[] = [];
  readonly unexpected: string[] = [];
  /** Responses whose connection closed before they were complete (the client gave up). */
  abortedResponses = 0;
  /** A delay for the normal (unscripted) answers, to make the upstream slow. */
  responseDelayMs = 0;
  private readonly script: ScriptedResponse[] = [];
  private server?: Server;

  get baseUrl(): string {
    const address = this.server?.address() as AddressInfo | undefined;
    if (!address) throw new Error('fake server not started');
    return `http://127.0.0.1:${address.port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((request, response) => void this.handle(request, response));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  /** The next request(s) get these responses, in order, before normal behaviour resumes. */
  enqueue(...responses: ScriptedResponse[]): void {
    this.script.push(...responses);
  }

  reset(): void {
    this.responseDelayMs = 0;
    this.requests.length = 0;
    this.unexpected.length = 0;
    this.script.length = 0;
  }

  protected abstract respond(
    request: RecordedRequest,
  ): Promise<ScriptedResponse | undefined> | ScriptedResponse | undefined;

  /** Lets a concrete fake adapt an `enqueue()`d response to the request it answers (default: as is). */
  protected adaptScripted(_request: RecordedRequest, scripted: ScriptedResponse): ScriptedResponse {
    return scripted;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks);
    const url = new URL(request.url ?? '/', 'http://fake');
    const recorded: RecordedRequest = {
      method: request.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: request.headers,
      body: undefined,
      rawBody,
    };
    const contentType = request.headers['content-type'];
    if (isMultipartFormData(contentType)) {
      recorded.form = await parseMultipartForm(contentType, rawBody).catch(() => undefined);
    } else {
      recorded.body = parseBody(rawBody);
    }
    this.requests.push(recorded);
    response.once('close', () => {
      if (!response.writableFinished) this.abortedResponses++;
    });
    const scripted = this.script.shift();
    const answer = scripted ? this.adaptScripted(recorded, scripted) : await this.respond(recorded);
    if (!answer) {
      this.unexpected.push(`${recorded.method} ${recorded.path}`);
      return send(response, { status: 404, body: { error: { code: '404', message: 'Resource not found' } } });
    }
    const delayMs = answer.delayMs ?? (scripted ? 0 : this.responseDelayMs);
    if (delayMs) await closedOrElapsed(response, delayMs);
    if (answer.reset) {
      request.socket.destroy();
      return;
    }
    if (answer.stream) return sendStream(response, answer, answer.stream);
    send(response, answer);
  }
}

/** The parsed JSON, else the UTF-8 text (the fake decides what to do with it), `undefined` when empty. */
function parseBody(rawBody: Buffer): unknown {
  const text = rawBody.toString('utf8');
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

async function sendStream(
  response: ServerResponse,
  answer: ScriptedResponse,
  stream: NonNullable<ScriptedResponse['stream']>,
): Promise<void> {
  if (response.destroyed) return;
  response.writeHead(answer.status, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    ...answer.headers,
  });
  response.flushHeaders();
  const count = Math.min(stream.failAfter ?? Infinity, stream.events.length);
  for (let index = 0; index < count; index++) {
    if (index > 0 && stream.intervalMs) await new Promise((resolve) => setTimeout(resolve, stream.intervalMs));
    if (response.destroyed) return;
    // Wait until the chunk is handed to the socket, so a following destroy cannot swallow it.
    await new Promise<void>((resolve) => {
      response.once('close', resolve);
      response.write(stream.events[index]!, () => {
        response.off('close', resolve);
        resolve();
      });
    });
  }
  if (response.destroyed) return;
  if (stream.failAfter === undefined) {
    response.end();
    return;
  }
  await new Promise((resolve) => setTimeout(resolve, 10));
  response.socket?.destroy();
  response.destroy();
}

/** Resolves after `ms`, or as soon as the response closes (the client gave up): no timer outlives the request. */
function closedOrElapsed(response: ServerResponse, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      response.off('close', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    response.once('close', done);
  });
}

function send(response: ServerResponse, answer: ScriptedResponse): void {
  if (response.destroyed) return;
  const payload = answer.raw ?? (answer.body === undefined ? '' : JSON.stringify(answer.body));
  response.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
  response.end(payload);
}
