/**
 * Temp dirs whose owner died: a bench or test killed with -9 runs no exit
 * cleanup, so the daemons it started detached (ovsdb-server, ovs-vswitchd),
 * the plexusd children it spawned and their embedded etcd stay behind with
 * their dirs. Each dir this harness creates is claimed (`claimTempDir`): a file
 * names the owning process (pid and start time, so a reused pid is not taken
 * for it). `sweepOrphanedTempDirs` — run when a bench starts — stops, by the
 * pidfiles in a dir whose owner is gone, the processes whose command line names
 * that dir, then removes it. Dirs without a claim (other tools, older runs) and
 * dirs of a live owner (a concurrent run) are left alone. Nothing is stopped by name.
 */
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAlive } from '../os/processes';

const OWNER_FILE = 'plexus-owner';

/** Field 22 of /proc/<pid>/stat: when the process started (clock ticks since boot). */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Marks `dir` as this process's: a later sweep removes it (and stops its daemons) once this process is gone. */
export function claimTempDir(dir: string): void {
  try {
    writeFileSync(join(dir, OWNER_FILE), `${process.pid} ${startTimeOf(process.pid) ?? ''}\n`);
  } catch {
    /* the dir is gone already */
  }
}

/** Whether the process that claimed `dir` is gone (false for an unclaimed dir). */
export function isOrphaned(dir: string): boolean {
  let owner: string;
  try {
    owner = readFileSync(join(dir, OWNER_FILE), 'utf8').trim();
  } catch {
    return false;
  }
  const [pidText, started] = owner.split(' ');
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  return !(isAlive(pid) && startTimeOf(pid) === started);
}

/** Pids in the `*.pid` files of `dir` and its direct subdirs whose command line names `dir`. */
function daemonsOf(dir: string): number[] {
  const pidFiles: string[] = [];
  const scan = (d: string, depth: number): void => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      if (n.endsWith('.pid')) pidFiles.push(p);
      else if (depth > 0 && statSync(p, { throwIfNoEntry: false })?.isDirectory()) scan(p, depth - 1);
    }
  };
  scan(dir, 1);
  const pids: number[] = [];
  for (const f of pidFiles) {
    try {
      const pid = Number(readFileSync(f, 'utf8').trim());
      if (pid > 0 && pid !== process.pid && isAlive(pid) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir)) pids.push(pid);
    } catch {
      /* gone meanwhile */
    }
  }
  return pids;
}

export interface SweepResult {
  readonly dirs: readonly string[];
  readonly pids: readonly number[];
}

/**
 * Stops the daemons of, and removes, every claimed temp dir named
 * `<prefix>*` (default: every `plexus-*` and `plexusd-*`) whose owner is gone.
 */
export function sweepOrphanedTempDirs(prefixes: readonly string[] = ['plexus-', 'plexusd-'], root = tmpdir()): SweepResult {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return { dirs: [], pids: [] };
  }
  const dirs: string[] = [];
  const pids: number[] = [];
  for (const name of names) {
    if (!prefixes.some((p) => name.startsWith(p))) continue;
    const dir = join(root, name);
    if (!isOrphaned(dir)) continue;
    for (const pid of daemonsOf(dir)) {
      try {
        process.kill(pid, 'SIGKILL');
        pids.push(pid);
      } catch {
        /* already gone */
      }
    }
    rmSync(dir, { recursive: true, force: true });
    dirs.push(dir);
  }
  return { dirs, pids };
}
