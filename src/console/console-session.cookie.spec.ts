import { AppConfig } from '../config/app.config.js';
import {
  acceptsSessionCookie,
  assertCsrfToken,
  ConsoleSessionCookie,
  needsCsrfToken,
  readSessionCookie,
} from './console-session.cookie.js';

const TOKEN = 'Vq3m0cJ8yqgP6n1wVv7bq0b1tQ2m8K3Zr4Xh5Jd6LfA';
const OTHER = 'Bq3m0cJ8yqgP6n1wVv7bq0b1tQ2m8K3Zr4Xh5Jd6LfA';

describe(readSessionCookie.name, () => {
  it.each([
    [undefined, { kind: 'absent' }],
    ['', { kind: 'absent' }],
    ['theme=dark; lang=en', { kind: 'absent' }],
    ['xeasel_session=abc', { kind: 'absent' }],
    [`easel_session=${TOKEN}`, { kind: 'token', token: TOKEN }],
    [`theme=dark;easel_session=${TOKEN} ; lang=en`, { kind: 'token', token: TOKEN }],
    [`  easel_session = ${TOKEN}`, { kind: 'token', token: TOKEN }],
    ['easel_session=', { kind: 'invalid' }],
    ['easel_session=short', { kind: 'invalid' }],
    [`easel_session="${TOKEN}"`, { kind: 'invalid' }],
    [`easel_session=${TOKEN}A`, { kind: 'invalid' }],
    [`easel_session=${TOKEN.slice(1)}+`, { kind: 'invalid' }],
    [`easel_session=${TOKEN}; easel_session=${TOKEN}`, { kind: 'invalid' }],
    [`easel_session=${TOKEN}; easel_session=${OTHER}`, { kind: 'invalid' }],
    [`easel_session=${'A'.repeat(100_000)}`, { kind: 'invalid' }],
  ])('%j → %j', (header, expected) => {
    expect(readSessionCookie(header)).toEqual(expected);
  });
});

describe(acceptsSessionCookie.name, () => {
  it.each([
    ['GET', '/admin/keys', true],
    ['HEAD', '/admin/keys', true],
    ['POST', '/admin/keys', true],
    ['PATCH', '/admin/keys/:id', true],
    ['PUT', '/admin/pricing/:model', true],
    ['DELETE', '/admin/keys/:id', true],
    ['OPTIONS', '/admin/keys', false],
    ['GET', '/admin', true],
    ['GET', '/administrator', false],
    ['GET', '/v1/models', true],
    ['HEAD', '/v1/models/:id', true],
    ['POST', '/v1/models', false],
    ['GET', '/v1/usage', true],
    ['GET', '/v1/usage/records', true],
    ['DELETE', '/v1/usage', false],
    ['GET', '/v1/usages', false],
    ['POST', '/v1/images/generations', false],
    ['POST', '/v1/images/edits', false],
    ['GET', '/v1/images/files/:file', false],
    ['POST', '/v1/chat/completions', false],
    ['GET', '/metrics', false],
  ])('%s %s → %s', (method, path, expected) => {
    expect(acceptsSessionCookie(method, path)).toBe(expected);
  });
});

describe(needsCsrfToken.name, () => {
  it.each([
    ['GET', false],
    ['HEAD', false],
    ['POST', true],
    ['PATCH', true],
    ['PUT', true],
    ['DELETE', true],
  ])('%s → %s', (method, expected) => {
    expect(needsCsrfToken(method)).toBe(expected);
  });
});

describe(assertCsrfToken.name, () => {
  it('accepts the session token', () => {
    expect(() => assertCsrfToken(TOKEN, TOKEN)).not.toThrow();
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['another token', OTHER],
    ['a prefix', TOKEN.slice(0, 20)],
    ['the token twice (a repeated header)', [TOKEN, TOKEN]],
    // Same length in characters, longer in bytes: must not reach timingSafeEqual with unequal buffers.
    ['non-ASCII of the same length', `é${TOKEN.slice(1)}`],
  ])('refuses %s with 403 csrf_token_invalid', (_, header) => {
    expect(() => assertCsrfToken(TOKEN, header)).toThrow(expect.objectContaining({ code: 'csrf_token_invalid' }));
  });
});

describe(ConsoleSessionCookie.name, () => {
  it('writes HttpOnly, SameSite=Strict, Path=/ and Max-Age, without Secure over http', () => {
    const sut = new ConsoleSessionCookie(AppConfig.fromEnv({ PUBLIC_BASE_URL: 'http://localhost:3000' }));

    expect(sut.issue(TOKEN, 43_200)).toBe(`easel_session=${TOKEN}; HttpOnly; SameSite=Strict; Path=/; Max-Age=43200`);
    expect(sut.clear()).toBe('easel_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0');
  });

  it('adds Secure when PUBLIC_BASE_URL is https', () => {
    const sut = new ConsoleSessionCookie(AppConfig.fromEnv({ PUBLIC_BASE_URL: 'https://easel.example.com' }));

    expect(sut.issue(TOKEN, 60)).toBe(`easel_session=${TOKEN}; HttpOnly; SameSite=Strict; Path=/; Max-Age=60; Secure`);
    expect(sut.clear()).toBe('easel_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0; Secure');
  });
});
