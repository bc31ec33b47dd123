import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runKeysCli } from '../../src/cli/keys.cli.js';
import { createTestApp, type TestApp } from '../utils/test-app.js';
import { waitFor } from '../utils/wait-for.js';

describe('npm run keys (the key and team CLI)', () => {
  let sut: TestApp;
  let dataDir: string;

  const cli = async (...args: string[]) => {
    const lines: string[] = [];
    const code = await runKeysCli(args, { DATABASE_URL: sut.database.url, EASEL_DATA_DIR: dataDir, LOG_LEVEL: 'error' }, (line) => lines.push(line));
    return { code, lines };
  };

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
    expect(team.code).toBe(0);
    expect(JSON.parse(team.lines[0]!)).toMatchObject({ name: 'research', monthly_budget_usd: '25.5' });

    const created = await cli('create', '--name', 'notebook', '--team', 'research', '--rpm', '7', '--models', 'local/easel/sketch');
    expect(created.code).toBe(0);
    const key = JSON.parse(created.lines[0]!) as { id: string; key: string; rpm: number; allowed_models: string[] };
    expect(key).toMatchObject({ rpm: 7, allowed_models: ['local/easel/sketch'], key: expect.stringMatching(/^sk-easel-/) });

    const models = await sut.http('/v1/models', { key: key.key });
    expect(models.status).toBe(200);
    expect(models.headers.get('x-ratelimit-limit')).toBe('7');

    const listed = await cli('list');
    expect(listed.lines.map((line) => JSON.parse(line).id)).toContain(key.id);
    expect(listed.lines.join('\n')).not.toContain(key.key);

    expect((await cli('revoke', key.id)).code).toBe(0);
    await waitFor(async () => (await sut.http('/v1/models', { key: key.key })).status, (status) => status === 401, 6_000);
  });

  it('refuses bad input with a message and a non-zero exit code', async () => {
    const missingTeam = await cli('create', '--name', 'x');
    expect(missingTeam.code).toBe(1);
    expect(missingTeam.lines[0]).toMatch(/team/);

    const unknownTeam = await cli('create', '--name', 'x', '--team', 'nobody');
    expect(unknownTeam.code).toBe(1);
    expect(unknownTeam.lines[0]).toMatch(/POST \/admin\/teams/);

    expect((await cli('frobnicate')).code).toBe(2);
  });
});
