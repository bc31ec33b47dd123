// `npm start` runs this first (its "prestart"): builds dist/ with `npm run build` when the build is
// missing or older than what it is built from (after a `git pull` or an edit, a stale build would
// serve yesterday's code), then ends, so that no compiler stays in memory beside the server.
// Exits 1 when the build fails. Configuration (config/, the environment) is read at run time and
// never needs a build.
import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The build's entry point: its time is when the build that wrote it started (see below). */
const OUTPUT = join(ROOT, 'dist', 'src', 'main.js');
/** What the build reads: the sources (a directory's own time changes when a file is added or deleted) and its settings. */
const INPUTS = [
  'src',
  'web',
  'ormconfig.ts',
  'tsconfig.json',
  'tsconfig.build.json',
  'nest-cli.json',
  'package-lock.json',
];

/** The newest modification time of a file, or of a directory and everything in it (0 when it does not exist). */
function newest(path) {
  let stats;
  try {
    stats = statSync(path);
  } catch {
    return 0;
  }
  if (!stats.isDirectory()) return stats.mtimeMs;
  let time = stats.mtimeMs;
  for (const name of readdirSync(path)) time = Math.max(time, newest(join(path, name)));
  return time;
}

/** Builds when needed; returns false when a build was needed and failed. */
export function buildIfStale() {
  const sources = Math.max(...INPUTS.map((input) => newest(join(ROOT, input))));
  const built = newest(OUTPUT);
  if (built > 0 && built >= sources) return true;
  process.stderr.write(`Building Easel (${built ? 'the sources changed since the last build' : 'no build yet'})…\n`);
  const started = Date.now();
  // Through npm, so that this is exactly `npm run build`; npm's own CLI when npm runs this script.
  const [command, args] = process.env.npm_execpath
    ? [process.execPath, [process.env.npm_execpath, 'run', 'build', '--silent']]
    : ['npm', ['run', 'build', '--silent']];
  const build = spawnSync(command, args, { cwd: ROOT, stdio: ['ignore', process.stderr, process.stderr] });
  if (build.status !== 0) {
    // tsc writes its output despite type errors: without it, the next start tries again.
    rmSync(OUTPUT, { force: true });
    process.stderr.write(
      'Error: the build failed (see above). Run `npm run build` to see why, fix it, and try again.\n',
    );
    return false;
  }
  // Dated when the build started: a source saved while it ran is newer, so the next start builds again.
  const stamp = new Date(Math.max(started, sources));
  utimesSync(OUTPUT, stamp, stamp);
  process.stderr.write(`Built in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = buildIfStale() ? 0 : 1;
