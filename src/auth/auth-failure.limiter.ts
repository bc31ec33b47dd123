import { isIPv6 } from 'node:net';
import { Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';

/** Failed authentications an address may have per window before it must wait. */
export const AUTH_FAILURES_PER_WINDOW = 20;
export const AUTH_FAILURE_WINDOW_MS = 60_000;
/** Addresses remembered at most (least recently failing forgotten first): a few hundred KB. */
const MAX_ADDRESSES = 10_000;

export interface AuthFailureBlock {
  limit: number;
  /** Seconds until the window ends (at least 1). */
  retryAfterSeconds: number;
}

/**
 * Counts failed authentications (missing, unknown, revoked or expired keys) per client address in
 * fixed one-minute windows. An address over the limit is refused (429) before its key is looked up
 * in PostgreSQL, so guessing keys or flooding the key cache with random ones costs the guesser, not
 * the database. IPv6 addresses count per /64, which is what one host usually has.
 */
@Injectable()
export class AuthFailureLimiter {
  private readonly windows = new LRUCache<string, { failures: number; endsAt: number }>({ max: MAX_ADDRESSES });

  /** The block on `address`, or undefined while it may still try. */
  blocked(address: string, now = Date.now()): AuthFailureBlock | undefined {
    const window = this.windows.get(clientKey(address));
    if (!window || window.endsAt <= now || window.failures < AUTH_FAILURES_PER_WINDOW) return undefined;
    return { limit: AUTH_FAILURES_PER_WINDOW, retryAfterSeconds: Math.max(1, Math.ceil((window.endsAt - now) / 1000)) };
  }

  recordFailure(address: string, now = Date.now()): void {
    const key = clientKey(address);
    const window = this.windows.get(key);
    if (!window || window.endsAt <= now) this.windows.set(key, { failures: 1, endsAt: now + AUTH_FAILURE_WINDOW_MS });
    else window.failures++;
  }

  get size(): number {
    return this.windows.size;
  }
}

/** An IPv4 address as is (also when IPv4-mapped), an IPv6 address as its /64 prefix. */
export function clientKey(address: string): string {
  if (address.startsWith('::ffff:') && address.includes('.')) return address.slice(7);
  if (!isIPv6(address)) return address;
  const [head = '', tail = ''] = address.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === '' ? [] : tail.split(':');
  const groups = address.includes('::')
    ? [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups]
    : headGroups;
  return `${groups
    .slice(0, 4)
    .map((group) => group.toLowerCase().replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
