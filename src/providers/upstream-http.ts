import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { Agent, errors as undiciErrors, request } from 'undici';
import { AppConfig } from '../config/app.config.js';
import { parseServerSentEvents } from './sse-parser.js';

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
  body: unknown;
  signal: AbortSignal;
}

export interface UpstreamJsonResponse<T> {
  status: number;
  headers: UpstreamHeaders;
  body: T;
}

/**
 * JSON over HTTP to upstreams: pooled keep-alive connections, a per-attempt timeout
 * (`UPSTREAM_TIMEOUT_MS`), the caller's abort signal and a cap on the response size
 * (`MAX_RESPONSE_BYTES`). The body is parsed once.
 */
@Injectable()
export class UpstreamHttp implements OnApplicationShutdown {
  private readonly agent = new Agent({ keepAliveTimeout: 30_000, connections: 512, pipelining: 1 });

  constructor(private readonly config: AppConfig) {}

  async postJson<T>(call: UpstreamJsonRequest): Promise<UpstreamJsonResponse<T>> {
    const timeout = AbortSignal.timeout(this.config.upstream.timeoutMs);
    const signal = AbortSignal.any([call.signal, timeout]);
    let response: Awaited<ReturnType<typeof request>>;
    try {
      response = await request(call.url, {
        method: 'POST',
        dispatcher: this.agent,
        headers: { 'content-type': 'application/json', accept: 'application/json', ...call.headers },
        body: JSON.stringify(call.body),
        signal,
        headersTimeout: this.config.upstream.timeoutMs,
        bodyTimeout: this.config.upstream.timeoutMs,
      });
    } catch (error) {
      throw this.transportError(error, call.signal, timeout);
    }
    const text = await this.readCapped(response.body, call.signal, timeout);
    const body = parseJson(text);
    if (response.statusCode < 200 || response.statusCode >= 300) {
      throw new UpstreamHttpError(response.statusCode, body ?? text.slice(0, 2000), response.headers);
    }
    if (body === undefined) {
      throw new UpstreamTransportError('malformed', `upstream answered HTTP ${response.statusCode} with a body that is not JSON`);
    }
    return { status: response.statusCode, headers: response.headers, body: body as T };
  }

  /**
   * POSTs JSON and returns the response's server-sent events as they arrive. A non-2xx answer is
   * read whole and thrown as `UpstreamHttpError`; the per-attempt timeout covers the headers, and
   * an idle timeout of the same length covers the gaps between events.
   */
  async postEventStream(call: UpstreamJsonRequest): Promise<AsyncIterable<{ event?: string; data: string }>> {
    const timeout = AbortSignal.timeout(this.config.upstream.timeoutMs);
    let response: Awaited<ReturnType<typeof request>>;
    try {
      response = await request(call.url, {
        method: 'POST',
        dispatcher: this.agent,
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...call.headers },
        body: JSON.stringify(call.body),
        signal: AbortSignal.any([call.signal, timeout]),
        headersTimeout: this.config.upstream.timeoutMs,
        bodyTimeout: this.config.upstream.timeoutMs,
      });
    } catch (error) {
      throw this.transportError(error, call.signal, timeout);
    }
    if (response.statusCode < 200 || response.statusCode >= 300) {
      const text = await this.readCapped(response.body, call.signal, timeout);
      throw new UpstreamHttpError(response.statusCode, parseJson(text) ?? text.slice(0, 2000), response.headers);
    }
    const events = parseServerSentEvents(response.body);
    const self = this;
    return {
      async *[Symbol.asyncIterator]() {
        try {
          yield* events;
        } catch (error) {
          throw self.transportError(error, call.signal, timeout);
        } finally {
          response.body.destroy();
        }
      },
    };
  }

  private async readCapped(
    body: AsyncIterable<Buffer> & { destroy(error?: Error): unknown },
    clientSignal: AbortSignal,
    timeout: AbortSignal,
  ): Promise<string> {
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
        chunks.push(chunk);
      }
    } catch (error) {
      if (error instanceof UpstreamTransportError) throw error;
      throw this.transportError(error, clientSignal, timeout);
    }
    return Buffer.concat(chunks, size).toString('utf8');
  }

  private transportError(error: unknown, clientSignal: AbortSignal, timeout: AbortSignal): UpstreamTransportError {
    if (clientSignal.aborted) return new UpstreamTransportError('aborted', 'the client went away', { cause: error });
    if (timeout.aborted || error instanceof undiciErrors.HeadersTimeoutError || error instanceof undiciErrors.BodyTimeoutError) {
      return new UpstreamTransportError('timeout', `no answer within ${this.config.upstream.timeoutMs} ms`, { cause: error });
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

function parseJson(text: string): unknown {
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
