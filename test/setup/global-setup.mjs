// Plain ESM: Jest loads global setup with Node's own loader, so TypeScript sources come in
// through tsx, which understands the `.js` suffixes of our relative imports.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tsImport } from 'tsx/esm/api';

/**
 * One PostgreSQL server for the run: the one `DATABASE_URL` names (CI, the machine's server) or an
 * embedded one in a temp dir. Every test file then creates its own database on it. Where the
 * embedded one cannot run, the run stops with its one plain message (no stack trace).
 */
export default async function globalSetup() {
  if (process.env.DATABASE_URL) {
    process.env.EASEL_TEST_ADMIN_DATABASE_URL = process.env.DATABASE_URL;
    return;
  }
  const { startEmbeddedPostgres } = await tsImport('../../src/database/embedded-postgres.ts', import.meta.url);
  const dir = await mkdtemp(join(tmpdir(), 'easel-test-pg-'));
  try {
    const handle = await startEmbeddedPostgres({ dataDir: dir, database: 'easel_test_admin' });
    globalThis.__easelEmbeddedPostgres = { handle, dir };
    process.env.EASEL_TEST_ADMIN_DATABASE_URL = handle.url;
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    if (error?.name !== 'EmbeddedPostgresUnavailableError') throw error;
    // Jest would print it with a stack trace: the message says it all.
    console.error(`${error.message} (The tests keep theirs in a temp dir: TMPDIR names where.)`);
    process.exit(1);
  }
}
