import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat on Linux. */
const CLOCK_TICKS = 100;

export interface Child {
  process: ChildProcess;
  pid: number;
  stop: () => Promise<void>;
}

/**
 * Starts `node <args>` with `env` (in `cwd`, the bench's own by default) and resolves once `ready`
 * answers; its output goes to the bench's stderr only with BENCH_VERBOSE=1 (log lines are written
 * either way, as in production). Every process runs the Node.js binary that runs the bench
 * (checked through /proc), so `npm run bench` with another `node` first on PATH benches that one.
 * A process that does not get ready is stopped before the error is thrown.
 */
export async function startNode(
  name: string,
  args: string[],
  env: Record<string, string>,
  ready: () => Promise<boolean>,
  cwd?: string,
): Promise<Child> {
  const child = spawn(process.execPath, args, {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', process.env.BENCH_VERBOSE ? 'inherit' : 'ignore', 'inherit'],
  });
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  const stop = async () => {
    if (exited) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exit;
    clearTimeout(timer);
  };
  try {
    const deadline = Date.now() + 120_000;
    while (!(await ready().catch(() => false))) {
      if (exited) throw new Error(`${name} exited before it was ready (code ${child.exitCode})`);
      if (Date.now() > deadline) throw new Error(`${name} was not ready within 120 s`);
      await sleep(100);
    }
    const binary = realpathSync(`/proc/${child.pid}/exe`);
    if (binary !== realpathSync(process.execPath))
      throw new Error(`${name} runs ${binary}, not the bench's ${process.execPath}`);
  } catch (error) {
    await stop();
    throw error;
  }
  return { process: child, pid: child.pid!, stop };
}

/**
 * What the bench must undo however it ends (processes, temp dirs): steps run last first, each
 * once, a failing one reported without keeping the others from running.
 */
export class Teardown {
  private readonly steps: Array<{ what: string; step: () => unknown }> = [];
  private closing = false;

  /** Adds a step; once the teardown has begun (an interrupted run still starting things), runs it now. */
  defer(what: string, step: () => unknown): void {
    this.steps.push({ what, step });
    if (this.closing) void this.run();
  }

  async run(): Promise<void> {
    this.closing = true;
    for (let next = this.steps.pop(); next; next = this.steps.pop()) {
      try {
        await next.step();
      } catch (error) {
        console.error(`cleaning up (${next.what}) failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resident memory of a process in MB (Linux /proc). */
export function rssMb(pid: number): number {
  const line = /VmRSS:\s+(\d+) kB/.exec(procFile(pid, 'status'));
  return line ? Number(line[1]) / 1024 : Number.NaN;
}

/** User + system CPU seconds a process has used so far (Linux /proc). */
export function cpuSeconds(pid: number): number {
  const stat = procFile(pid, 'stat');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

function procFile(pid: number, name: string): string {
  try {
    return readFileSync(`/proc/${pid}/${name}`, 'utf8');
  } catch {
    throw new Error(`process ${pid} is gone: it exited while the bench measured it`);
  }
}

export interface Meter {
  /** Stops sampling: peak RSS in MB and CPU seconds used while it ran. */
  stop(): { peakRssMb: number; cpuSeconds: number };
}

/** Samples a process's RSS every 20 ms and counts the CPU it uses until `stop()`. */
export function meter(pid: number): Meter {
  const cpuStart = cpuSeconds(pid);
  let peak = rssMb(pid);
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rssMb(pid));
    } catch {
      // Gone: stop() says so.
    }
  }, 20);
  return {
    stop: () => {
      clearInterval(timer);
      peak = Math.max(peak, rssMb(pid));
      return { peakRssMb: peak, cpuSeconds: cpuSeconds(pid) - cpuStart };
    },
  };
}
