import { jest } from '@jest/globals';
import { ErrorCode } from '../common/errors/error-code.enum.js';
import { GatewayError } from '../common/errors/gateway.error.js';
import { EMPTY_USAGE } from '../usage/usage-measure.js';
import type { ProviderRegistry, RegisteredModel, RegisteredRoute } from './provider-registry.service.js';
import { type UpstreamCallContext, UpstreamExecutor } from './upstream-executor.js';

const route: RegisteredRoute = { name: 'only', weight: 1, fallback: false, target: null };
const model = { definition: { id: 'test/model/one' }, routes: [route] } as unknown as RegisteredModel;
const registry = { routeOrder: () => [route] } as unknown as ProviderRegistry;
const failure = () => new GatewayError(ErrorCode.UpstreamError, 'boom'); // not transient: no retry delays

/** What the executor uses of a request; `clientGone` = its client has already closed the connection. */
function requestContext({ clientGone = false } = {}): UpstreamCallContext {
  const controller = new AbortController();
  if (clientGone) controller.abort();
  return { signal: controller.signal, usage: {} };
}

describe(UpstreamExecutor.name, () => {
  afterEach(() => jest.useRealTimers());

  it('opens the circuit after 5 failed calls, and lets a call through again 30 s later', async () => {
    jest.useFakeTimers({ now: new Date('2026-11-24T00:00:00Z'), doNotFake: ['nextTick', 'setImmediate'] });
    const sut = new UpstreamExecutor(registry);
    const context = requestContext();
    let calls = 0;
    const failing = async () => {
      calls++;
      throw failure();
    };

    for (let i = 0; i < 5; i++)
      await expect(sut.run(model, context, failing)).rejects.toMatchObject({ message: 'boom' });
    expect(calls).toBe(5);
    await expect(sut.run(model, context, failing)).rejects.toMatchObject({ message: expect.stringMatching(/failing/) });
    expect(calls).toBe(5);
    expect(sut.states()).toEqual([{ model: 'test/model/one', route: 'only', state: 'open' }]);

    jest.setSystemTime(new Date('2026-11-24T00:00:31Z'));
    await expect(sut.run(model, context, async () => 'recovered')).resolves.toBe('recovered');
    expect(sut.states()).toEqual([{ model: 'test/model/one', route: 'only', state: 'closed' }]);
  });

  it('does not count a client that went away against the route', async () => {
    const sut = new UpstreamExecutor(registry);
    const gone = requestContext({ clientGone: true });
    for (let i = 0; i < 6; i++) {
      await expect(
        sut.run(model, gone, async () => {
          throw new GatewayError(ErrorCode.ClientClosedRequest, 'gone');
        }),
      ).rejects.toMatchObject({ code: ErrorCode.ClientClosedRequest });
    }
    await expect(sut.run(model, requestContext(), async () => 'fine')).resolves.toBe('fine');
  });

  it("writes each attempt's route on the request's usage: the one that answered, else the last tried", async () => {
    const primary: RegisteredRoute = { name: 'primary', weight: 1, fallback: false, target: 'p' };
    const backup: RegisteredRoute = { name: 'backup', weight: 1, fallback: true, target: 'b' };
    const sut = new UpstreamExecutor({ routeOrder: () => [primary, backup] } as unknown as ProviderRegistry);
    const seen: Array<string | undefined> = [];
    const answered = requestContext();
    const failedOver = await sut.run(model, answered, async (tried) => {
      seen.push(answered.usage.route);
      if (tried === primary) throw failure();
      return tried.target;
    });

    expect(failedOver).toBe('b');
    expect(seen).toEqual(['primary', 'backup']);
    expect(answered.usage.route).toBe('backup');

    const unanswered = requestContext();
    await expect(
      sut
        .stream(model, unanswered, () => ({
          [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(failure()) }),
        }))
        .next(),
    ).rejects.toMatchObject({ message: 'boom' });
    expect(unanswered.usage.route).toBe('backup');
  });

  it('neither retries nor fails over an attempt the upstream billed in part: that would pay for its images twice', async () => {
    const primary: RegisteredRoute = { name: 'primary', weight: 1, fallback: false, target: 'p' };
    const backup: RegisteredRoute = { name: 'backup', weight: 1, fallback: true, target: 'b' };
    const sut = new UpstreamExecutor({ routeOrder: () => [primary, backup] } as unknown as ProviderRegistry);
    const context = requestContext();
    const billed = { ...EMPTY_USAGE, outputImageTokens: 2240, images: 2 };
    const tried: string[] = [];

    await expect(
      sut.run(model, context, async (route) => {
        tried.push(route.name);
        throw new GatewayError(ErrorCode.UpstreamError, 'one of three failed', { transient: true, billable: billed });
      }),
    ).rejects.toMatchObject({ message: 'one of three failed' });

    expect(tried).toEqual(['primary']);
    expect(context.usage.unanswered).toEqual(billed);
  });
});
