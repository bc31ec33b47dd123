// The console (web/) → dist/console, which Easel serves at /console (src/console/console-assets.ts).
// `npm run build` runs this after `nest build` (which empties dist/ first).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/console/',
  // JSX as Preact's (tsconfig.json says the same to the type checker).
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/console', import.meta.url)),
    emptyOutDir: true,
    // Browsers of the last two years: no module-preload polyfill, no legacy transforms.
    target: 'es2022',
    modulePreload: { polyfill: false },
    // Everything is a file under assets/ (a strict Content-Security-Policy, no inlined data but images).
    assetsInlineLimit: 0,
  },
  logLevel: 'warn',
});
