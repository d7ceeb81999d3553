import { spawn, type ChildProcess } from 'node:child_process';
import { isAlive, sleep, stopPid as stopDaemonPid } from '../os/processes';

export { isAlive, sleep };

/**
 * Children started by tests, benchmarks and the demo. Each is stopped by pid,
 * never by name: we only ever stop what we started. `stopAll` runs on exit and
 * on SIGINT/SIGTERM so nothing leaks even when a run is interrupted.
 */
const running = new Set<number>();
const cleanups = new Set<() => void>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', () => runCleanupsSync());
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      runCleanupsSync();
      process.exit(130);
    });
  }
}

/** Remembers a pid so it is killed on exit even if the owner forgets. */
export function trackPid(pid: number): void {
  hookExit();
  running.add(pid);
}

export function untrackPid(pid: number): void {
  running.delete(pid);
}

/** A synchronous cleanup (e.g. `ip netns del`) to run on exit if not run before. */
export function onExitCleanup(fn: () => void): () => void {
  hookExit();
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone (and forgets it). */
export async function stopPid(pid: number, graceMs = 2000): Promise<void> {
  await stopDaemonPid(pid, graceMs);
  running.delete(pid);
}

function runCleanupsSync(): void {
  for (const pid of running) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  running.clear();
  for (const fn of cleanups) {
    try {
      fn();
    } catch {
      /* best effort on exit */
    }
  }
  cleanups.clear();
}


/** Polls `check` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(
  what: string,
  check: () => T | Promise<T>,
  timeoutMs = 10_000,
  intervalMs = 20,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await sleep(intervalMs);
  }
}

/**
 * Waits until a daemon the caller spawned answers (`answers` resolves true),
 * for up to 60 s; fails at once, with the end of its output, if it exits first.
 */
export async function waitForAnswer(what: string, child: ChildProcess, output: () => string, answers: () => Promise<boolean>): Promise<void> {
  await waitFor(`${what} to answer`, async () => {
    if (child.exitCode !== null) throw new Error(`${what} exited ${child.exitCode}: ${output().slice(-2000)}`);
    return answers();
  }, 60_000, 200);
}

/**
 * The end of a sandbox `start`: `boot` what the constructor made; if booting
 * fails, `stop` removes what it left (processes, temp dir) before the error
 * goes on, so a failed start leaks nothing.
 */
export async function bootOrStop<T>(made: T, boot: () => Promise<void>, stop: () => Promise<void>): Promise<T> {
  try {
    await boot();
  } catch (err) {
    await stop();
    throw err;
  }
  return made;
}

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion (no shell), with a time limit. Rejects on non-zero exit. */
export function run(
  cmd: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; allowFail?: boolean; input?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(cmd, args, {
      env: options.env ?? process.env,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    if (options.input !== undefined) child.stdin?.end(options.input);
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0 && !options.allowFail) {
        reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr.trim() || stdout.trim()}`));
      } else {
        resolve({ code, stdout, stderr });
      }
    });
  });
}
