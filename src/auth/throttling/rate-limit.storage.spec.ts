import { LocalWindowCounter } from './rate-limit.storage.js';

describe(LocalWindowCounter.name, () => {
  const MINUTE = 60_000;
  const start = 1_800_000_000_000;

  it('counts hits in a fixed window and blocks the one over the limit until the window ends', () => {
    const sut = new LocalWindowCounter();

    const results = [0, 1, 2].map((i) => sut.increment('key', MINUTE, 2, start + i * 1000));

    expect(results.map((r) => r.totalHits)).toEqual([1, 2, 3]);
    expect(results.map((r) => r.isBlocked)).toEqual([false, false, true]);
    expect(results[2]).toMatchObject({ timeToExpire: 58, timeToBlockExpire: 58 });
    expect(results[0]!.timeToBlockExpire).toBe(0);
  });

  it('starts a new window once the old one has ended', () => {
    const sut = new LocalWindowCounter();
    for (let i = 0; i < 5; i++) sut.increment('key', MINUTE, 2, start);

    const next = sut.increment('key', MINUTE, 2, start + MINUTE);

    expect(next).toMatchObject({ totalHits: 1, isBlocked: false, timeToExpire: 60 });
  });

  it('keeps keys apart', () => {
    const sut = new LocalWindowCounter();
    sut.increment('a', MINUTE, 1, start);

    expect(sut.increment('a', MINUTE, 1, start).isBlocked).toBe(true);
    expect(sut.increment('b', MINUTE, 1, start).isBlocked).toBe(false);
  });

  it('reports at least one second to wait', () => {
    const sut = new LocalWindowCounter();
    sut.increment('key', MINUTE, 0, start);

    expect(sut.increment('key', MINUTE, 0, start + MINUTE - 10)).toMatchObject({
      isBlocked: true,
      timeToBlockExpire: 1,
    });
  });

  it('forgets ended windows when it sweeps, a minute after the last sweep', () => {
    const sut = new LocalWindowCounter();
    const now = Date.now();
    sut.increment('old', 1000, 5, now);
    sut.increment('live', 10 * MINUTE, 5, now);

    sut.increment('live', 10 * MINUTE, 5, now + MINUTE + 1);

    expect(sut.size).toBe(1);
  });
});
