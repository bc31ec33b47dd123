import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createTestApp } from '../utils/test-app.js';

describe('Embedded PostgreSQL (no DATABASE_URL)', () => {
  it('starts a real PostgreSQL in EASEL_DATA_DIR, migrates it, and keeps the data across a restart', async () => {
    const first = await createTestApp({ env: { DATABASE_URL: undefined } });
    expect(existsSync(join(first.dataDir, 'postgres', 'PG_VERSION'))).toBe(true);
    const { id, key } = await first.createKey({ name: 'survives restarts' });
    await first.close({ keep: true });

    const second = await createTestApp({ env: { DATABASE_URL: undefined }, dataDir: first.dataDir, database: first.database });
    try {
      const listed = await second.http(`/admin/keys/${id}`, { key: second.adminKey });
      expect(await listed.json()).toMatchObject({ id, name: 'survives restarts' });
      expect((await second.http('/v1/models', { key })).status).toBe(200);
    } finally {
      await second.close();
    }
  });
});
