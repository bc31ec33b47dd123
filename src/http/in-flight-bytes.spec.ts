import type { FastifyReply } from 'fastify';
import { errorThrownBy } from '../../test/utils/thrown-error.js';
import { ErrorCode } from '../common/errors/error-code.enum.js';
import { GatewayError } from '../common/errors/gateway.error.js';
import { RequestContext } from '../common/http/request-context.js';
import { AppConfig } from '../config/app.config.js';
import type { AfterBurstCollector } from './after-burst-collector.js';
import { InFlightBytes } from './in-flight-bytes.js';
import type { ClosedRequest } from './request-listener.js';

const MIB = 1024 * 1024;

let requests = 0;
function newContext(): RequestContext {
  return new RequestContext(`req-${++requests}`, {} as FastifyReply);
}

/** What `RequestLifecycle` tells its listeners when the request's connection closes (the fields read here). */
function closed(context: RequestContext): ClosedRequest {
  return { context } as ClosedRequest;
}

/** Lets the releases queued behind `settled()` run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe(InFlightBytes.name, () => {
  let sut: InFlightBytes;

  beforeEach(() => {
    sut = new InFlightBytes(AppConfig.fromEnv({ MAX_IN_FLIGHT_BYTES: String(10 * MIB) }));
  });

  it('admits answers up to the limit, and refuses the one past it with 503 overloaded and Retry-After, counting nothing of it', () => {
    sut.admit(newContext(), 6 * MIB);
    sut.admit(newContext(), 4 * MIB);

    const error = errorThrownBy(() => sut.admit(newContext(), 1), GatewayError);

    expect(sut.bytes).toBe(10 * MIB);
    expect(error.code).toBe(ErrorCode.Overloaded);
    expect(error.headers).toEqual({ 'retry-after': '1' });
    expect(error.message).toMatch(/retry in 1 s/);
  });

  it.each([
    [9 * MIB, 2 * MIB, '1'], // 1 MiB past 10: a tenth
    [9 * MIB, 5 * MIB, '2'], // 4 MiB past: two fifths
    [9 * MIB, 9 * MIB, '4'],
    [9 * MIB, 30 * MIB, '5'], // far past: at most 5 s
  ])(
    'with %d bytes in flight, refuses %d more with Retry-After %s s (1 to 5, by how far past the limit)',
    (held, more, retryAfter) => {
      sut.admit(newContext(), held);

      expect(errorThrownBy(() => sut.admit(newContext(), more), GatewayError).headers).toEqual({
        'retry-after': retryAfter,
      });
    },
  );

  it('admits an answer larger than the limit when nothing else is in flight, and nothing beside it', () => {
    sut.admit(newContext(), 25 * MIB);

    expect(sut.bytes).toBe(25 * MIB);
    expect(errorThrownBy(() => sut.admit(newContext(), MIB), GatewayError).code).toBe(ErrorCode.Overloaded);
  });

  it('always admits an answer without images (a text-only chat), counting nothing', () => {
    sut.admit(newContext(), 10 * MIB);

    sut.admit(newContext(), 0);

    expect(sut.bytes).toBe(10 * MIB);
  });

  it("gives a request's bytes back when its connection closes, once, whatever else closes", async () => {
    const first = newContext();
    const second = newContext();
    sut.admit(first, 6 * MIB);
    sut.admit(second, 4 * MIB);

    sut.connectionClosed(closed(first));
    sut.connectionClosed(closed(first));
    sut.connectionClosed(closed(newContext()));
    sut.connectionClosed({ context: undefined } as ClosedRequest);
    await settle();

    expect(sut.bytes).toBe(4 * MIB);
    sut.admit(newContext(), 6 * MIB);
    expect(sut.bytes).toBe(10 * MIB);
  });

  it('gives back all a request reserved, however many times', async () => {
    const context = newContext();
    sut.admit(context, 3 * MIB);
    sut.admit(context, 2 * MIB);

    sut.connectionClosed(closed(context));
    await settle();

    expect(sut.bytes).toBe(0);
  });

  it('holds the bytes of work that outlives its client (Idempotency-Key) until that work has ended', async () => {
    const context = newContext();
    let finishWork!: () => void;
    context.outliveClient(new Promise<void>((resolve) => (finishWork = resolve)));
    sut.admit(context, 6 * MIB);

    sut.connectionClosed(closed(context));
    await settle();
    expect(sut.bytes).toBe(6 * MIB);

    finishWork();
    await settle();
    expect(sut.bytes).toBe(0);
  });

  it('counts nothing for a request whose connection has closed and whose work has ended (it is about to stop)', async () => {
    const context = newContext();
    sut.connectionClosed(closed(context));
    await settle();

    sut.admit(context, 6 * MIB);

    expect(sut.bytes).toBe(0);
  });

  it('tells the after-burst collector the bytes in flight after each admission and each release', async () => {
    const seen: number[] = [];
    const told = new InFlightBytes(AppConfig.fromEnv({ MAX_IN_FLIGHT_BYTES: String(10 * MIB) }), undefined, {
      observe: (bytes: number) => seen.push(bytes),
    } as unknown as AfterBurstCollector);
    const [first, second] = [newContext(), newContext()];
    told.admit(first, 3 * MIB);
    told.admit(second, 2 * MIB);
    told.connectionClosed(closed(first));
    told.connectionClosed(closed(second));
    await settle();

    expect(seen).toEqual([3 * MIB, 5 * MIB, 2 * MIB, 0]);
  });
});
