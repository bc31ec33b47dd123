import { type ChildProcess, spawn, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { isProcessAlive } from '../common/os/process-alive.js';
import { describeFsError, EmbeddedPostgresUnavailableError } from './embedded-postgres.error.js';
import {
  type EmbeddedPostgresLayout,
  type EmbeddedPostgresLayoutOptions,
  planEmbeddedPostgres,
} from './embedded-postgres-layout.js';
import { readRunningDatabase } from './running-database.js';

export interface EmbeddedPostgresHandle {
  /** Connection URL of the `database` on the embedded server. */
  url: string;
  /** The cluster's directory (as root possibly under `/var/lib/easel`: see `notes`). */
  clusterDir: string;
  /** Why, as root, the binaries or the cluster are not where a regular user would have them. */
  notes: string[];
  /** Starts the server again after `stop()`: same port, same data. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions extends EmbeddedPostgresLayoutOptions {
  database: string;
  log?: (message: string) => void;
  /**
   * Runs PostgreSQL (and `initdb`) in a process group of its own, so that a signal to the
   * caller's group (Ctrl-C in a terminal, `kill -- -<pgid>`) does not reach it and the caller
   * stops it in its own time (after its connection pool has closed). Only for a caller that stops
   * it on its way out: the server does (its shutdown hook, and a `process.exit` hook). Without it,
   * the server gets the group's signals too (the tests' cluster: Ctrl-C on Jest stops it).
   */
  ownProcessGroup?: boolean;
}

/** How long a server left behind by a killed Easel gets to shut down before this start gives up. */
const ORPHAN_STOP_TIMEOUT_MS = 30_000;
/** Messages in English whatever the machine's locale: readiness is read from the server's log. */
const MESSAGES_LOCALE = 'C';
const READY = 'database system is ready to accept connections';
const START_TIMEOUT_MS = 60_000;

/**
 * Starts a real PostgreSQL server from the binaries of the `embedded-postgres` package with its
 * cluster under `<dataDir>/postgres` (as root, see {@link planEmbeddedPostgres} for where the
 * binaries and the cluster go when a private directory is in the way), initialising it on first
 * use. It listens on a free loopback port only, with a random password kept beside the cluster,
 * so the data survives restarts. Nothing is left running when it fails.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
  const layout = await planEmbeddedPostgres(options);
  const log = options.log ?? (() => undefined);
  const clusterDir = join(layout.clusterHome, 'postgres');
  const password = await readOrCreatePassword(join(layout.clusterHome, 'postgres.password'), layout);
  const spawning = spawnOptions(layout, options.ownProcessGroup ?? false);
  if (!existsSync(join(clusterDir, 'PG_VERSION'))) await initialise(layout, spawning, clusterDir, password, log);
  await stopOrphanedServer(clusterDir, options.dataDir, log);
  const port = await freePort();
  const server = new PostgresProcess(
    join(layout.nativeDir, 'bin', 'postgres'),
    [
      ...['-D', clusterDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
      ...['-c', 'max_connections=200', '-c', `lc_messages=${MESSAGES_LOCALE}`],
    ],
    spawning,
    clusterDir,
    !!layout.runAs,
    log,
  );
  await server.start();
  try {
    await createDatabase({ host: '127.0.0.1', port, user: 'postgres', password }, options.database);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${options.database}`,
    clusterDir,
    notes: layout.notes,
    start: () => server.start(),
    stop: () => server.stop(),
  };
}

/**
 * A server left running by an Easel process that was killed (SIGKILL, the OOM killer: it had no
 * chance to stop it) still holds the cluster's lock file, and would make every later start fail.
 * When the process recorded as its owner (`running-database.ts`) is gone, the server is stopped
 * (fast shutdown: it rolls back open transactions, nothing committed is lost) so that this start
 * takes the cluster over. A server whose owner still runs belongs to another Easel: refused.
 * Without a record, PostgreSQL's own lock-file error follows.
 */
async function stopOrphanedServer(clusterDir: string, dataDir: string, log: (message: string) => void): Promise<void> {
  const lockFile = join(clusterDir, 'postmaster.pid');
  const pid = Number.parseInt((await readFile(lockFile, 'utf8').catch(() => '')).split('\n', 1)[0]!, 10);
  if (!Number.isSafeInteger(pid) || pid <= 0 || !isProcessAlive(pid)) return;
  const owner = (await readRunningDatabase(dataDir))?.pid;
  if (owner === undefined || owner === process.pid) return;
  if (isProcessAlive(owner)) {
    throw new Error(
      `The embedded PostgreSQL in ${clusterDir} is run by another Easel process (pid ${owner}) on the same EASEL_DATA_DIR; ` +
        'stop that one first, or give this one its own EASEL_DATA_DIR.',
    );
  }
  log(`Stopping the PostgreSQL server (pid ${pid}) left running by Easel process ${owner}, which is gone`);
  process.kill(pid, 'SIGINT');
  const deadline = Date.now() + ORPHAN_STOP_TIMEOUT_MS;
  // Done when the server has removed its lock file (it may stay a zombie of whoever adopted it).
  while (existsSync(lockFile) && isProcessAlive(pid)) {
    if (Date.now() > deadline)
      throw new Error(
        `The PostgreSQL server (pid ${pid}) left running in ${clusterDir} did not stop within 30 s; stop it by hand.`,
      );
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function spawnOptions(layout: EmbeddedPostgresLayout, ownProcessGroup: boolean): SpawnOptions {
  return {
    // A directory the server's user can enter (the checkout may be private to root).
    cwd: layout.clusterHome,
    env: { ...process.env, LC_MESSAGES: MESSAGES_LOCALE },
    detached: ownProcessGroup,
    ...layout.runAs,
  };
}

async function initialise(
  layout: EmbeddedPostgresLayout,
  spawning: SpawnOptions,
  clusterDir: string,
  password: string,
  log: (message: string) => void,
): Promise<void> {
  const passwordFile = join(layout.clusterHome, `.initdb-password-${randomBytes(6).toString('hex')}`);
  try {
    await mkdir(clusterDir, { recursive: true, mode: 0o700 });
    await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
    if (layout.runAs) {
      await chown(clusterDir, layout.runAs.uid, layout.runAs.gid);
      await chown(passwordFile, layout.runAs.uid, layout.runAs.gid);
    }
  } catch (error) {
    await rm(passwordFile, { force: true });
    throw new EmbeddedPostgresUnavailableError(clusterDir, `cannot prepare the cluster: ${describeFsError(error)}`, {
      asRoot: !!layout.runAs,
    });
  }
  const initdb = join(layout.nativeDir, 'bin', 'initdb');
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(
        initdb,
        [
          ...[`--pgdata=${clusterDir}`, '--auth=scram-sha-256', '--username=postgres', `--pwfile=${passwordFile}`],
          ...[`--lc-messages=${MESSAGES_LOCALE}`, '--encoding=UTF8'],
        ],
        { ...spawning, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      // Stopped (it removes what it created) should Node exit meanwhile.
      const stopOnExit = () => child.kill('SIGINT');
      process.on('exit', stopOnExit);
      child.once('exit', () => process.off('exit', stopOnExit));
      let output = '';
      const collect = (chunk: Buffer) => {
        output += chunk.toString('utf8');
        log(chunk.toString('utf8').trim());
      };
      child.stdout!.on('data', collect);
      child.stderr!.on('data', collect);
      child.once('error', (error) => reject(spawnFailure(initdb, error, !!layout.runAs)));
      child.once('close', (code, signal) =>
        code === 0
          ? resolve()
          : reject(
              new Error(
                `Embedded PostgreSQL could not initialise ${clusterDir} (initdb exited with ${code ?? signal}): ${output.trim()}`,
              ),
            ),
      );
    });
  } finally {
    await rm(passwordFile, { force: true });
  }
}

/** The server process: started, stopped with a fast shutdown (SIGINT), and never left behind when Node exits. */
class PostgresProcess {
  private child?: ChildProcess;
  private readonly stopOnExit = () => this.child?.kill('SIGINT');

  constructor(
    private readonly binary: string,
    private readonly args: string[],
    private readonly options: SpawnOptions,
    private readonly clusterDir: string,
    private readonly asRoot: boolean,
    private readonly log: (message: string) => void,
  ) {}

  async start(): Promise<void> {
    if (this.child) return;
    const child = spawn(this.binary, this.args, { ...this.options, stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    process.on('exit', this.stopOnExit);
    child.once('exit', () => this.forget(child));
    const errors: string[] = [];
    try {
      await new Promise<void>((resolve, reject) => {
        const settle = (error?: Error) => {
          clearTimeout(timer);
          if (error) reject(error);
          else resolve();
        };
        const timer = setTimeout(
          () =>
            settle(
              new Error(`Embedded PostgreSQL did not start in ${this.clusterDir} within ${START_TIMEOUT_MS / 1000} s`),
            ),
          START_TIMEOUT_MS,
        );
        child.stderr!.setEncoding('utf8').on('data', (text: string) => {
          for (const line of text.split('\n').filter((l) => l.trim())) {
            if (/ERROR|FATAL|PANIC/.test(line)) errors.push(line.trim());
            this.log(line.trim());
          }
          if (text.includes(READY)) settle();
        });
        child.on('error', (error) => settle(spawnFailure(this.binary, error, this.asRoot)));
        child.once('exit', (code, signal) =>
          settle(
            new Error(
              `Embedded PostgreSQL did not start in ${this.clusterDir}: ${errors.join(' | ') || `it exited with ${code ?? signal}`}`,
            ),
          ),
        );
      });
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.forget(child);
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise((resolve) => {
      child.once('exit', resolve);
      child.kill('SIGINT');
    });
  }

  private forget(child: ChildProcess): void {
    if (this.child !== child) return;
    this.child = undefined;
    process.off('exit', this.stopOnExit);
  }
}

/** A binary the server's user may not run (EACCES): the plain message; anything else as it is. */
function spawnFailure(binary: string, error: NodeJS.ErrnoException, asRoot: boolean): Error {
  if (error.code !== 'EACCES' && error.code !== 'EPERM') return error;
  return new EmbeddedPostgresUnavailableError(binary, `cannot run it: ${describeFsError(error)}`, { asRoot });
}

async function createDatabase(connection: pg.ClientConfig, database: string): Promise<void> {
  const client = new pg.Client({ ...connection, database: 'postgres' });
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
}

async function readOrCreatePassword(file: string, layout: EmbeddedPostgresLayout): Promise<string> {
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  const password = randomBytes(24).toString('base64url');
  try {
    await writeFile(file, `${password}\n`, { mode: 0o600 });
    await chmod(file, 0o600);
  } catch (error) {
    throw new EmbeddedPostgresUnavailableError(file, `cannot write the password file: ${describeFsError(error)}`, {
      asRoot: !!layout.runAs,
    });
  }
  return password;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}
