import type { FastifyReply } from 'fastify';
import { errorRejectedBy } from '../../../test/utils/thrown-error.js';
import { ErrorCode } from '../../common/errors/error-code.enum.js';
import { GatewayError } from '../../common/errors/gateway.error.js';
import type { AppConfig } from '../../config/app.config.js';
import type { RedisService } from '../../redis/redis.service.js';
import type { Principal } from '../principal.js';
import { KeyRateLimiter } from './key-rate-limiter.js';
import { RateLimitStorage } from './rate-limit.storage.js';

describe(KeyRateLimiter.name, () => {
  const config = { rateLimitRpm: 3 } as AppConfig;
  const noRedis = { client: () => undefined } as unknown as RedisService;
  const principal = (over: Partial<Principal> = {}): Principal => ({
    keyId: 'key-1',
    prefix: 'sk-easel-abcdefgh',
    name: 'k',
    team: 'default',
    isAdmin: false,
    allowedModels: null,
    expiresAt: null,
    rpm: null,
    monthlyBudget: null,
    ...over,
  });
  const reply = () => {
    const headers: Record<string, string> = {};
    return {
      headers,
      reply: { headers: (h: Record<string, string>) => Object.assign(headers, h) } as unknown as FastifyReply,
    };
  };

  it('lets requests within the limit pass, saying what is left', async () => {
    const sut = new KeyRateLimiter(new RateLimitStorage(noRedis), config);
    const first = reply();
    const second = reply();

    await sut.count(principal(), first.reply);
    await sut.count(principal(), second.reply);

    expect(first.headers).toMatchObject({ 'x-ratelimit-limit': '3', 'x-ratelimit-remaining': '2' });
    expect(second.headers['x-ratelimit-remaining']).toBe('1');
    expect(Number(second.headers['x-ratelimit-reset'])).toBeGreaterThanOrEqual(59);
  });

  it("refuses the request over the key's own rpm with 429, Retry-After and x-ratelimit-*", async () => {
    const sut = new KeyRateLimiter(new RateLimitStorage(noRedis), config);
    await sut.count(principal({ rpm: 1 }), reply().reply);

    const gatewayError = await errorRejectedBy(() => sut.count(principal({ rpm: 1 }), reply().reply), GatewayError);

    expect(gatewayError.code).toBe(ErrorCode.RateLimitExceeded);
    expect(gatewayError.message).toMatch(/1 requests per minute/);
    expect(gatewayError.headers).toMatchObject({
      'retry-after': expect.stringMatching(/^\d+$/),
      'x-ratelimit-limit': '1',
      'x-ratelimit-remaining': '0',
    });
  });

  it('counts keys apart', async () => {
    const sut = new KeyRateLimiter(new RateLimitStorage(noRedis), config);
    for (let i = 0; i < 3; i++) await sut.count(principal(), reply().reply);

    await expect(sut.count(principal({ keyId: 'key-2' }), reply().reply)).resolves.toBeUndefined();
    await expect(sut.count(principal(), reply().reply)).rejects.toBeInstanceOf(GatewayError);
  });
});
