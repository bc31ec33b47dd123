import { jest } from '@jest/globals';
import { ErrorCode } from '../common/errors/error-code.enum.js';
import { GatewayError } from '../common/errors/gateway.error.js';
import type { ProviderRegistry, RegisteredModel, RegisteredRoute } from './provider-registry.service.js';
import { UpstreamExecutor } from './upstream-executor.js';

const route: RegisteredRoute = { name: 'only', weight: 1, fallback: false, target: null };
const model = { definition: { id: 'test/model/one' }, routes: [route] } as unknown as RegisteredModel;
const registry = { routeOrder: () => [route] } as unknown as ProviderRegistry;
const failure = () => new GatewayError(ErrorCode.UpstreamError, 'boom'); // not transient: no retry delays

describe(UpstreamExecutor.name, () => {
  afterEach(() => jest.useRealTimers());

  it('opens the circuit after 5 failed calls, and lets a call through again 30 s later', async () => {
    jest.useFakeTimers({ now: new Date('2026-11-24T00:00:00Z'), doNotFake: ['nextTick', 'setImmediate'] });
    const sut = new UpstreamExecutor(registry);
    const signal = new AbortController().signal;
    let calls = 0;
    const failing = async () => {
      calls++;
      throw failure();
    };

    for (let i = 0; i < 5; i++) await expect(sut.run(model, signal, failing)).rejects.toMatchObject({ message: 'boom' });
    expect(calls).toBe(5);
    await expect(sut.run(model, signal, failing)).rejects.toMatchObject({ message: expect.stringMatching(/failing/) });
    expect(calls).toBe(5);
    expect(sut.states()).toEqual([{ model: 'test/model/one', route: 'only', state: 'open' }]);

    jest.setSystemTime(new Date('2026-11-24T00:00:31Z'));
    await expect(sut.run(model, signal, async () => 'recovered')).resolves.toBe('recovered');
    expect(sut.states()).toEqual([{ model: 'test/model/one', route: 'only', state: 'closed' }]);
  });

  it('does not count a client that went away against the route', async () => {
    const sut = new UpstreamExecutor(registry);
    const controller = new AbortController();
    controller.abort();
    for (let i = 0; i < 6; i++) {
      await expect(
        sut.run(model, controller.signal, async () => {
          throw new GatewayError(ErrorCode.ClientClosedRequest, 'gone');
        }),
      ).rejects.toMatchObject({ code: ErrorCode.ClientClosedRequest });
    }
    await expect(sut.run(model, new AbortController().signal, async () => 'fine')).resolves.toBe('fine');
  });
});
