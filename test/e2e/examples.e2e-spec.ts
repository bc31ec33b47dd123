import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { createTestApp, type TestApp } from '../utils/test-app.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const EXAMPLE_TIMEOUT_MS = 30_000;

interface ExampleRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `examples/<file>` as a user would (`node --import tsx`), never throwing, so failures show output. */
function runExample(file: string, env: Record<string, string>): Promise<ExampleRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', join('examples', file)],
      { cwd: REPO_ROOT, env: { ...process.env, ...env }, timeout: EXAMPLE_TIMEOUT_MS },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('examples/*.ts (the TypeScript examples in the README) against local/easel/sketch', () => {
  let sut: TestApp;
  let env: Record<string, string>;
  let outDir: string;

  beforeAll(async () => {
    sut = await createTestApp();
    const { key } = await sut.createKey();
    outDir = await mkdtemp(join(tmpdir(), 'easel-examples-'));
    env = { EASEL_BASE_URL: `${sut.baseUrl}/v1`, EASEL_API_KEY: key, OUT_DIR: outDir };
  });

  afterAll(async () => {
    await sut.close();
    await rm(outDir, { recursive: true, force: true });
  });

  it('images-b64.ts writes a 1024x1024 PNG and prints its path and usage', async () => {
    const run = await runExample('images-b64.ts', env);

    expect(run).toMatchObject({ code: 0 });
    const files = await readdir(outDir);
    expect(files).toEqual([expect.stringMatching(/^easel-\d+\.png$/)]);
    const file = join(outDir, files[0]!);
    expect(run.stdout).toContain(file);
    expect(run.stdout).toContain('"total_tokens":0');
    expect(await sharp(file).metadata()).toMatchObject({ format: 'png', width: 1024, height: 1024 });
  }, 60_000);

  it('images-url.ts prints the signed URL and downloads an image/png', async () => {
    const run = await runExample('images-url.ts', env);

    expect(run).toMatchObject({ code: 0 });
    expect(run.stdout).toContain(`URL: ${sut.baseUrl}/v1/images/files/`);
    expect(run.stdout).toMatch(/Downloaded image\/png, \d+ bytes/);
  }, 60_000);

  it('exits non-zero with a one-line reason when the key is wrong', async () => {
    const run = await runExample('images-url.ts', { ...env, EASEL_API_KEY: 'sk-easel-not-a-real-key' });

    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('Image generation failed: 401');
  }, 60_000);
});
