import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { Agent, type Dispatcher, errors as undiciErrors, request } from 'undici';
import { ErrorCode } from '../common/errors/error-code.enum.js';
import { GatewayError } from '../common/errors/gateway.error.js';
import { RawJsonScanner } from '../common/json/raw-json.js';
import { ByteSpool } from '../common/spool/byte-spool.js';
import { AppConfig } from '../config/app.config.js';
import { MultipartBody } from './multipart-body.js';
import { type ParsedServerSentEvent, parseServerSentEvents, SseEventTooLargeError } from './sse-parser.js';

export type UpstreamHeaders = Record<string, string | string[] | undefined>;

/** The upstream answered with a non-2xx status. */
export class UpstreamHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: UpstreamHeaders,
  ) {
    super(`upstream answered HTTP ${status}`);
    this.name = 'UpstreamHttpError';
  }
}

/** No usable answer: connection failure, timeout, oversize or unparseable body. */
export class UpstreamTransportError extends Error {
  constructor(
    readonly reason: 'network' | 'timeout' | 'too_large' | 'malformed' | 'aborted',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'UpstreamTransportError';
  }
}

export interface UpstreamJsonRequest {
  url: string;
  headers: Record<string, string>;
  /** Sent as JSON, or as the form it is (an edit's images). */
  body: unknown;
  signal: AbortSignal;
  /**
   * Keys whose long string values (image base64) are kept as the bytes they arrived in
   * (`RawJsonString`) instead of being decoded, held by the `ByteSpool` as they stream in (in
   * memory, or in a temporary file in a burst), so they can be passed on without a copy per step.
   */
  rawStrings?: readonly string[];
}

export interface UpstreamJsonResponse<T> {
  status: number;
  headers: UpstreamHeaders;
  body: T;
}

/**
 * One attempt's abort signal: the client's, or the per-attempt timeout, whichever comes first.
 * (One controller and one timer: `AbortSignal.any` with `AbortSignal.timeout` costs several times
 * as much per request on Node 20.)
 */
class AttemptSignal {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private readonly onClientAbort = () => this.controller.abort(this.client.reason);
  timedOut = false;

