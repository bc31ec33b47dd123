import pg from 'pg';
import { createTestApp } from '../utils/test-app.js';

describe('Usage records at shutdown', () => {
  it('flushes queued records before the app stops', async () => {
    const sut = await createTestApp();
    const { key } = await sut.createKey();
    const requests = Array.from({ length: 20 }, (_, i) =>
      sut.http('/v1/images/generations', {
        key,
        body: { model: 'local/easel/sketch', prompt: `shutdown ${i}`, size: '256x256', response_format: 'b64_json' },
        headers: { 'x-request-id': `shutdown-${i}` },
      }),
    );
    expect((await Promise.all(requests)).map((response) => response.status)).toEqual(Array(20).fill(200));
    await sut.close({ keep: true }); // right away: the 100 ms flush timer has not necessarily run

    const client = new pg.Client({ connectionString: sut.database.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM usage_records WHERE request_id LIKE 'shutdown-%'`);
      expect(rows[0]!.n).toBe('20');
    } finally {
      await client.end();
      await sut.database.drop();
    }
  });
});
