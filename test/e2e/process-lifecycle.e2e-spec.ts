import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type ServerProcess, spawnUntilReady } from '../utils/server-process.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** What the test waits for everything to be gone after the signal (an idle server takes well under a second). */
const GONE_WITHIN_MS = 5_000;
/** `npm start` builds first when the sources changed since the build (a checkout being edited). */
const READY_WITHIN_MS = 150_000;

interface Proc {
  pid: number;
  ppid: number;
  pgid: number;
  stat: string;
  args: string;
}

/** Every process on the machine, from `ps` (Linux and macOS alike). */
function processes(): Map<number, Proc> {
  const table = new Map<number, Proc>();
  for (const line of execFileSync('ps', ['-A', '-o', 'pid=,ppid=,pgid=,stat=,args='], { encoding: 'utf8' }).split(
    '\n',
  )) {
    const match = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\S+)\s+(.*)$/.exec(line);
    if (match) {
      const [, pid, ppid, pgid, stat, args] = match;
      table.set(Number(pid), { pid: Number(pid), ppid: Number(ppid), pgid: Number(pgid), stat: stat!, args: args! });
    }
  }
  return table;
}

/** The process and all its descendants. */
function tree(root: number): Proc[] {
  const table = processes();
  const found = table.has(root) ? [table.get(root)!] : [];
  for (let i = 0; i < found.length; i++)
    for (const proc of table.values()) if (proc.ppid === found[i]!.pid) found.push(proc);
  return found;
}

/** Those of `procs` still running (a zombie has ended: only its parent has not read its status yet). */
function running(procs: Proc[]): Proc[] {
  const table = processes();
  return procs.filter((proc) => table.get(proc.pid)?.stat.startsWith('Z') === false);
}

/** `npm start` in a process group of its own (as a shell runs a job), ready when /health/ready answers 200. */
function npmStart(dataDir: string): Promise<ServerProcess> {
  // No DATABASE_URL: the embedded PostgreSQL.
  return spawnUntilReady('npm', ['start'], {
    env: { EASEL_DATA_DIR: dataDir },
    timeoutMs: READY_WITHIN_MS,
    detached: true,
    kill: (npm) => {
      for (const proc of tree(npm.pid!)) process.kill(proc.pid, 'SIGKILL');
    },
  });
}

/** Resolves with what is still running once `procs` are all gone, or when the time is up. */
async function waitUntilGone(procs: Proc[], withinMs = GONE_WITHIN_MS): Promise<Proc[]> {
  const deadline = Date.now() + withinMs;
  let left = running(procs);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    left = running(left);
  }
  return left;
}

const isServer = (proc: Proc) => proc.args === 'node --expose-gc dist/src/main.js';
const isPostgres = (proc: Proc) => /(^|\/)postgres( |:|$)/.test(proc.args);

describe('npm start and its stop (the process tree: npm, the server, the embedded PostgreSQL)', () => {
  let dataDir: string;
  let procs: Proc[] = [];

  beforeAll(async () => {
    // What `npm start` builds first (its prestart) when there is no build or the sources are newer:
    // done here, once, so that a test's own time is the start and the stop only. The only test that
    // builds: no other spec runs dist/.
    await promisify(execFile)(process.execPath, ['scripts/build-if-stale.mjs'], { cwd: ROOT });
    dataDir = await mkdtemp(join(tmpdir(), 'easel-lifecycle-'));
  }, 600_000);

  afterEach(() => {
    // A failed test leaves nothing running for the next one.
    for (const proc of running(procs)) process.kill(proc.pid, 'SIGKILL');
    procs = [];
  });

  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  /** Starts, records the tree, and checks its shape: npm → one Node.js process → PostgreSQL. */
  async function start(): Promise<ServerProcess> {
    const started = await npmStart(dataDir);
    procs = tree(started.child.pid!);
    const [npm, ...below] = procs;
    const servers = below.filter(isServer);
    expect(servers).toHaveLength(1);
    // npm starts the server itself: no shell, no `nest start` (and its compiler) in between.
    expect(servers[0]!.ppid).toBe(npm!.pid);
    expect(below.filter((proc) => !isServer(proc) && !isPostgres(proc))).toEqual([]);
    const postmaster = below.find((proc) => isPostgres(proc) && proc.ppid === servers[0]!.pid);
    expect(postmaster).toBeDefined();
    // Its own process group: the terminal's Ctrl-C reaches the server only, which stops it last.
    expect(postmaster!.pgid).not.toBe(npm!.pgid);
    return started;
  }

  /** After the stop: nothing left, the embedded PostgreSQL shut down cleanly by the server, nothing alarming said. */
  async function expectStoppedCleanly(
    run: ServerProcess,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    expect(await waitUntilGone(procs)).toEqual([]);
    const exit = await run.exited;
    expect(existsSync(join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
    expect(existsSync(join(dataDir, 'postgres.running.json'))).toBe(false);
    const output = run.output.join('');
    // The last lines are written too (pino's buffer is flushed at exit).
    expect(output).toMatch(/"msg":"Stopping \(SIG(TERM|INT)\)"/);
    expect(output).not.toMatch(/"level":(50|60)|npm (error|ERR!)|raised an error|Error:|^\s+at /m);
    return exit;
  }

  it('SIGTERM to npm stops the server and the embedded PostgreSQL; npm exits 0', async () => {
    const run = await start();

    process.kill(run.child.pid!, 'SIGTERM');

    expect(await expectStoppedCleanly(run)).toEqual({ code: 0, signal: null });
  }, 300_000);

  it('Ctrl-C (SIGINT to the process group) stops the server and the embedded PostgreSQL', async () => {
    const run = await start();

    process.kill(-run.child.pid!, 'SIGINT');

    const exit = await expectStoppedCleanly(run);
    // npm passes the SIGINT on and exits as the server did (0), or by the SIGINT when it had
    // already seen the server exit when its own SIGINT came.
    expect([
      { code: 0, signal: null },
      { code: null, signal: 'SIGINT' },
    ]).toContainEqual(exit);
  }, 300_000);

  it("a supervisor's SIGTERM to the server process stops it, the embedded PostgreSQL and npm", async () => {
    const run = await start();
    const server = procs.find(isServer)!;

    process.kill(server.pid, 'SIGTERM');

    expect(await expectStoppedCleanly(run)).toEqual({ code: 0, signal: null });
  }, 300_000);
});
