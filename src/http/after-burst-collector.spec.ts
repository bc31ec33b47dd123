import { jest } from '@jest/globals';
import { AfterBurstCollector, BURST_BYTES, QUIET_MS } from './after-burst-collector.js';

describe(AfterBurstCollector.name, () => {
  let collections: number;
  let sut: AfterBurstCollector;

  beforeEach(() => {
    jest.useFakeTimers();
    collections = 0;
    sut = new AfterBurstCollector(() => collections++);
  });

  afterEach(() => {
    sut.onApplicationShutdown();
    jest.useRealTimers();
  });

  it('collects once, a quiet second after a burst has drained', () => {
    sut.observe(BURST_BYTES / 2);
    sut.observe(BURST_BYTES);
    sut.observe(BURST_BYTES / 4);
    sut.observe(0);
    sut.observe(0); // every closed request says so again
    jest.advanceTimersByTime(QUIET_MS - 1);
    expect(collections).toBe(0);
    jest.advanceTimersByTime(1);
    expect(collections).toBe(1);
    jest.advanceTimersByTime(10 * QUIET_MS);
    sut.observe(0);
    jest.advanceTimersByTime(10 * QUIET_MS);
    expect(collections).toBe(1);
  });

  it('waits while requests come and go, and collects after the last of the burst', () => {
    sut.observe(BURST_BYTES);
    sut.observe(0);
    jest.advanceTimersByTime(QUIET_MS / 2);
    sut.observe(1024); // a request starts: not quiet
    jest.advanceTimersByTime(QUIET_MS);
    expect(collections).toBe(0);
    sut.observe(0);
    jest.advanceTimersByTime(QUIET_MS);
    expect(collections).toBe(1);
  });

  it('leaves ordinary traffic alone', () => {
    for (let round = 0; round < 100; round++) {
      sut.observe(BURST_BYTES - 1);
      sut.observe(0);
    }
    jest.advanceTimersByTime(10 * QUIET_MS);
    expect(collections).toBe(0);
  });

  it('does nothing without a collector (node without --expose-gc), and nothing after shutdown', () => {
    const bare = new AfterBurstCollector(undefined);
    bare.observe(BURST_BYTES);
    bare.observe(0);
    jest.advanceTimersByTime(10 * QUIET_MS);

    sut.observe(BURST_BYTES);
    sut.observe(0);
    sut.onApplicationShutdown();
    jest.advanceTimersByTime(10 * QUIET_MS);
    expect(collections).toBe(0);
  });
});
