import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  forgetRunningDatabase,
  readRunningDatabase,
  recordRunningDatabase,
  runningDatabaseFile,
} from './running-database.js';

describe('running-database', () => {
  let dataDir: string;
  const url = 'postgres://postgres:secret@127.0.0.1:54321/easel';

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'easel-running-'));
  });

  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('records the URL and this process for the CLI, readable only by its owner (it holds the password)', async () => {
    await recordRunningDatabase(dataDir, url, () => undefined);

    expect(await readRunningDatabase(dataDir)).toEqual({ url, pid: process.pid });
    expect((await stat(runningDatabaseFile(dataDir))).mode & 0o777).toBe(0o600);
  });

  it('forgets the record this process wrote, and leaves one another process wrote', async () => {
    await recordRunningDatabase(dataDir, url, () => undefined);
    await forgetRunningDatabase(dataDir);
    expect(await readRunningDatabase(dataDir)).toBeUndefined();

    await writeFile(runningDatabaseFile(dataDir), JSON.stringify({ url, pid: process.pid + 1 }));
    await forgetRunningDatabase(dataDir);
    expect(await readRunningDatabase(dataDir)).toEqual({ url, pid: process.pid + 1 });
  });

  it('reads a missing, torn or foreign file as no record', async () => {
    expect(await readRunningDatabase(dataDir)).toBeUndefined();
    await writeFile(runningDatabaseFile(dataDir), '{"url":"postgres://');
    expect(await readRunningDatabase(dataDir)).toBeUndefined();
    await writeFile(runningDatabaseFile(dataDir), '{"url":5}');
    expect(await readRunningDatabase(dataDir)).toBeUndefined();
  });

  it('reports a record it cannot write instead of failing the start', async () => {
    const warnings: string[] = [];

    await recordRunningDatabase(join(dataDir, 'missing', 'dir'), url, (message) => warnings.push(message));

    expect(warnings).toEqual([expect.stringContaining('npm run keys')]);
    expect(warnings[0]).not.toContain('secret');
  });
});
