import { inspect } from 'node:util';

/**
 * The embedded PostgreSQL cannot run here (a read-only or private directory, no user to run it
 * as): one plain message naming the path, why, and the ways out. At boot Nest's handler prints it
 * and exits with 1; it prints as its message alone (no stack trace: there is no bug to debug).
 */
export class EmbeddedPostgresUnavailableError extends Error {
  constructor(
    readonly path: string,
    why: string,
    { asRoot, context }: { asRoot: boolean; context?: string },
  ) {
    super(
      `Embedded PostgreSQL cannot start: ${path}: ${why}. ${context ? `${context}. ` : ''}` +
        (asRoot
          ? 'Ways out: run Easel as a regular user, set DATABASE_URL to a PostgreSQL server, or set EASEL_DATA_DIR ' +
            'to a writable directory the user "postgres" can reach (every parent directory searchable by others, ' +
            'e.g. under /srv or /var/lib).'
          : 'Ways out: set DATABASE_URL to a PostgreSQL server, or set EASEL_DATA_DIR to a writable directory.'),
    );
    this.name = EmbeddedPostgresUnavailableError.name;
  }

  /** Printed (by Nest's boot error handler, a test runner, `console.error`) as its message alone: no stack trace. */
  [inspect.custom](): string {
    return this.message;
  }
}

/** A file system error in words: "read-only file system (EROFS)". */
export function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const words: Record<string, string> = {
    EROFS: 'read-only file system',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    ENOSPC: 'no space left on device',
    ENOTDIR: 'a parent is not a directory',
    EEXIST: 'exists and is not a directory',
    ENOENT: 'no such file or directory',
  };
  if (code && words[code]) return `${words[code]} (${code})`;
  return error instanceof Error ? error.message : String(error);
}
