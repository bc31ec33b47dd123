import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runKeysCli } from '../../src/cli/keys.cli.js';
import { runningDatabaseFile } from '../../src/database/running-database.js';
import { freePort } from '../utils/free-port.js';
import { createTestApp, type TestApp } from '../utils/test-app.js';
import { waitFor } from '../utils/wait-for.js';

interface CliRun {
  code: number;
  out: string[];
  err: string[];
}

/** Runs the CLI in this process as `npm run keys -- …` would, with its two output streams apart. */
async function runCli(env: Record<string, string | undefined>, args: string[]): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runKeysCli(
    args,
    { LOG_LEVEL: 'error', ...env },
    { out: (line) => out.push(line), err: (line) => err.push(line) },
  );
  return { code, out, err };
}

/** No stack trace, whatever happened. */
function expectNoStackTrace(run: CliRun): void {
  expect([...run.out, ...run.err].join('\n')).not.toMatch(/^\s+at .+[:(]/m);
}

describe('npm run keys (the key and team CLI)', () => {
  let sut: TestApp;
  let dataDir: string;

  const cli = (...args: string[]) => runCli({ DATABASE_URL: sut.database.url, EASEL_DATA_DIR: dataDir }, args);

  beforeAll(async () => {
    sut = await createTestApp();
    dataDir = await mkdtemp(join(tmpdir(), 'easel-cli-'));
  });

  afterAll(async () => {
    await sut.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('creates a team and a key with limits that the server accepts, lists and revokes it', async () => {
    const team = await cli('team-create', 'research', '--budget', '25.5');
    expect(team).toMatchObject({ code: 0, err: [] });
    expect(JSON.parse(team.out[0]!)).toMatchObject({ name: 'research', monthly_budget_usd: '25.5' });

    const created = await cli(
      'create',
      '--name',
      'notebook',
      '--team',
      'research',
      '--rpm',
      '7',
      '--models',
      'local/easel/sketch',
    );
    expect(created.code).toBe(0);
    const key = JSON.parse(created.out[0]!) as { id: string; key: string; rpm: number; allowed_models: string[] };
    expect(key).toMatchObject({
      rpm: 7,
      allowed_models: ['local/easel/sketch'],
      key: expect.stringMatching(/^sk-easel-/),
    });

    const models = await sut.http('/v1/models', { key: key.key });
    expect(models.status).toBe(200);
    expect(models.headers.get('x-ratelimit-limit')).toBe('7');

    const listed = await cli('list');
    expect(listed.out.map((line) => JSON.parse(line).id)).toContain(key.id);
    expect(listed.out.join('\n')).not.toContain(key.key);

    expect((await cli('revoke', key.id)).code).toBe(0);
    await waitFor(
      async () => (await sut.http('/v1/models', { key: key.key })).status,
      (status) => status === 401,
      6_000,
    );
  });

  it('--help prints the usage on stdout and exits 0', async () => {
    const run = await cli('--help');

    expect(run.code).toBe(0);
    expect(run.out.join('\n')).toMatch(/Usage: npm run keys -- <command>/);
    expect(run.out.join('\n')).toMatch(/Exit codes/);
  });

  it.each([
    [['--frobnicate'], /unknown option '--frobnicate'/],
    [['list', '--frobnicate'], /unknown option '--frobnicate'/],
    [['create', '--name'], /--name needs a value/],
    [[], /no command/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['create', '--name', 'x'], /create needs --team TEAM/],
    [['create', '--team', 'research'], /create needs --name NAME/],
    [['create', '--name', 'x', '--team', 'research', '--rpm', 'fast'], /rpm/],
    [['revoke'], /revoke needs the key id/],
    [['revoke', 'not-a-uuid'], /'not-a-uuid' is not a key id/],
    [['revoke', 'sk-easel-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789ABCDEFG'], /the key's id, not the key itself/],
    [['team-create'], /team-create needs the team name/],
    [['list', 'extra'], /list takes no argument/],
  ])('%j is a usage error: exit 2, a message that names the fix on stderr, no stack trace', async (args, message) => {
    const run = await cli(...args);

    expect(run.code).toBe(2);
    expect(run.out).toEqual([]);
    expect(run.err.join('\n')).toMatch(message);
    expect(run.err.join('\n')).toMatch(/npm run keys -- --help/);
    expectNoStackTrace(run);
  });

  it('a command that fails exits 1 with a message that names the fix, never a raw PostgreSQL error', async () => {
    const unknownTeam = await cli('create', '--name', 'x', '--team', 'nobody');
    expect(unknownTeam).toMatchObject({ code: 1, out: [] });
    expect(unknownTeam.err).toEqual(["Error: no team 'nobody'; create it with `npm run keys -- team-create nobody`"]);

    expect((await cli('team-create', 'twice')).code).toBe(0);
    const duplicate = await cli('team-create', 'twice');
    expect(duplicate).toMatchObject({ code: 1, out: [] });
    expect(duplicate.err.join('\n')).toMatch(/team 'twice' already exists.*npm run keys -- team-list/);

    const unknownKey = await cli('revoke', randomUUID());
    expect(unknownKey).toMatchObject({ code: 1, out: [] });
    expect(unknownKey.err.join('\n')).toMatch(/no key with id .*npm run keys -- list/);

    for (const run of [unknownTeam, duplicate, unknownKey]) {
      expectNoStackTrace(run);
      expect(run.err.join('\n')).not.toMatch(/QueryFailedError|syntax for type|violates/);
    }
  });

  it('a database it cannot reach: exit 1 at once, naming DATABASE_URL, no stack trace', async () => {
    const port = await freePort();

    const run = await runCli(
      { DATABASE_URL: `postgres://easel:secret@127.0.0.1:${port}/easel`, EASEL_DATA_DIR: dataDir },
      ['list'],
    );

    expect(run.code).toBe(1);
    expect(run.err.join('\n')).toMatch(
      new RegExp(`cannot connect to PostgreSQL at 127\\.0\\.0\\.1:${port}.*DATABASE_URL`),
    );
    expect(run.err.join('\n')).not.toContain('secret');
    expectNoStackTrace(run);
  });

  it('an invalid environment: exit 1 naming the variable', async () => {
    const run = await runCli({ DATABASE_URL: sut.database.url, EASEL_DATA_DIR: dataDir, RATE_LIMIT_RPM: '0' }, [
      'list',
    ]);

    expect(run.code).toBe(1);
    expect(run.err.join('\n')).toMatch(/RATE_LIMIT_RPM: must be between 1 and 1000000/);
    expectNoStackTrace(run);
  });
});

describe('npm run keys beside a server on the embedded database (no DATABASE_URL)', () => {
  it('works while the server runs on the same data dir, and after it stopped (starting the database itself)', async () => {
    const server = await createTestApp({ env: { DATABASE_URL: undefined } });
    const cli = (...args: string[]) => runCli({ DATABASE_URL: undefined, EASEL_DATA_DIR: server.dataDir }, args);
    let keyId: string;
    try {
      const team = await cli('team-create', 'beside');
      expect(team).toMatchObject({ code: 0, err: [] });

      const created = await cli('create', '--name', 'while-running', '--team', 'beside');
      expect(created).toMatchObject({ code: 0, err: [] });
      const key = JSON.parse(created.out[0]!) as { id: string; key: string };
      keyId = key.id;
      expect((await server.http('/v1/models', { key: key.key })).status).toBe(200);

      // A cluster running without a record (a server of an older version): a message, not a stack trace.
      await rm(runningDatabaseFile(server.dataDir));
      const unrecorded = await cli('list');
      expect(unrecorded).toMatchObject({ code: 1, out: [] });
      expect(unrecorded.err.join('\n')).toMatch(
        /already running in another process.*Restart the server with this version.*DATABASE_URL/,
      );
      expectNoStackTrace(unrecorded);
      expect((await server.http('/v1/models', { key: key.key })).status).toBe(200);
    } finally {
      await server.close({ keep: true });
    }

    try {
      const stopped = await cli('list');
      expect(stopped).toMatchObject({
        code: 0,
        err: [
          `note: no running Easel server recorded a database in ${server.dataDir}; starting its embedded database for this command.`,
        ],
      });
      expect(stopped.out.map((line) => JSON.parse(line).id)).toContain(keyId);

      // A record left by a server that was killed names a port nobody answers on: still works.
      await writeFile(
        runningDatabaseFile(server.dataDir),
        JSON.stringify({ url: `postgres://postgres:x@127.0.0.1:${await freePort()}/easel`, pid: 2 ** 22 }),
      );
      const stale = await cli('team-list');
      expect(stale).toMatchObject({ code: 0, err: [expect.stringMatching(/^note: no running Easel server/)] });
      expect(stale.out.map((line) => JSON.parse(line).name)).toContain('beside');
    } finally {
      await server.database.drop();
      await rm(server.dataDir, { recursive: true, force: true });
    }
  }, 180_000);
});