  constructor(
    private readonly client: AbortSignal,
    timeoutMs: number,
  ) {
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.controller.abort(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    if (client.aborted) this.onClientAbort();
    else client.addEventListener('abort', this.onClientAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The deadline no longer applies (a stream's headers arrived); the client can still abort. */
  stopTimer(): void {
    clearTimeout(this.timer);
  }

  dispose(): void {
    this.stopTimer();
    this.client.removeEventListener('abort', this.onClientAbort);
  }
}

/**
 * JSON (or a multipart form) over HTTP to upstreams: pooled keep-alive connections, a per-attempt timeout
 * (`UPSTREAM_TIMEOUT_MS`), the caller's abort signal and a cap on the response size
 * (`MAX_RESPONSE_BYTES`). The body is parsed once.
 */
@Injectable()
export class UpstreamHttp implements OnApplicationShutdown {
  // No cap on connections per upstream: each is one request in flight, and those are bounded by the
  // requests Easel is serving (a cap would queue slow image requests behind each other).
  private readonly agent = new Agent({ keepAliveTimeout: 30_000, pipelining: 1 });

  constructor(
    private readonly config: AppConfig,
    private readonly spool: ByteSpool,
  ) {}

  async postJson<T>(call: UpstreamJsonRequest): Promise<UpstreamJsonResponse<T>> {
    const attempt = new AttemptSignal(call.signal, this.config.upstream.timeoutMs);
    try {
      const response = await this.send(call, 'application/json', attempt);
      if (response.statusCode < 200 || response.statusCode >= 300) {
        throw httpError(response, await this.readCapped(response.body, call.signal, attempt));
      }
      const scanner = new RawJsonScanner(call.rawStrings ?? [], this.spool);
      try {
        await this.readCapped(response.body, call.signal, attempt, (chunk) => holding(scanner.write(chunk)));
        return { status: response.statusCode, headers: response.headers, body: (await parsed(scanner, response)) as T };
      } catch (error) {
        scanner.discard();
        throw error;
      }
    } finally {
      attempt.dispose();
    }
  }

  /**
   * POSTs JSON and returns the response's server-sent events as they arrive. A non-2xx answer is
   * read whole and thrown as `UpstreamHttpError`; the per-attempt timeout covers the headers, and
   * an idle timeout of the same length covers the gaps between events. `MAX_RESPONSE_BYTES` caps
   * the whole stream and so any one event or unfinished line in it: past it the connection is
   * closed and the iteration throws `too_large`.
   */
  async postEventStream(call: UpstreamJsonRequest): Promise<AsyncIterable<ParsedServerSentEvent>> {
    const attempt = new AttemptSignal(call.signal, this.config.upstream.timeoutMs);
    let response: Dispatcher.ResponseData;
    try {
      response = await this.send(call, 'text/event-stream', attempt);
      if (response.statusCode < 200 || response.statusCode >= 300) {
        throw httpError(response, await this.readCapped(response.body, call.signal, attempt));
      }
    } catch (error) {
      attempt.dispose();
      throw error;
    }
    // From here on undici's bodyTimeout is the idle timeout between events.
    attempt.stopTimer();
    const limit = this.config.upstream.maxResponseBytes;
    const events = parseServerSentEvents(cappedStream(response.body, limit), { maxEventLength: limit });
    const self = this;
    return {
      async *[Symbol.asyncIterator]() {
        try {
          yield* events;
        } catch (error) {
          if (error instanceof UpstreamTransportError) throw error;
          if (error instanceof SseEventTooLargeError) {
            throw new UpstreamTransportError(
              'too_large',
              `an upstream event is larger than MAX_RESPONSE_BYTES (${limit} bytes)`,
              { cause: error },
            );
          }
          throw self.transportError(error, call.signal, attempt);
        } finally {
          attempt.dispose();
          response.body.destroy();
        }
      },
    };
  }

  private async send(
    call: UpstreamJsonRequest,
    accept: string,
    attempt: AttemptSignal,
  ): Promise<Dispatcher.ResponseData> {
    const form = call.body instanceof MultipartBody ? call.body : undefined;
    try {
      return await request(call.url, {
        method: 'POST',
        dispatcher: this.agent,
        headers: form
          ? { 'content-type': form.contentType, 'content-length': String(form.length), accept, ...call.headers }
          : { 'content-type': 'application/json', accept, ...call.headers },
        body: form ? form.stream() : JSON.stringify(call.body),
        signal: attempt.signal,
        headersTimeout: this.config.upstream.timeoutMs,
        bodyTimeout: this.config.upstream.timeoutMs,
      });
    } catch (error) {
      throw this.transportError(error, call.signal, attempt);
    }
  }

  /**
   * The body within `MAX_RESPONSE_BYTES`: whole, or handed to `consume` a chunk at a time (each
   * consumed before the next is read, so a slow consumer slows the upstream rather than piling up).
   */
  private async readCapped(
    body: AsyncIterable<Buffer> & { destroy(error?: Error): unknown },
    clientSignal: AbortSignal,
    attempt: AttemptSignal,
    consume?: (chunk: Buffer) => Promise<void>,
  ): Promise<Buffer> {
    const limit = this.config.upstream.maxResponseBytes;
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of body) {
        size += chunk.length;
        if (size > limit) {
          body.destroy();
          throw new UpstreamTransportError(
            'too_large',
            `the upstream response is larger than MAX_RESPONSE_BYTES (${limit} bytes)`,
          );
        }
        if (consume) await consume(chunk);
        else chunks.push(chunk);
      }
    } catch (error) {
      body.destroy();
      if (error instanceof UpstreamTransportError) throw error;
      if (error instanceof SpoolError && !clientSignal.aborted) throw spoolFailure(error);
      throw this.transportError(error, clientSignal, attempt);
    }
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
  }

  private transportError(error: unknown, clientSignal: AbortSignal, attempt: AttemptSignal): UpstreamTransportError {
    if (clientSignal.aborted) return new UpstreamTransportError('aborted', 'the client went away', { cause: error });
    if (
      attempt.timedOut ||
      error instanceof undiciErrors.HeadersTimeoutError ||
      error instanceof undiciErrors.BodyTimeoutError
    ) {
      return new UpstreamTransportError('timeout', `no answer within ${this.config.upstream.timeoutMs} ms`, {
        cause: error,
      });
    }
    const code = (error as { code?: string }).code;
    return new UpstreamTransportError('network', `network error talking to the upstream${code ? ` (${code})` : ''}`, {
      cause: error,
    });
  }

  /** Requests in flight have drained by now (HttpDrain); nothing left is worth waiting for. */
  async onApplicationShutdown(): Promise<void> {
    await this.agent.destroy();
  }
}

/** The chunks of a stream, until they add up to more than `limit` bytes. */
async function* cappedStream(body: AsyncIterable<Buffer>, limit: number): AsyncGenerator<Buffer> {
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit)
      throw new UpstreamTransportError(
        'too_large',
        `the upstream stream is larger than MAX_RESPONSE_BYTES (${limit} bytes)`,
      );
    yield chunk;
  }
}

/** Easel could not hold what the upstream sent (its spool's disk): not the upstream's fault. */
class SpoolError extends Error {
  constructor(cause: unknown) {
    super(`the upstream's answer could not be held: ${String(cause)}`, { cause });
  }
}

async function holding(write: Promise<void>): Promise<void> {
  try {
    await write;
  } catch (error) {
    throw new SpoolError(error);
  }
}

/**
 * 503 `overloaded`: the answer arrived but Easel has no room to hold it (a full or broken
 * `EASEL_DATA_DIR/spool`). Not an upstream fault, so no route is tried again and no circuit counts it.
 */
function spoolFailure(error: SpoolError): GatewayError {
  return new GatewayError(
    ErrorCode.Overloaded,
    "Easel could not hold the upstream's answer (its spool directory failed); retry later.",
    { cause: error, headers: { 'retry-after': '5' } },
  );
}

/** The scanned document; a body that is not JSON (or that JSON.parse cannot take) is `malformed`. */
async function parsed(scanner: RawJsonScanner, response: Dispatcher.ResponseData): Promise<unknown> {
  try {
    return await scanner.end();
  } catch (error) {
    throw new UpstreamTransportError(
      'malformed',
      `upstream answered HTTP ${response.statusCode} with a body that is not JSON`,
      { cause: error },
    );
  }
}

/** A non-2xx answer, with its body parsed when it is JSON (the error mapper reads codes from it). */
function httpError(response: Dispatcher.ResponseData, bytes: Buffer): UpstreamHttpError {
  const text = bytes.toString('utf8');
  return new UpstreamHttpError(response.statusCode, parseJson(text) ?? text.slice(0, 2000), response.headers);
}

function parseJson(text: string): unknown {
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
