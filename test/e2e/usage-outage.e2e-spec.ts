import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { type EmbeddedPostgresHandle, startEmbeddedPostgres } from '../../src/database/embedded-postgres.js';
import { createApiKey } from '../factories/api-key.factory.js';
import { imageRequest } from '../factories/request-body.factory.js';
import { createTestApp, type TestApp } from '../utils/test-app.js';
import { waitFor } from '../utils/wait-for.js';

async function readSpool(dir: string): Promise<string> {
  const files = await readdir(dir).catch(() => [] as string[]);
  return (await Promise.all(files.map((file) => readFile(join(dir, file), 'utf8')))).join('');
}

/**
 * PostgreSQL stops mid-traffic: requests keep being served (keys from the cache), usage records go
 * to the spool, and once PostgreSQL is back every record is stored exactly once. This test runs
 * its own PostgreSQL server, since it stops it.
 */
describe('Usage recording while PostgreSQL is down', () => {
  let dir: string;
  let server: EmbeddedPostgresHandle;
  let sut: TestApp;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'easel-outage-'));
    server = await startEmbeddedPostgres({ dataDir: dir, database: 'easel' });
    sut = await createTestApp({ database: { url: server.url, drop: async () => undefined } });
  });

  afterAll(async () => {
    await sut?.close();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves requests through the outage and stores every record exactly once afterwards', async () => {
    const { key } = await createApiKey(sut);
    const send = async (i: number) => {
      const response = await sut.http('/v1/images/generations', {
        key,
        body: imageRequest({ prompt: `outage ${i}` }),
        headers: { 'x-request-id': `outage-${i}` },
      });
      expect({ i, status: response.status }).toEqual({ i, status: 200 });
    };

    for (let i = 0; i < 10; i++) await send(i);
    await server.stop();
    const notReady = await sut.http('/health/ready');
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toMatchObject({
      error: { code: 'not_ready', message: expect.stringContaining('database') },
    });
    for (let i = 10; i < 30; i++) await send(i);
    await new Promise((resolve) => setTimeout(resolve, 6_000)); // past the key cache's freshness
    for (let i = 30; i < 40; i++) await send(i);
    const spooled = await waitFor(
      () => readSpool(join(sut.dataDir, 'usage-spool')),
      (text) => (text.match(/outage-39/g) ?? []).length === 1,
    );
    expect(spooled).toContain('outage-10');
    expect(spooled).not.toContain('outage ');
    await server.start();
    await waitFor(
      async () => (await sut.http('/health/ready')).status,
      (status) => status === 200,
    );
    for (let i = 40; i < 50; i++) await send(i);

    const client = new pg.Client({ connectionString: sut.database.url });
    await client.connect();
    try {
      const rows = await waitFor(
        async () =>
          (
            await client.query<{ request_id: string; n: string }>(
              `SELECT request_id, count(*) AS n FROM usage_records GROUP BY request_id`,
            )
          ).rows,
        (found) => found.length >= 50,
        20_000,
      );
      expect(rows).toHaveLength(50);
      expect(rows.every((row) => row.n === '1')).toBe(true);
      expect(new Set(rows.map((row) => row.request_id))).toEqual(
        new Set(Array.from({ length: 50 }, (_, i) => `outage-${i}`)),
      );
    } finally {
      await client.end();
    }
  }, 60_000);
});
