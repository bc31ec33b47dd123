import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { createApiKey } from '../factories/api-key.factory.js';
import { createTestApp, type TestApp } from '../utils/test-app.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const EXAMPLE_TIMEOUT_MS = 30_000;

interface ExampleRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `examples/<file>` as a user would (`node --import tsx`), never throwing, so failures show output. */
function runExample(file: string, env: Record<string, string>, args: string[] = []): Promise<ExampleRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', join('examples', file), ...args],
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
    const { key } = await createApiKey(sut);
    outDir = await mkdtemp(join(tmpdir(), 'easel-examples-'));
    env = { EASEL_BASE_URL: `${sut.baseUrl}/v1`, EASEL_API_KEY: key, OUT_DIR: outDir };
  });

  afterAll(async () => {
    await sut.close();
    await rm(outDir, { recursive: true, force: true });
  });

  /** A directory of its own under `outDir`, so each script's files can be counted alone. */
  async function ownOutDir(name: string): Promise<string> {
    const dir = join(outDir, name);
    await mkdir(dir);
    return dir;
  }

  /** The one file a script wrote into `dir`, checked to be named by `pattern` and printed on stdout. */
  async function onlyFileIn(dir: string, pattern: RegExp, stdout: string): Promise<string> {
    const files = await readdir(dir);
    expect(files).toEqual([expect.stringMatching(pattern)]);
    const file = join(dir, files[0]!);
    expect(stdout).toContain(file);
    return file;
  }

  it('images-b64.ts writes a 1024x1024 PNG and prints its path and usage', async () => {
    const run = await runExample('images-b64.ts', env);

    expect(run).toMatchObject({ code: 0 });
    const files = (await readdir(outDir)).filter((name) => name.endsWith('.png'));
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

  it('images-stream.ts prints two partial events and a completed one, and saves the 1024x1024 PNG', async () => {
    const dir = await ownOutDir('images-stream');
    const run = await runExample('images-stream.ts', { ...env, OUT_DIR: dir });

    expect(run).toMatchObject({ code: 0, stderr: '' });
    const eventLines = run.stdout.split('\n').filter((line) => line.startsWith('image_generation.'));
    expect(eventLines).toEqual([
      expect.stringMatching(/^image_generation\.partial_image #0 \(\d+ base64 characters\)$/),
      expect.stringMatching(/^image_generation\.partial_image #1 \(\d+ base64 characters\)$/),
      expect.stringMatching(/^image_generation\.completed 1024x1024 png, usage: \{.*"total_tokens":0\}$/),
    ]);
    const file = await onlyFileIn(dir, /^easel-stream-\d+\.png$/, run.stdout);
    expect(await sharp(file).metadata()).toMatchObject({ format: 'png', width: 1024, height: 1024 });
  }, 60_000);

  it('images-edit.ts edits a PNG inside its mask and writes the 1024x1024 result', async () => {
    const dir = await ownOutDir('images-edit');
    const image = join(dir, 'photo.png');
    const mask = join(dir, 'mask.png');
    await sharp({ create: { width: 64, height: 64, channels: 3, background: '#2050a0' } })
      .png()
      .toFile(image);
    await sharp({ create: { width: 64, height: 64, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
      .png()
      .toFile(mask);
    const run = await runExample('images-edit.ts', { ...env, OUT_DIR: dir, MASK: mask }, [image, 'a hat']);

    expect(run).toMatchObject({ code: 0, stderr: '' });
    const edited = (await readdir(dir)).filter((name) => name.startsWith('easel-edit-'));
    expect(edited).toEqual([expect.stringMatching(/^easel-edit-\d+\.png$/)]);
    expect(run.stdout).toContain(join(dir, edited[0]!));
    expect(run.stdout).toContain('"total_tokens":0');
    expect(await sharp(join(dir, edited[0]!)).metadata()).toMatchObject({ format: 'png', width: 1024, height: 1024 });
  }, 60_000);

  it('chat.ts prints the answer, writes message.images[0] as a 1024x1024 PNG and prints its path and usage', async () => {
    const dir = await ownOutDir('chat');
    const run = await runExample('chat.ts', { ...env, OUT_DIR: dir }, ['A lighthouse at dusk, watercolour']);

    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toContain('Here is a sketch of "A lighthouse at dusk, watercolour".');
    const file = await onlyFileIn(dir, /^easel-chat-\d+\.png$/, run.stdout);
    expect(run.stdout).toMatch(/usage: \{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0,.*"cost_usd":"0"\}/);
    expect(await sharp(file).metadata()).toMatchObject({ format: 'png', width: 1024, height: 1024 });
  }, 60_000);

  it('chat-stream.ts prints the text as it streams, counts and saves the image, and prints the usage chunk', async () => {
    const dir = await ownOutDir('chat-stream');
    const run = await runExample('chat-stream.ts', { ...env, OUT_DIR: dir }, ['A fox in the snow']);

    expect(run).toMatchObject({ code: 0, stderr: '' });
    const [text, ...rest] = run.stdout.split('\n');
    expect(text).toBe('Here is a sketch of "A fox in the snow".');
    const file = await onlyFileIn(dir, /^easel-chat-stream-\d+\.png$/, run.stdout);
    expect(rest).toEqual(
      expect.arrayContaining([
        `Received 1 image(s); wrote ${file} (${(await stat(file)).size} bytes) from local/easel/sketch`,
        'finish_reason: stop',
        expect.stringMatching(/^usage: \{"prompt_tokens":0,.*"cost_usd":"0"\}$/),
      ]),
    );
    expect(await sharp(file).metadata()).toMatchObject({ format: 'png', width: 1024, height: 1024 });
  }, 60_000);

  it("models.ts lists the key's models with their endpoints and availability", async () => {
    const run = await runExample('models.ts', env);

    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout.split('\n')).toEqual(
      expect.arrayContaining([
        'local/easel/sketch [images, chat] available',
        'vertex/google/gemini-2.5-flash-image [chat, images] unavailable: set VERTEX_PROJECT',
      ]),
    );
  }, 60_000);

  it('exits non-zero with a one-line reason when the key is wrong', async () => {
    const run = await runExample('images-url.ts', { ...env, EASEL_API_KEY: 'sk-easel-not-a-real-key' });

    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('Image generation failed: 401');
  }, 60_000);

  it.each([
    ['chat.ts', 'Chat completion failed: 401'],
    ['chat-stream.ts', 'Chat completion failed: 401'],
    ['images-stream.ts', 'Image generation failed: 401'],
    ['models.ts', 'Listing models failed: 401'],
  ])(
    '%s exits 1 with a one-line reason when the key is wrong',
    async (file, reason) => {
      const dir = await ownOutDir(`wrong-key-${file}`);
      const run = await runExample(file, { ...env, OUT_DIR: dir, EASEL_API_KEY: 'sk-easel-not-a-real-key' });

      expect(run.code).toBe(1);
      expect(run.stderr.trim().split('\n')).toEqual([expect.stringContaining(reason)]);
      expect(await readdir(dir)).toEqual([]);
    },
    60_000,
  );

  it('chat-stream.ts exits 1 naming the model when it is not configured here', async () => {
    const run = await runExample('chat-stream.ts', {
      ...env,
      EASEL_MODEL: 'vertex/google/gemini-2.5-flash-image',
    });

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^Chat completion failed: 503 .*VERTEX_PROJECT/);
  }, 60_000);
});

/**
 * The README's TypeScript blocks are excerpts of these scripts, so the README shows code the tests
 * above run. A block's first line names its script (`// examples/chat.ts, abridged`); its other
 * code lines must appear in that script in the same order (indentation aside). Blank lines and
 * comment lines are the README's own (elisions, notes).
 */
describe('the TypeScript blocks of README.md', () => {
  async function readmeBlocks(): Promise<string[][]> {
    const readme = await readFile(join(REPO_ROOT, 'README.md'), 'utf8');
    return [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map(([, body]) => body!.split('\n'));
  }

  /** The lines of `block` not found, in order, in `source`. */
  function missingLines(block: string[], source: string): string[] {
    const sourceLines = source.split('\n').map((line) => line.trim());
    let from = 0;
    const missing: string[] = [];
    for (const line of block.map((text) => text.trim()).filter((text) => text !== '' && !text.startsWith('//'))) {
      const at = sourceLines.indexOf(line, from);
      if (at === -1) missing.push(line);
      else from = at + 1;
    }
    return missing;
  }

  it('are excerpts, in order, of the examples/ script each one names', async () => {
    const blocks = await readmeBlocks();
    expect(blocks.length).toBeGreaterThanOrEqual(3);

    for (const block of blocks) {
      const script = /^\/\/ (examples\/[\w.-]+\.ts)\b/.exec(block[0] ?? '')?.[1];
      expect({ block: block[0], script }).toEqual({ block: block[0], script: expect.any(String) });
      const source = await readFile(join(REPO_ROOT, script!), 'utf8');
      expect({ script, missing: missingLines(block, source) }).toEqual({ script, missing: [] });
    }
  });

  it('would notice a line the script does not have, or has in another order', () => {
    const source = 'const a = 1;\nconst b = 2;\n';

    expect(missingLines(['// note', 'const a = 1;', '', '  const b = 2;'], source)).toEqual([]);
    expect(missingLines(['const b = 2;', 'const a = 1;'], source)).toEqual(['const a = 1;']);
    expect(missingLines(['const c = 3;'], source)).toEqual(['const c = 3;']);
  });
});
