import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat on Linux. */
const CLOCK_TICKS = 100;

export interface Child {
  process: ChildProcess;
  pid: number;
  stop(): Promise<void>;
}

/**
 * Starts `node <args>` with `env` and resolves once `ready` answers; its output goes to the
 * bench's stderr only with BENCH_VERBOSE=1 (log lines are written either way, as in production).
 */
export async function startNode(
  name: string,
  args: string[],
  env: Record<string, string>,
  ready: () => Promise<boolean>,
): Promise<Child> {
  const child = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', process.env.BENCH_VERBOSE ? 'inherit' : 'ignore', 'inherit'],
  });
  let exited = false;
  child.once('exit', () => (exited = true));
  const deadline = Date.now() + 120_000;
  while (!(await ready().catch(() => false))) {
    if (exited) throw new Error(`${name} exited before it was ready (code ${child.exitCode})`);
    if (Date.now() > deadline) throw new Error(`${name} was not ready within 120 s`);
    await sleep(100);
  }
  return {
    process: child,
    pid: child.pid!,
    stop: async () => {
      if (exited) return;
      const done = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await done;
      clearTimeout(timer);
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resident memory of a process in MB (Linux /proc). */
export function rssMb(pid: number): number {
  const line = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return line ? Number(line[1]) / 1024 : Number.NaN;
}

/** User + system CPU seconds a process has used so far (Linux /proc). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

export interface Meter {
  /** Stops sampling: peak RSS in MB and CPU seconds used while it ran. */
  stop(): { peakRssMb: number; cpuSeconds: number };
}

/** Samples a process's RSS every 20 ms and counts the CPU it uses until `stop()`. */
export function meter(pid: number): Meter {
  const cpuStart = cpuSeconds(pid);
  let peak = rssMb(pid);
  const timer = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 20);
  return {
    stop: () => {
      clearInterval(timer);
      peak = Math.max(peak, rssMb(pid));
      return { peakRssMb: peak, cpuSeconds: cpuSeconds(pid) - cpuStart };
    },
  };
}
