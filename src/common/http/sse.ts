import type { OutgoingHttpHeaders } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { toErrorResponse } from '../errors/openai-error.filter.js';
import { SplicedJson } from '../json/raw-json.js';
import type { RequestContext } from './request-context.js';

/**
 * An event's `data`: text, or JSON whose raw strings (image base64) are written as the bytes they
 * arrived in (`stringifyJson`). Either holds no line end.
 */
export type EventData = string | SplicedJson;

/** One server-sent event: bare `data`, or a named event. */
export type ServerSentEvent = EventData | { event: string; data: EventData };

/** Pieces below this size are copied into one buffer with their neighbours; larger ones go out as they are. */
const COALESCE_BYTES = 16 * 1024;

export interface EventStreamOptions {
  /** Response headers besides the SSE ones and those already set on the reply. */
  headers: Record<string, string>;
  /** The last event when the source fails mid-stream (an OpenAI error object). */
  errorEvent: (error: unknown) => ServerSentEvent;
  /** HTTP trailers sent after the last event (the cost is only known then). */
  trailers?: () => Record<string, string>;
}

/**
 * Writes `data:` events to the client as the source yields them, honouring back-pressure. The
 * first event is awaited before anything is written, so failures that happen before any output
 * (bad upstream credentials, a 429) still reach the client as an ordinary JSON error response.
 * A failure later ends the stream with an error event, never a hang; the source is closed when the
 * client goes away.
 */
export async function sendEventStream(
  reply: FastifyReply,
  source: AsyncIterable<ServerSentEvent>,
  options: EventStreamOptions,
): Promise<void> {
  const iterator = source[Symbol.asyncIterator]();
  const first = await iterator.next();
  // Fastify's onSend hooks do not run for a hijacked reply: the headers set on it so far (request
  // id, security headers, x-ratelimit-*, deprecation, CORS) are written here with the stream's own.
  const headers = reply.getHeaders() as OutgoingHttpHeaders;
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    ...headers,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    ...(options.trailers ? { trailer: Object.keys(options.trailers()).join(', ') } : {}),
    ...options.headers,
  });
  const write = async (event: ServerSentEvent): Promise<void> => {
    // A response already closed takes no frame and will never emit 'drain' or 'close' again.
    if (raw.destroyed) return;
    const frame = frameOf(event);
    let flowing = true;
    if (typeof frame === 'string') flowing = raw.write(frame);
    // The pieces one after another: the image data goes to the socket without being copied. (Not
    // corked: on Node 24 a corked response that write() reports full may never emit 'drain'.)
    else for (const piece of frame) flowing = raw.write(piece) && flowing;
    if (!flowing) {
      await new Promise<void>((resolve) => {
        const done = () => {
          raw.off('drain', done);
          raw.off('close', done);
          resolve();
        };
        raw.once('drain', done);
        raw.once('close', done);
      });
    }
  };
  try {
    if (!first.done) await write(first.value);
    while (!raw.destroyed) {
      const next = await iterator.next();
      if (next.done) break;
      await write(next.value);
    }
  } catch (error) {
    if (!raw.destroyed) await write(options.errorEvent(error));
  } finally {
    if (raw.destroyed) await iterator.return?.().catch(() => undefined);
    else if (options.trailers) raw.addTrailers(options.trailers());
    streamEnding.get(reply.request)?.();
    raw.end();
  }
}

/** The frame's text, or for spliced JSON its pieces (small ones joined). */
function frameOf(event: ServerSentEvent): string | Buffer[] {
  const named = typeof event === 'object' && !(event instanceof SplicedJson);
  const head = named ? `event: ${event.event}\ndata: ` : 'data: ';
  const data = named ? event.data : event;
  if (typeof data === 'string') return `${head}${data}\n\n`;
  const frame: Buffer[] = [];
  let small: Buffer[] = [Buffer.from(head, 'utf8')];
  for (const piece of [...data.inMemory(), Buffer.from('\n\n')]) {
    if (piece.length < COALESCE_BYTES) small.push(piece);
    else {
      frame.push(Buffer.concat(small), piece);
      small = [];
    }
  }
  frame.push(Buffer.concat(small));
  return frame.filter((piece) => piece.length > 0);
}

const streamEnding = new WeakMap<FastifyRequest, () => void>();

/**
 * Runs `callback` right before the last byte of this request's event stream is written
 * (`RequestLifecycle` reports the request finished there, so its usage record is journaled before
 * the response completes and a crash after that loses nothing).
 */
export function beforeStreamEnds(request: FastifyRequest, callback: () => void): void {
  streamEnding.set(request, callback);
}

/** What every Easel stream sends besides its events: the request id, and the cost as a trailer. */
export function easelStreamOptions(
  context: RequestContext,
  errorEvent: (data: string) => ServerSentEvent,
): EventStreamOptions {
  return {
    headers: { 'x-request-id': context.requestId },
    trailers: () => ({ 'x-easel-cost-usd': context.costUsd }),
    errorEvent: (error) => errorEvent(errorEventData(error, context)),
  };
}

/** A generation's answer both ways: whole, as JSON, or as server-sent events. */
export interface StreamableAnswer<T> {
  json: () => Promise<T>;
  events: () => AsyncIterable<ServerSentEvent>;
  /** The last event when the stream fails after it began, from the error's `data` (see `easelStreamOptions`). */
  errorEvent: (data: string) => ServerSentEvent;
}

/**
 * The answer of a route that streams on request: the JSON, or with `stream: true` the events
 * written to the reply (`sendEventStream` takes it over; the handler then has nothing to return).
 */
export async function jsonOrEventStream<T>(
  stream: boolean | undefined,
  context: RequestContext,
  answer: StreamableAnswer<T>,
): Promise<T | undefined> {
  if (!stream) return answer.json();
  await sendEventStream(context.reply, answer.events(), easelStreamOptions(context, answer.errorEvent));
  return undefined;
}

/** The `data` of an error event: OpenAI's error object, and the code noted for the usage record. */
export function errorEventData(error: unknown, context: RequestContext): string {
  const response = toErrorResponse(error, context.requestId);
  context.errorCode = response.body.error.code ?? undefined;
  return JSON.stringify(response.body);
}
