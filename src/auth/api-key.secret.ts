import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

export const API_KEY_PREFIX = 'sk-easel-';
const DISPLAY_CHARS = 8;

export interface NewApiKeySecret {
  key: string;
  prefix: string;
  hash: string;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const SECRET_CHARS = 43; // 43 base62 characters carry 256 bits

/** `sk-easel-` followed by 43 random base62 characters (256 bits), easy to copy and grep for. */
export function generateApiKeySecret(): NewApiKeySecret {
  let secret = '';
  while (secret.length < SECRET_CHARS) {
    for (const byte of randomBytes(64)) {
      // 248 = 4 × 62: rejecting larger bytes keeps every character equally likely.
      if (byte < 248 && secret.length < SECRET_CHARS) secret += ALPHABET[byte % 62];
    }
  }
  const key = `${API_KEY_PREFIX}${secret}`;
  return { key, prefix: displayPrefix(key), hash: hashApiKey(key) };
}

/** Keys are 256-bit random, so one SHA-256 is enough (no slow KDF needed); hex. */
export function hashApiKey(key: string): string {
  return hash('sha256', key, 'hex');
}

export function displayPrefix(key: string): string {
  return key.slice(0, API_KEY_PREFIX.length + DISPLAY_CHARS);
}

export function hashesEqual(a: string, b: string): boolean {
  // Bytes, not characters: two strings of one length may differ in UTF-8 length (timingSafeEqual throws then).
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
