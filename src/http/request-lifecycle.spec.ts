import { once } from 'node:events';
import { get as httpGet, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import Fastify, { type FastifyInstance } from 'fastify';
import type { ApiKeyResolver } from '../auth/api-key.resolver.js';
import type { Principal } from '../auth/principal.js';
import { sendError, toErrorResponse } from '../common/errors/openai-error.filter.js';
import { requestIdOf } from '../common/http/client-errors.js';
import { HttpDrain } from '../common/http/http-drain.js';
import { type EaselRequest, type RequestContext, requestContextOf } from '../common/http/request-context.js';
import { AppConfig } from '../config/app.config.js';
import type { RequestLogListener } from '../logging/request-log.listener.js';
import type { RequestMetricsListener } from '../metrics/request-metrics.listener.js';
import type { UsageRecordListener } from '../usage/usage-record.listener.js';
import { InFlightBytes } from './in-flight-bytes.js';
import { RequestLifecycle } from './request-lifecycle.js';
import type { RequestListener, RequestOutcome } from './request-listener.js';

const PRINCIPAL = { keyId: 'key-1', prefix: 'sk-easel-abc', team: 'default', isAdmin: false } as Principal;

/** Notes every moment it is told, as `<name> <moment> <status>`. */
class RecordingListener implements RequestListener {
  constructor(
    private readonly name: string,
    private readonly seen: string[],
    private readonly fail = false,
  ) {}

  requestFinished(finished: RequestOutcome): void {
    this.seen.push(`${this.name} finished ${finished.status}`);
    if (this.fail) throw new Error(`${this.name} broke`);
  }

  connectionClosed(closed: RequestOutcome): void {
    this.seen.push(`${this.name} closed ${closed.status}`);
  }
}

/** Resolves once `check()` is true (polled), or fails after a second. */
async function until(check: () => boolean): Promise<void> {
  for (let waited = 0; !check(); waited += 10) {
    if (waited > 1_000) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Opens a GET on its own connection (no pooling, so the connection closes with the response). */
function open(url: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => httpGet(url, { agent: false }, resolve).on('error', reject));
}

describe(RequestLifecycle.name, () => {
  let server: FastifyInstance;
  let seen: string[];
  let drain: HttpDrain;
  let url: string;
  /** Resolves the slow route's answer. */
  let answerSlow: () => void;
  let slowContext: RequestContext | undefined;
  /** The slow route's answer holds 1000 bytes of it. */
  let inFlight: InFlightBytes;

  const start = async (options: { failingUsage?: boolean } = {}): Promise<void> => {
    seen = [];
    drain = new HttpDrain();
    inFlight = new InFlightBytes(AppConfig.fromEnv({}));
    const admission = { admit: async (request: EaselRequest) => void (request.principal = PRINCIPAL) };
    const sut = new RequestLifecycle(
      AppConfig.fromEnv({}),
      admission as unknown as ApiKeyResolver,
      drain,
      new RecordingListener('usage', seen, options.failingUsage) as unknown as UsageRecordListener,
      new RecordingListener('metrics', seen) as unknown as RequestMetricsListener,
      new RecordingListener('log', seen) as unknown as RequestLogListener,
      inFlight,
    );
    server = Fastify({ requestIdHeader: false, genReqId: (request) => requestIdOf(request) });
    server.setErrorHandler((error, request, reply) => sendError(reply, toErrorResponse(error, request.id)));
    sut.register(server);
    server.get('/v1/models', async () => ({ object: 'list', data: [] }));
    // Answers when the test says, or when its signal aborts; `outlives` goes on after its client.
    server.get('/v1/models/:id', async (request, reply) => {
      const { id } = request.params as { id: string };
      const context = requestContextOf(request, reply);
      const answered = new Promise<void>((resolve) => (answerSlow = resolve));
      if (id === 'outlives') context.outliveClient(answered);
      inFlight.admit(context, 1000);
      slowContext = context;
      await Promise.race([answered, once(context.signal, 'abort')]);
      return { id };
    });
    // 64 MiB: far more than the sockets between server and client buffer.
    server.get('/v1/models/large', async (request, reply) => {
      inFlight.admit(requestContextOf(request, reply), 1000);
      return Buffer.alloc(64 * 1024 * 1024);
    });
    await server.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
  };

  /** Opens a GET of a slow route and, once the route holds the request, leaves (closes the connection) unanswered. */
  const leaveBeforeAnswer = async (path: string): Promise<void> => {
    const request = httpGet(`${url}${path}`, { agent: false });
    request.on('error', () => undefined);
    await until(() => slowContext !== undefined);
    request.destroy();
  };

  afterEach(async () => {
    await server.close();
    slowContext = undefined;
    jest.restoreAllMocks();
  });

  it('finishes a request, then closes it with its connection, telling its listeners in order', async () => {
    await start();

    const response = await fetch(`${url}/v1/models`, { headers: { 'x-request-id': 'req-order' } });
    await response.text();
    await until(() => seen.length === 6);

    expect(response.headers.get('x-request-id')).toBe('req-order');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-easel-cost-usd')).toBe('0');
    expect(seen).toEqual([
      'usage finished 200',
      'metrics finished 200',
      'log finished 200',
      'usage closed 200',
      'metrics closed 200',
      'log closed 200',
    ]);
  });

  it('logs a listener that throws and still tells the others', async () => {
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    await start({ failingUsage: true });

    expect((await fetch(`${url}/v1/models`, { headers: { 'x-request-id': 'req-broken' } })).status).toBe(200);
    await until(() => seen.length === 6);

    expect(seen).toContain('metrics finished 200');
    expect(seen).toContain('log closed 200');
    expect(logged).toHaveBeenCalledWith(
      'RecordingListener.requestFinished failed for request req-broken',
      expect.stringContaining('usage broke'),
    );
  });

  it('reports a client that leaves before its answer as 499, and aborts its signal', async () => {
    await start();

    await leaveBeforeAnswer('/v1/models/slow');
    await until(() => seen.length === 6);

    expect(seen).toEqual([
      'usage finished 499',
      'metrics finished 499',
      'log finished 499',
      'usage closed 499',
      'metrics closed 499',
      'log closed 499',
    ]);
    expect(slowContext!.signal.aborted).toBe(true);
  });

  it('finishes a request whose work outlives its client only once that work has ended', async () => {
    await start();

    await leaveBeforeAnswer('/v1/models/outlives');
    await until(() => seen.length === 3);
    expect(seen).toEqual(['usage closed 499', 'metrics closed 499', 'log closed 499']);
    expect(slowContext!.signal.aborted).toBe(false);

    answerSlow();
    await until(() => seen.length === 6);
    expect(seen.slice(3)).toEqual(['usage finished 499', 'metrics finished 499', 'log finished 499']);
  });

  it("holds the bytes of a request's answer until its connection closes", async () => {
    await start();
    const slow = open(`${url}/v1/models/slow`);
    await until(() => slowContext !== undefined);
    expect(inFlight.bytes).toBe(1000);

    answerSlow();
    (await slow).resume();
    await until(() => inFlight.bytes === 0);
  });

  it('holds the bytes of an answer its client reads slowly past FINISHED, until the last byte is handed over', async () => {
    await start();
    const response = await open(`${url}/v1/models/large`);
    await until(() => seen.includes('usage finished 200'));
    expect(inFlight.bytes).toBe(1000);

    response.resume();
    await until(() => inFlight.bytes === 0);
    expect(seen).toContain('log closed 200');
  });

  it('gives back the bytes of a client that leaves at once, and those of work that outlives its client once it ends', async () => {
    await start();
    await leaveBeforeAnswer('/v1/models/slow');
    await until(() => inFlight.bytes === 0);
    slowContext = undefined;

    await leaveBeforeAnswer('/v1/models/outlives');
    // Its connection closed (the first client's two moments, then this one's CLOSED).
    await until(() => seen.length === 9);
    expect(slowContext!.signal.aborted).toBe(false);
    expect(inFlight.bytes).toBe(1000);

    answerSlow();
    await until(() => inFlight.bytes === 0);
    // Its connection has closed: its work cannot hold more once it has ended.
    inFlight.admit(slowContext!, 1000);
    expect(inFlight.bytes).toBe(0);
  });

  it('while draining, refuses new requests (503, connection: close) and waits for the connections in flight to close', async () => {
    await start();
    const slow = open(`${url}/v1/models/slow`);
    await until(() => slowContext !== undefined);
    let drained = false;
    const draining = drain.onModuleDestroy().then(() => (drained = true));

    const refused = await fetch(`${url}/v1/models`);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('connection')).toBe('close');
    expect(await refused.json()).toMatchObject({ error: { code: 'not_ready' } });
    expect(drained).toBe(false);

    answerSlow();
    (await slow).resume();
    await draining;
    expect(drained).toBe(true);
  });
});
