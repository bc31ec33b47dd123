// Node module hooks that run Easel's TypeScript sources in a child process as the build would
// compile them (decorator metadata included, which Nest's injection needs and esbuild-based
// loaders such as tsx do not emit): `.js` imports of `.ts` files resolve to the `.ts` file, which
// TypeScript transpiles on load (cached in the temp dir by content, so a restart is quick).
// Registered by ts-esm-register.mjs (node --import).
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// In the checkout's node_modules/.cache (the usual place for tool caches): a directory of its own
// per checkout and user, which no other user of a shared /tmp can create first or fill.
const CACHE = fileURLToPath(new URL('../../node_modules/.cache/easel-ts-esm/', import.meta.url));
/** Part of the cache key: change it when the options below change. */
const OPTIONS_VERSION = 'esnext-es2023-decorators-metadata-1';
let typescript;

export async function resolve(specifier, context, next) {
  if (/^\.\.?\//.test(specifier) && specifier.endsWith('.js') && context.parentURL?.endsWith('.ts')) {
    const url = new URL(`${specifier.slice(0, -3)}.ts`, context.parentURL);
    if (existsSync(fileURLToPath(url))) return { url: url.href, format: 'module', shortCircuit: true };
  }
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (!url.startsWith('file:') || !url.endsWith('.ts') || url.includes('/node_modules/')) return next(url, context);
  const fileName = fileURLToPath(url);
  const source = await readFile(fileName, 'utf8');
  const cached = join(
    CACHE,
    `${createHash('sha256').update(`${OPTIONS_VERSION}\0${fileName}\0${source}`).digest('hex')}.js`,
  );
  const hit = await readFile(cached, 'utf8').catch(() => undefined);
  if (hit !== undefined) return { format: 'module', source: hit, shortCircuit: true };
  const ts = (typescript ??= (await import('typescript')).default);
  const { outputText } = ts.transpileModule(source, {
    fileName,
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2023,
      experimentalDecorators: true,
      emitDecoratorMetadata: true,
      inlineSourceMap: true,
    },
  });
  await mkdir(CACHE, { recursive: true });
  const aside = `${cached}.${process.pid}.tmp`;
  await writeFile(aside, outputText);
  await rename(aside, cached);
  return { format: 'module', source: outputText, shortCircuit: true };
}
