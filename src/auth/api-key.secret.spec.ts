import { createHash } from 'node:crypto';
import { API_KEY_PREFIX, displayPrefix, generateApiKeySecret, hashApiKey, hashesEqual } from './api-key.secret.js';

describe('generateApiKeySecret', () => {
  it('makes keys of sk-easel- followed by 43 base62 characters', () => {
    for (let i = 0; i < 50; i++) {
      expect(generateApiKeySecret().key).toMatch(/^sk-easel-[A-Za-z0-9]{43}$/);
    }
  });

  it('uses the documented prefix', () => {
    expect(API_KEY_PREFIX).toBe('sk-easel-');
  });

  it('gives the first 17 characters as the display prefix', () => {
    const { key, prefix } = generateApiKeySecret();

    expect(prefix).toHaveLength(17);
    expect(prefix).toBe(key.slice(0, 17));
    expect(displayPrefix(key)).toBe(prefix);
  });

  it('gives the sha256 hex of the key as the hash', () => {
    const { key, hash } = generateApiKeySecret();

    expect(hash).toBe(createHash('sha256').update(key).digest('hex'));
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hashApiKey(key)).toBe(hash);
  });

  it('makes a different key each time', () => {
    const keys = new Set(Array.from({ length: 100 }, () => generateApiKeySecret().key));

    expect(keys.size).toBe(100);
  });

  it('uses the whole base62 alphabet', () => {
    const seen = new Set(Array.from({ length: 200 }, () => generateApiKeySecret().key.slice(9)).join(''));

    expect(seen.size).toBe(62);
  });
});

describe('hashApiKey', () => {
  it('matches the known sha256 of a fixed key', () => {
    expect(hashApiKey('sk-easel-test')).toBe(createHash('sha256').update('sk-easel-test', 'utf8').digest('hex'));
    expect(hashApiKey('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

describe('hashesEqual', () => {
  const hash = hashApiKey('sk-easel-one');

  it('is true for equal hashes', () => {
    expect(hashesEqual(hash, hashApiKey('sk-easel-one'))).toBe(true);
  });

  it('is false for different hashes of the same length', () => {
    expect(hashesEqual(hash, hashApiKey('sk-easel-two'))).toBe(false);
  });

  it('is false, without throwing, for different lengths', () => {
    expect(hashesEqual(hash, hash.slice(0, 10))).toBe(false);
    expect(hashesEqual(hash, '')).toBe(false);
  });

  it('is false, without throwing, for strings of one length but not of one byte length', () => {
    expect(hashesEqual('a'.repeat(64), `${'a'.repeat(63)}é`)).toBe(false);
  });
});
