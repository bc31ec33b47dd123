// `npm run keys -- …`: builds once if needed, then runs the key and team CLI (src/cli/keys.cli.ts).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const entry = 'dist/src/cli/keys.cli.js';
if (!existsSync(entry)) execFileSync('npm', ['run', 'build', '--silent'], { stdio: 'inherit' });
const result = spawnSync(process.execPath, [entry, ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(result.status ?? 1);
