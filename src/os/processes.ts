/**
 * Process helpers for the daemon itself (the embedded etcd): liveness by
 * /proc, stop by pid with a grace period. Unlike the test harness's helpers
 * (src/sandbox/processes.ts) nothing here hooks signals or process exit: the
 * daemon's own shutdown decides what stops and how.
 */
import { readFileSync } from 'node:fs';

/** True while the process exists and is not a zombie waiting to be reaped. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopPid(pid: number, graceMs = 2000): Promise<void> {
  if (!signalPid(pid, 'SIGTERM')) return;
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(20);
  if (isAlive(pid)) {
    signalPid(pid, 'SIGKILL');
    while (isAlive(pid)) await sleep(10);
  }
}

/** Sends a signal; false when the process is already gone. */
export function signalPid(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
