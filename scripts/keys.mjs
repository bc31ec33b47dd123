// `npm run keys -- …`: builds when the build is missing or older than the sources (after a
// `git pull`, a stale build would run yesterday's CLI), then runs the key and team CLI
// (src/cli/keys.cli.ts) and exits with its code: 0 done, 1 the command failed, 2 usage error.
import { spawnSync } from 'node:child_process';
import { buildIfStale } from './build-if-stale.mjs';

const entry = 'dist/src/cli/keys.cli.js';

// Build output goes to stderr: stdout carries only the CLI's results.
if (!buildIfStale()) process.exit(1);
const result = spawnSync(process.execPath, [entry, ...process.argv.slice(2)], { stdio: 'inherit' });
if (result.error) {
  process.stderr.write(`Error: could not run ${entry}: ${result.error.message}\n`);
  process.exit(1);
}
process.exit(result.status ?? 1);
