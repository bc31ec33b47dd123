import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants as zlib, gzipSync } from 'node:zlib';
import { Inject, Injectable, Logger } from '@nestjs/common';

/** The directory `vite build` writes the console into (web/vite.config.ts): `dist/console`. */
export const CONSOLE_ASSETS_DIR = Symbol('CONSOLE_ASSETS_DIR');

/** `dist/console` of the checkout this file belongs to (from `dist/src/console` when built, `src/console` in tests). */
export function defaultConsoleAssetsDir(): string {
  let directory = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(directory, 'package.json'))) {
    const parent = dirname(directory);
    if (parent === directory) break;
    directory = parent;
  }
  return join(directory, 'dist', 'console');
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.svg', '.json', '.txt']);

export type ContentEncoding = 'br' | 'gzip' | 'identity';

/** One file of the console, with its compressed forms made once at boot. */
export interface ConsoleAsset {
  readonly contentType: string;
  readonly etag: string;
  /** Under `assets/`: the name carries a hash of the content, so it may be cached for ever. */
  readonly immutable: boolean;
  readonly bodies: Readonly<Partial<Record<ContentEncoding, Buffer>>> & { identity: Buffer };
}

/**
 * The console's files (`npm run build` → `dist/console`), read and compressed (gzip, brotli) once
 * when Easel starts, so that serving one is a map lookup: no file system on a request, and no path
 * a request can steer outside the build (only names found at boot exist).
 */
@Injectable()
export class ConsoleAssets {
  private readonly logger = new Logger(ConsoleAssets.name);
  private readonly files = new Map<string, ConsoleAsset>();

  constructor(@Inject(CONSOLE_ASSETS_DIR) readonly directory: string) {
    if (!existsSync(join(directory, 'index.html'))) {
      this.logger.warn(`The console is not built (no ${join(directory, 'index.html')}): run \`npm run build\``);
      return;
    }
    try {
      for (const path of listFiles(directory)) {
        const name = relative(directory, path).split(sep).join('/');
        this.files.set(name, load(path, name));
      }
    } catch (error) {
      // A build being rewritten while Easel starts: the API serves on, the console says it is not there.
      this.files.clear();
      this.logger.warn(`The console could not be read from ${directory}: ${(error as Error).message}`);
    }
  }

  /** The page every console route answers with (the app routes in the browser); undefined when not built. */
  get index(): ConsoleAsset | undefined {
    return this.files.get('index.html');
  }

  /** A file under `assets/` by its name there. */
  asset(name: string): ConsoleAsset | undefined {
    return this.files.get(`assets/${name}`);
  }

  /** The best encoding of `asset` that an `Accept-Encoding` header accepts. */
  static encodingFor(asset: ConsoleAsset, acceptEncoding: string | undefined): ContentEncoding {
    const accepted = parseAcceptEncoding(acceptEncoding ?? '');
    for (const encoding of ['br', 'gzip'] as const) {
      if (asset.bodies[encoding] && accepted.has(encoding)) return encoding;
    }
    return 'identity';
  }
}

function listFiles(directory: string): string[] {
  return readdirSync(directory).flatMap((name) => {
    const path = join(directory, name);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}

function load(path: string, name: string): ConsoleAsset {
  const identity = readFileSync(path);
  const extension = extname(name).toLowerCase();
  const bodies: ConsoleAsset['bodies'] & Partial<Record<ContentEncoding, Buffer>> = { identity };
  if (COMPRESSIBLE.has(extension) && identity.length > 256) {
    bodies.gzip = gzipSync(identity, { level: 9 });
    bodies.br = brotliCompressSync(identity, {
      params: { [zlib.BROTLI_PARAM_QUALITY]: 11, [zlib.BROTLI_PARAM_SIZE_HINT]: identity.length },
    });
  }
  return {
    contentType: CONTENT_TYPES[extension] ?? 'application/octet-stream',
    etag: `"${createHash('sha256').update(identity).digest('base64url').slice(0, 27)}"`,
    immutable: name.startsWith('assets/'),
    bodies,
  };
}

/** The codings an `Accept-Encoding` header accepts (q > 0); `*` accepts both. */
function parseAcceptEncoding(header: string): Set<string> {
  const accepted = new Set<string>();
  for (const part of header.split(',')) {
    const [coding = '', ...parameters] = part.trim().toLowerCase().split(';');
    const q = parameters.map((p) => p.trim()).find((p) => p.startsWith('q='));
    if (q !== undefined && !(Number(q.slice(2)) > 0)) continue;
    if (coding === '*') ['br', 'gzip'].forEach((c) => accepted.add(c));
    else if (coding) accepted.add(coding.trim());
  }
  return accepted;
}
