import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { get as httpGet, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { ErrorCode } from '../errors/error-code.enum.js';
import { GatewayError } from '../errors/gateway.error.js';
import { concatJsonText, parseJsonKeepingRaw, type RawJsonString, stringifyJson } from '../json/raw-json.js';
import { RequestContext } from './request-context.js';
import {
  easelStreamOptions,
  errorEventData,
  type EventStreamOptions,
  sendEventStream,
  type ServerSentEvent,
} from './sse.js';

/** Yields `items`, then fails with `failure` when one is given (at once when there are no items). */
async function* eventsThenFailure(items: ServerSentEvent[], failure?: Error): AsyncGenerator<ServerSentEvent> {
  for (const item of items) yield item;
  if (failure !== undefined) throw failure;
}

/** Options that say nothing of their own: plain events, a plain error event, no trailers. */
const plainOptions = (): EventStreamOptions => ({
  headers: {},
  errorEvent: (error) => `failed: ${(error as Error).message}`,
});

/** Opens a GET on its own connection (no pooling, so nothing outlives the test). */
function open(url: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => httpGet(url, { agent: false }, resolve).on('error', reject));
}

/** The whole response, trailers included. */
async function fetchAll(
  url: string,
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string; trailers: NodeJS.Dict<string> }> {
  const response = await open(url);
  response.setEncoding('utf8');
  let body = '';
  for await (const chunk of response) body += chunk as string;
  return { status: response.statusCode!, headers: response.headers, body, trailers: response.trailers };
}

/** `text` (plain ASCII) as a raw JSON string, a slice of a JSON body. */
function rawOf(text: string): RawJsonString {
  return (parseJsonKeepingRaw(Buffer.from(`{"raw":"${text}"}`), ['raw']) as { raw: RawJsonString }).raw;
}

/** Resolves once `read()` has not changed for `quietMs`: the writer has stopped pulling. */
async function steady(read: () => number, quietMs = 300): Promise<number> {
  let last = read();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, quietMs));
    const now = read();
    if (now === last) return now;
    last = now;
  }
}

