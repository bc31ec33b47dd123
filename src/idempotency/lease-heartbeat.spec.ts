import { jest } from '@jest/globals';
import { keepLeased } from './lease-heartbeat.js';

describe(keepLeased.name, () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  const handlers = () => ({ onLost: jest.fn(), onError: jest.fn() });

  it('renews every interval until stopped', async () => {
    const renew = jest.fn(async () => true);
    const sut = keepLeased(renew, 10_000, handlers());

    await jest.advanceTimersByTimeAsync(9_999);
    expect(renew).not.toHaveBeenCalled();
    await jest.advanceTimersByTimeAsync(20_001);
    expect(renew).toHaveBeenCalledTimes(3);

    sut.stop();
    await jest.advanceTimersByTimeAsync(60_000);
    expect(renew).toHaveBeenCalledTimes(3);
  });

  it('reports a lost lease once and stops renewing', async () => {
    const renew = jest.fn(async () => false);
    const callbacks = handlers();
    keepLeased(renew, 1_000, callbacks);

    await jest.advanceTimersByTimeAsync(5_000);

    expect(renew).toHaveBeenCalledTimes(1);
    expect(callbacks.onLost).toHaveBeenCalledTimes(1);
  });

  it('keeps renewing after a failed renewal', async () => {
    const renew = jest
      .fn<() => Promise<boolean>>()
      .mockRejectedValueOnce(new Error('database away'))
      .mockResolvedValue(true);
    const callbacks = handlers();
    const sut = keepLeased(renew, 1_000, callbacks);

    await jest.advanceTimersByTimeAsync(3_000);
    sut.stop();

    expect(renew).toHaveBeenCalledTimes(3);
    expect(callbacks.onError).toHaveBeenCalledWith(new Error('database away'));
    expect(callbacks.onLost).not.toHaveBeenCalled();
  });

  it('ignores a renewal that answers after stop (the holder finished and released the lease meanwhile)', async () => {
    let answer!: (held: boolean) => void;
    const renew = jest.fn(() => new Promise<boolean>((resolve) => (answer = resolve)));
    const callbacks = handlers();
    const sut = keepLeased(renew, 1_000, callbacks);

    await jest.advanceTimersByTimeAsync(1_000);
    sut.stop();
    answer(false);
    await jest.advanceTimersByTimeAsync(0);

    expect(callbacks.onLost).not.toHaveBeenCalled();
  });
});
