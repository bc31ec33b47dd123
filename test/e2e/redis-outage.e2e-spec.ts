import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createApiKey } from '../factories/api-key.factory.js';
import { freePort } from '../utils/free-port.js';
import { createTestApp, type TestApp } from '../utils/test-app.js';
import { waitFor } from '../utils/wait-for.js';

/**
 * Redis stops while Easel runs: requests keep being served (no 5xx), rate limits fall back to
 * counting in this instance. The test runs its own redis-server (it stops it); without the binary
 * it is reported as skipped.
 */
const hasRedisServer = spawnSync('redis-server', ['--version']).status === 0;
const describeWithRedisServer = hasRedisServer ? describe : describe.skip;

describeWithRedisServer('Redis stopped mid-traffic', () => {
  let redis: ChildProcess;
  let sut: TestApp;

  beforeAll(async () => {
    const port = await freePort();
    redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    await waitFor(
      async () =>
        spawnSync('redis-cli', ['-p', String(port), 'ping'])
          .stdout?.toString()
          .trim(),
      (answer) => answer === 'PONG',
    );
    sut = await createTestApp({ env: { REDIS_URL: `redis://127.0.0.1:${port}` } });
  });

  afterAll(async () => {
    await sut?.close();
    redis?.kill('SIGKILL');
  });

  it('keeps serving, with the rate limit counted in the instance, and reports Redis as not ready', async () => {
    const { key } = await createApiKey(sut, { rpm: 4 });
    const request = () => sut.http('/v1/models', { key });
    expect((await request()).status).toBe(200);
    expect((await sut.http('/health/ready')).status).toBe(200);

    redis.kill('SIGKILL');
    await waitFor(
      async () => (await sut.http('/health/ready')).status,
      (status) => status === 503,
    );

    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await request()).status);
    // The shared count was lost with Redis; the local count starts afresh and still enforces rpm 4.
    expect(statuses).toEqual([200, 200, 200, 200, 429]);
  });
});
