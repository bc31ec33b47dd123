/**
 * `npm run bench -- --against <ref>`: a build of an earlier tag or commit of Easel, benched beside
 * the current code in the same run. The ref's tree is exported with `git archive` into a temp dir,
 * its dependencies are the current node_modules (a symlink) when its package-lock.json is
 * byte-identical to the current one and `npm ci` otherwise, and it is built the way that ref
 * builds its server (`npm run build`, else `tsc -p tsconfig.build.json`).
 */
import { execFile } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import type { Teardown } from './processes.js';

export interface PreviousBuild {
  /** What the report calls it: `easel@<tag>` for a tag, `easel@<short commit>` otherwise. */
  label: string;
  commit: string;
  /** The exported tree: the working directory to start it in (its config/, its .env if any). */
  dir: string;
  /** Its built server, absolute. */
  main: string;
}

/** Where a ref's `npm run build` may have put its server, newest layout first. */
const MAIN_CANDIDATES = ['dist/src/main.js', 'dist/main.js'];

/**
 * Exports, installs and builds `ref` of the repository in `repo`; the temp dir is removed by
 * `teardown` (also when this fails half-way). Progress goes to stderr.
 */
export async function buildPrevious(ref: string, repo: string, teardown: Teardown): Promise<PreviousBuild> {
  const commit = await run('git', ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], repo).then(
    ({ stdout }) => stdout.trim(),
    () => '',
  );
  if (!commit) throw new Error(`--against ${ref}: not a tag or commit of the repository in ${repo}`);
  const isTag = await run('git', ['rev-parse', '--verify', '--quiet', `refs/tags/${ref}`], repo).then(
    () => true,
    () => false,
  );
  const name = isTag ? ref : (await run('git', ['rev-parse', '--short', commit], repo)).stdout.trim();
  const label = `easel@${name}`;

  const dir = mkdtempSync(join(tmpdir(), `easel-bench-${name.replace(/[^\w.-]/g, '_')}-`));
  teardown.defer(`removing ${dir}`, () => {
    // The link first, so that nothing can ever reach the current node_modules through it.
    const modules = join(dir, 'node_modules');
    if (existsSync(modules) && lstatSync(modules).isSymbolicLink()) unlinkSync(modules);
    rmSync(dir, { recursive: true, force: true });
  });
  console.error(`${label}: exporting ${commit} into ${dir}`);
  const archive = join(dir, '.tree.tar');
  await run('git', ['archive', '--format=tar', `--output=${archive}`, commit], repo);
  await run('tar', ['-xf', archive, '-C', dir], dir);
  rmSync(archive);
  if (!existsSync(join(dir, 'package.json'))) throw new Error(`${label}: the tree has no package.json to build`);

  const currentLock = join(repo, 'package-lock.json');
  const lock = join(dir, 'package-lock.json');
  if (existsSync(lock) && existsSync(currentLock) && readFileSync(lock).equals(readFileSync(currentLock))) {
    console.error(`${label}: package-lock.json identical to the current one: using the current node_modules`);
    symlinkSync(resolve(repo, 'node_modules'), join(dir, 'node_modules'), 'dir');
  } else {
    const install = existsSync(lock) ? ['ci'] : ['install'];
    console.error(`${label}: its dependencies differ from the current ones: npm ${install[0]} (this takes a while)`);
    await run('npm', [...install, '--no-audit', '--no-fund'], dir, label);
  }

  const scripts = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { scripts?: Record<string, string> })
    .scripts;
  if (scripts?.build) {
    console.error(`${label}: npm run build (${scripts.build})`);
    await run('npm', ['run', 'build'], dir, label);
  } else if (existsSync(join(dir, 'tsconfig.build.json'))) {
    console.error(`${label}: no build script: tsc -p tsconfig.build.json`);
    await run(
      process.execPath,
      [join(dir, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
      dir,
      label,
    );
  } else {
    throw new Error(`${label}: no buildable server (no "build" script in package.json, no tsconfig.build.json)`);
  }
  const main = MAIN_CANDIDATES.map((candidate) => join(dir, candidate)).find((file) => existsSync(file));
  if (!main)
    throw new Error(`${label}: built, but there is no server to start (looked for ${MAIN_CANDIDATES.join(', ')})`);
  return { label, commit, dir, main };
}

/**
 * Runs a command to its end with this bench's Node.js first on PATH (so npm and the scripts it
 * runs use it too). Its output is kept and shown when it fails (shown as it goes with
 * BENCH_VERBOSE=1 and a `label`).
 */
function run(command: string, args: string[], cwd: string, label?: string): Promise<{ stdout: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = execFile(
      command,
      args,
      {
        cwd,
        env: { ...process.env, PATH: [dirname(process.execPath), process.env.PATH].join(delimiter) },
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        if (!error) return resolvePromise({ stdout });
        const output = `${stdout}${stderr}`.trim().split('\n').slice(-40).join('\n');
        const failed = `\`${command} ${args.join(' ')}\` failed (${error.message.split('\n')[0]})`;
        reject(new Error(label ? `${label}: ${failed}\n${output}` : failed));
      },
    );
    if (label && process.env.BENCH_VERBOSE) {
      child.stdout?.pipe(process.stderr);
      child.stderr?.pipe(process.stderr);
    }
  });
}
