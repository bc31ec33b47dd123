import {
  AUTH_FAILURE_WINDOW_MS,
  AUTH_FAILURES_PER_WINDOW,
  AuthFailureLimiter,
  clientKey,
} from './auth-failure.limiter.js';

describe(AuthFailureLimiter.name, () => {
  const start = 1_800_000_000_000;

  it(`blocks an address after ${AUTH_FAILURES_PER_WINDOW} failures in a window, until the window ends`, () => {
    const sut = new AuthFailureLimiter();
    for (let i = 0; i < AUTH_FAILURES_PER_WINDOW - 1; i++) sut.recordFailure('10.0.0.1', start + i);
    expect(sut.blocked('10.0.0.1', start + 100)).toBeUndefined();

    sut.recordFailure('10.0.0.1', start + 100);

    expect(sut.blocked('10.0.0.1', start + 1000)).toEqual({ limit: AUTH_FAILURES_PER_WINDOW, retryAfterSeconds: 59 });
    expect(sut.blocked('10.0.0.2', start + 1000)).toBeUndefined();
    expect(sut.blocked('10.0.0.1', start + AUTH_FAILURE_WINDOW_MS)).toBeUndefined();
  });

  it('starts a new window after the old one ended', () => {
    const sut = new AuthFailureLimiter();
    for (let i = 0; i < AUTH_FAILURES_PER_WINDOW; i++) sut.recordFailure('10.0.0.1', start);

    sut.recordFailure('10.0.0.1', start + AUTH_FAILURE_WINDOW_MS);

    expect(sut.blocked('10.0.0.1', start + AUTH_FAILURE_WINDOW_MS + 1)).toBeUndefined();
  });

  it('counts an IPv6 /64 as one address, and IPv4-mapped addresses as IPv4', () => {
    const sut = new AuthFailureLimiter();
    for (let i = 0; i < AUTH_FAILURES_PER_WINDOW; i++)
      sut.recordFailure(`2001:db8:1:2::${(i + 1).toString(16)}`, start);

    expect(sut.blocked('2001:db8:1:2:ffff::1', start)).toBeDefined();
    expect(sut.blocked('2001:db8:1:3::1', start)).toBeUndefined();
    expect(clientKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(clientKey('2001:0db8:0000:0002:0000:0000:0000:0001')).toBe('2001:db8:0:2::/64');
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
  });

  it('remembers a bounded number of addresses', () => {
    const sut = new AuthFailureLimiter();
    for (let i = 0; i < 50_000; i++) sut.recordFailure(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, start);

    expect(sut.size).toBe(10_000);
  });
});
