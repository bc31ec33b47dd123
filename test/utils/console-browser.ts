import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import playwright, { type Browser } from 'playwright-core';

/** Debian's Chromium (`apt-get install -y chromium`), or the one `CHROMIUM_PATH` names. Never a downloaded browser. */
export function findChromium(): string | undefined {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  return candidates.find((path): path is string => !!path && existsSync(path));
}

/** The flags this machine's Chromium runs with: no sandbox (root in CI), no GPU, nothing fetched from the network. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launchChromium(executablePath: string): Promise<Browser> {
  return playwright.chromium.launch({ executablePath, args: CHROMIUM_ARGS });
}

/** Builds the console from web/ into `outDir`, exactly as `npm run build` does into dist/console. */
export function buildConsole(outDir: string): void {
  const build = spawnSync(
    process.execPath,
    ['node_modules/vite/bin/vite.js', 'build', '--config', 'web/vite.config.ts', '--outDir', outDir, '--emptyOutDir'],
    { encoding: 'utf8' },
  );
  if (build.status !== 0) throw new Error(`vite build failed:\n${build.stdout}\n${build.stderr}`);
}

/** What a browser downloads for the console: each file's size as sent (gzip at level 9, as Easel sends it to a browser without brotli). */
export function consoleAssetSizes(outDir: string): {
  files: Record<string, { bytes: number; gzip: number }>;
  gzipTotal: number;
} {
  const files: Record<string, { bytes: number; gzip: number }> = {};
  const list = (directory: string, prefix: string): void => {
    for (const name of readdirSync(directory, { withFileTypes: true })) {
      const path = join(directory, name.name);
      if (name.isDirectory()) list(path, `${prefix}${name.name}/`);
      else {
        const bytes = readFileSync(path);
        files[`${prefix}${name.name}`] = { bytes: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
      }
    }
  };
  list(outDir, '');
  return { files, gzipTotal: Object.values(files).reduce((sum, file) => sum + file.gzip, 0) };
}
