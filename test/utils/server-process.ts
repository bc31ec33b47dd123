import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from './free-port.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface ServerProcess {
  child: ChildProcess;
  baseUrl: string;
  /** Everything it wrote to stdout and stderr. */
  output: string[];
  /** Resolves when the process has exited (and been reaped), with its exit code or signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts Easel as its own process, exactly as `npm start` runs it but from the sources
 * (`node --import ts-esm-register.mjs src/main.ts`), and waits until /health/ready answers 200.
 * For tests that kill the process.
 */
export function startServerProcess(env: Record<string, string>, timeoutMs = 60_000): Promise<ServerProcess> {
  return spawnUntilReady(process.execPath, ['--import', './test/utils/ts-esm-register.mjs', 'src/main.ts'], {
    env,
    timeoutMs,
  });
}

export interface SpawnOptions {
  /** Besides PATH, HOME, PORT, HOST and PUBLIC_BASE_URL (a free port on loopback). */
  env: Record<string, string>;
  timeoutMs: number;
  /** In a process group of its own (as a shell runs a job). */
  detached?: boolean;
  /** How a process that never got ready is stopped (default: SIGKILL to it). */
  kill?: (child: ChildProcess) => void;
}

/** Runs `command` in the repository with Easel's settings on a free port; resolves once /health/ready answers 200. */
export async function spawnUntilReady(command: string, args: string[], options: SpawnOptions): Promise<ServerProcess> {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const child = spawn(command, args, {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_BASE_URL: baseUrl,
      ...options.env,
    },
    detached: options.detached ?? false,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => output.push(chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => output.push(chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    // 'close': after the exit, once the output has been read to its end.
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  let gone = false;
  void exited.then(() => (gone = true));

  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    if (gone) throw new Error(`${command} exited during start:\n${output.join('')}`);
    if (Date.now() > deadline) {
      (options.kill ?? ((process) => process.kill('SIGKILL')))(child);
      throw new Error(`${command} was not ready within ${options.timeoutMs} ms:\n${output.join('')}`);
    }
    const status = await fetch(`${baseUrl}/health/ready`).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) return { child, baseUrl, output, exited };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