describe(sendEventStream.name, () => {
  let server: FastifyInstance | undefined;

  /** A real Fastify app on a loopback port whose one route is `handler`; its URL. */
  const serve = async (handler: (reply: FastifyReply) => Promise<unknown>): Promise<string> => {
    server = Fastify();
    server.get('/stream', (_request, reply) => handler(reply));
    await server.listen({ port: 0, host: '127.0.0.1' });
    return `http://127.0.0.1:${(server.server.address() as AddressInfo).port}/stream`;
  };

  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('awaits the first event before it writes anything: a source failing at once rejects, and the caller still answers JSON', async () => {
    const failure = new GatewayError(ErrorCode.UpstreamError, 'Azure OpenAI answered 401.');
    let rejection: unknown;
    const url = await serve(async (reply) => {
      try {
        await sendEventStream(reply, eventsThenFailure([], failure), plainOptions());
      } catch (error) {
        rejection = error;
        return reply.code(502).send({ error: { message: (error as Error).message } });
      }
    });

    const response = await fetchAll(url);

    expect(rejection).toBe(failure);
    expect(response.status).toBe(502);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(response.body)).toEqual({ error: { message: 'Azure OpenAI answered 401.' } });
  });

  it('frames bare events as data: and named ones as event: + data:, with the stream headers and those set on the reply before', async () => {
    const url = await serve(async (reply) => {
      reply.header('x-ratelimit-remaining', '7');
      await sendEventStream(
        reply,
        eventsThenFailure(['{"n":1}', { event: 'image_generation.completed', data: '{"n":2}' }, '[DONE]']),
        { ...plainOptions(), headers: { 'x-request-id': 'req_frames' } },
      );
    });

    const response = await fetchAll(url);

    expect(response.status).toBe(200);
    expect(response.body).toBe('data: {"n":1}\n\nevent: image_generation.completed\ndata: {"n":2}\n\ndata: [DONE]\n\n');
    expect(response.headers).toMatchObject({
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
      'x-request-id': 'req_frames',
      'x-ratelimit-remaining': '7',
    });
    expect(response.headers.trailer).toBeUndefined();
  });

  it('writes JSON with raw strings in it as the bytes those came in, bare and named, among plain events', async () => {
    const image = randomBytes(300_000).toString('base64');
    const upstream = Buffer.from(`{"inlineData":{"mimeType":"image/png","data":"${image}"}}`);
    const raw = (parseJsonKeepingRaw(upstream, ['data']) as { inlineData: { data: RawJsonString } }).inlineData.data;
    const chunk = { delta: { images: [{ image_url: { url: concatJsonText('data:image/png;base64,', raw) } }] } };
    const named = { type: 'image_generation.completed', b64_json: raw, size: '1024x1024' };
    const url = await serve(async (reply) => {
      await sendEventStream(
        reply,
        eventsThenFailure([
          '{"n":1}',
          stringifyJson(chunk),
          { event: 'image_generation.completed', data: stringifyJson(named) },
          '[DONE]',
        ]),
        plainOptions(),
      );
    });

    const response = await fetchAll(url);

    expect(response.body).toBe(
      'data: {"n":1}\n\n' +
        `data: {"delta":{"images":[{"image_url":{"url":"data:image/png;base64,${image}"}}]}}\n\n` +
        `event: image_generation.completed\ndata: {"type":"image_generation.completed","b64_json":"${image}","size":"1024x1024"}\n\n` +
        'data: [DONE]\n\n',
    );
  });

  it.each([
    ['text', (event: string): ServerSentEvent => event],
    ['JSON with raw bytes', (event: string): ServerSentEvent => stringifyJson({ raw: rawOf(event) })],
  ])(
    'honours back-pressure (%s): pulls no further event while the client reads nothing, and goes on once it drains',
    async (_kind, eventOf) => {
      const total = 64;
      const text = 'x'.repeat(1024 * 1024);
      const event = eventOf(text);
      const frame = typeof event === 'string' ? `data: ${event}\n\n` : `data: {"raw":"${text}"}\n\n`;
      let pulled = 0;
      let sent: Promise<void> | undefined;
      async function* large(): AsyncGenerator<ServerSentEvent> {
        for (let index = 0; index < total; index++) {
          pulled++;
          yield event;
        }
      }
      const url = await serve(async (reply) => {
        sent = sendEventStream(reply, large(), plainOptions());
        await sent;
      });

      const response = await open(url);
      response.pause();

      // 64 MiB do not fit in the socket buffers: the writer must stop and wait for 'drain'.
      expect(await steady(() => pulled)).toBeLessThan(total);
      let received = 0;
      response.on('data', (chunk: Buffer) => (received += chunk.length));
      response.resume();
      await once(response, 'end');
      await expect(sent).resolves.toBeUndefined();
      expect(pulled).toBe(total);
      expect(received).toBe(total * frame.length);
    },
  );

  it('ends the stream with the error event, and a complete response, when the source fails after its first event', async () => {
    let context: RequestContext | undefined;
    const url = await serve(async (reply) => {
      context = new RequestContext('req_midway', reply);
      const failure = new GatewayError(ErrorCode.UpstreamError, 'Vertex AI broke off the stream.');
      await sendEventStream(
        reply,
        eventsThenFailure(['{"n":1}'], failure),
        easelStreamOptions(context, (data) => ({ event: 'error', data })),
      );
    });

    const response = await fetchAll(url);

    const error = {
      message: 'Vertex AI broke off the stream.',
      type: 'upstream_error',
      param: null,
      code: 'upstream_error',
    };
    expect(response.status).toBe(200);
    expect(response.body).toBe(`data: {"n":1}\n\nevent: error\ndata: ${JSON.stringify({ error })}\n\n`);
    expect(response.headers['x-request-id']).toBe('req_midway');
    expect(context!.errorCode).toBe('upstream_error');
  });

  it('closes the source (iterator.return) when the client goes away while the writer waits, and resolves', async () => {
    const event = 'x'.repeat(1024 * 1024);
    let pulled = 0;
    let returned = 0;
    let sent: Promise<void> | undefined;
    const endless: AsyncIterable<ServerSentEvent> = {
      [Symbol.asyncIterator]: () => ({
        next: async () => {
          pulled++;
          return { done: false, value: event };
        },
        return: async () => {
          returned++;
          return { done: true, value: undefined };
        },
      }),
    };
    const url = await serve(async (reply) => {
      sent = sendEventStream(reply, endless, plainOptions());
      await sent;
    });

    const response = await open(url);
    response.pause();
    const before = await steady(() => pulled);
    response.destroy();

    await expect(sent).resolves.toBeUndefined();
    expect(returned).toBe(1);
    expect(pulled).toBe(before);
  });

  it('ends, closing the source, when the client goes away while the writer waits for the next event', async () => {
    let returned = 0;
    let sent: Promise<void> | undefined;
    let release: (() => void) | undefined;
    const waiting = new Promise<void>((resolve) => (release = resolve));
    let clientGone: Promise<unknown> | undefined;
    const slow: AsyncIterable<ServerSentEvent> = {
      [Symbol.asyncIterator]: () => {
        let pulled = 0;
        return {
          next: async () => {
            if (pulled++ === 0) return { done: false, value: 'first' };
            // The second event arrives only after the client has gone (an upstream answers late).
            release!();
            await clientGone;
            return { done: false, value: 'late' };
          },
          return: async () => {
            returned++;
            return { done: true, value: undefined };
          },
        };
      },
    };
    const url = await serve(async (reply) => {
      clientGone = once(reply.raw, 'close');
      sent = sendEventStream(reply, slow, plainOptions());
      await sent;
    });

    const response = await open(url);
    await waiting;
    response.destroy();

    await expect(sent).resolves.toBeUndefined();
    expect(returned).toBe(1);
  });

  it('sends the trailers after the last event, computed only then (the cost is known at the end)', async () => {
    const url = await serve(async (reply) => {
      const context = new RequestContext('req_trailers', reply);
      async function* costing(): AsyncGenerator<ServerSentEvent> {
        yield '{"n":1}';
        context.usage.cost = 38_718_100_000n;
        yield '[DONE]';
      }
      await sendEventStream(
        reply,
        costing(),
        easelStreamOptions(context, (data) => data),
      );
    });

    const response = await fetchAll(url);

    expect(response.headers).toMatchObject({
      trailer: 'x-easel-cost-usd',
      'transfer-encoding': 'chunked',
      'x-request-id': 'req_trailers',
    });
    expect(response.body).toBe('data: {"n":1}\n\ndata: [DONE]\n\n');
    expect(response.trailers).toEqual({ 'x-easel-cost-usd': '0.0387181' });
  });
});

describe(errorEventData.name, () => {
  let server: FastifyInstance | undefined;

  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  /** A RequestContext on a real reply, from a request made to a real Fastify app. */
  const withContext = async <T>(work: (context: RequestContext) => T): Promise<T> => {
    let result: T | undefined;
    server = Fastify();
    server.get('/', (request, reply) => {
      result = work(new RequestContext(request.id, reply));
      return reply.send({});
    });
    await server.listen({ port: 0, host: '127.0.0.1' });
    await fetchAll(`http://127.0.0.1:${(server.server.address() as AddressInfo).port}/`);
    return result!;
  };

  it("is OpenAI's error object, and notes the code for the usage record", async () => {
    const { data, errorCode } = await withContext((context) => ({
      data: errorEventData(
        new GatewayError(ErrorCode.ContentPolicyViolation, 'The image was refused.', { param: 'prompt' }),
        context,
      ),
      errorCode: context.errorCode,
    }));

    expect(JSON.parse(data)).toEqual({
      error: {
        message: 'The image was refused.',
        type: 'invalid_request_error',
        param: 'prompt',
        code: 'content_policy_violation',
      },
    });
    expect(errorCode).toBe('content_policy_violation');
  });
});
