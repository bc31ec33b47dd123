import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Where the embedded PostgreSQL of a data dir can be reached while a process runs it:
 * `<EASEL_DATA_DIR>/postgres.running.json`, mode 0600 (the URL holds the password). The process
 * that started the cluster writes it and removes it when it stops the cluster; the keys CLI reads
 * it to connect to that cluster instead of starting a second one on the same files. A file left
 * by a process that was killed names a port nobody answers on (or with another password): the
 * reader tries the URL and falls back.
 */
export interface RunningDatabase {
  url: string;
  /** The process that started the cluster. */
  pid: number;
}

const FILE = 'postgres.running.json';

export function runningDatabaseFile(dataDir: string): string {
  return join(dataDir, FILE);
}

/** Records the URL of the cluster this process runs; a failure is reported, never thrown (the server runs on without it). */
export async function recordRunningDatabase(
  dataDir: string,
  url: string,
  warn: (message: string) => void,
): Promise<void> {
  const file = runningDatabaseFile(dataDir);
  const temporary = `${file}.${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(temporary, `${JSON.stringify({ url, pid: process.pid } satisfies RunningDatabase)}\n`, {
      mode: 0o600,
    });
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => undefined);
    warn(
      `Could not write ${file} (${(error as Error).message}): \`npm run keys\` cannot reach this server's database while it runs.`,
    );
  }
}

/** Removes the record if this process wrote it. */
export async function forgetRunningDatabase(dataDir: string): Promise<void> {
  const running = await readRunningDatabase(dataDir);
  if (running?.pid === process.pid) await rm(runningDatabaseFile(dataDir), { force: true }).catch(() => undefined);
}

/** The recorded cluster, if a well-formed record exists (whether it still runs is for the caller to try). */
export async function readRunningDatabase(dataDir: string): Promise<RunningDatabase | undefined> {
  try {
    const parsed = JSON.parse(await readFile(runningDatabaseFile(dataDir), 'utf8')) as Partial<RunningDatabase>;
    return typeof parsed.url === 'string' && typeof parsed.pid === 'number'
      ? { url: parsed.url, pid: parsed.pid }
      : undefined;
  } catch {
    return undefined;
  }
}
