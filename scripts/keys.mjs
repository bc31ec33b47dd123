// `npm run keys -- …`: builds when the build is missing or older than the sources (after a
// `git pull`, a stale build would run yesterday's CLI), then runs the key and team CLI
// (src/cli/keys.cli.ts) and exits with its code: 0 done, 1 the command failed, 2 usage error.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const entry = 'dist/src/cli/keys.cli.js';

/** The newest modification time of the TypeScript sources the build compiles (specs are not built). */
function newestSource(dir) {
  let newest = 0;
  for (const item of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, item.name);
    if (item.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (item.name.endsWith('.ts') && !item.name.endsWith('.spec.ts'))
      newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function builtAt() {
  try {
    return statSync(entry).mtimeMs;
  } catch {
    return 0;
  }
}

if (builtAt() < newestSource('src')) {
  // Build output goes to stderr: stdout carries only the CLI's results.
  process.stderr.write('Building Easel first (npm run build)…\n');
  const build = spawnSync('npm', ['run', 'build', '--silent'], { stdio: ['ignore', process.stderr, process.stderr] });
  if (build.status !== 0) {
    process.stderr.write(
      'Error: the build failed (see above). Run `npm run build` to see why, fix it, and try again.\n',
    );
    process.exit(1);
  }
}
const result = spawnSync(process.execPath, [entry, ...process.argv.slice(2)], { stdio: 'inherit' });
if (result.error) {
  process.stderr.write(`Error: could not run ${entry}: ${result.error.message}\n`);
  process.exit(1);
}
process.exit(result.status ?? 1);
