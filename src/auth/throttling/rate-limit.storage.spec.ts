import { LocalWindowCounter } from './rate-limit.storage.js';

describe(LocalWindowCounter.name, () => {
  const MINUTE = 60_000;
  const start = 1_800_000_000_000;

  it('counts hits in a fixed window, with the seconds left until it ends', () => {
    const sut = new LocalWindowCounter();

    const results = [0, 1, 2].map((i) => sut.increment('key', MINUTE, start + i * 1000));

    expect(results).toEqual([
      { hits: 1, resetSeconds: 60 },
      { hits: 2, resetSeconds: 59 },
      { hits: 3, resetSeconds: 58 },
    ]);
  });

  it('starts a new window once the old one has ended', () => {
    const sut = new LocalWindowCounter();
    for (let i = 0; i < 5; i++) sut.increment('key', MINUTE, start);

    const next = sut.increment('key', MINUTE, start + MINUTE);

    expect(next).toEqual({ hits: 1, resetSeconds: 60 });
  });

  it('keeps keys apart', () => {
    const sut = new LocalWindowCounter();
    sut.increment('a', MINUTE, start);

    expect(sut.increment('a', MINUTE, start).hits).toBe(2);
    expect(sut.increment('b', MINUTE, start).hits).toBe(1);
  });

  it('reports at least one second to wait', () => {
    const sut = new LocalWindowCounter();
    sut.increment('key', MINUTE, start);

    expect(sut.increment('key', MINUTE, start + MINUTE - 10).resetSeconds).toBe(1);
  });

  it('forgets ended windows when it sweeps, a minute after the last sweep', () => {
    const sut = new LocalWindowCounter();
    const now = Date.now();
    sut.increment('old', 1000, now);
    sut.increment('live', 10 * MINUTE, now);

    sut.increment('live', 10 * MINUTE, now + MINUTE + 1);

    expect(sut.size).toBe(1);
  });
});
