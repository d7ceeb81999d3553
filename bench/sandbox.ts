/**
 * Benchmark wrappers around src/sandbox that also clean up when the run is cut
 * short (timeout, Ctrl-C, crash): every daemon is pid-tracked (killed on exit by
 * src/sandbox/processes.ts) and every temp dir, and plexusd's embedded etcd
 * (its grandchild, found by the pidfile in its data dir), is removed by an exit
 * cleanup. Nothing is ever stopped by name.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { claimTempDir } from '../src/sandbox/orphans';
import { OvsHost, type OvsHostOptions } from '../src/sandbox/ovs-host';
import { PlexusdProcess, type PlexusdOptions } from '../src/sandbox/plexusd-process';
import { repoRoot } from './framework';
import { isAlive, onExitCleanup, run, stopPid, trackPid, untrackPid, waitFor } from '../src/sandbox/processes';

export interface Stoppable {
  stop(): Promise<void>;
}

/** Stops everything in reverse order of start, never throwing; used in `finally`. */
export class Teardown {
  private readonly items: Stoppable[] = [];
  add<T extends Stoppable>(item: T): T {
    this.items.push(item);
    return item;
  }
  async run(): Promise<void> {
    while (this.items.length) {
      const item = this.items.pop()!;
      await item.stop().catch(() => undefined);
    }
  }
}

function removeDirOnExit(dir: string): () => void {
  return onExitCleanup(() => rmSync(dir, { recursive: true, force: true }));
}

export async function startHost(options: OvsHostOptions): Promise<OvsHost & Stoppable> {
  const host = await OvsHost.start(options);
  const forget = removeDirOnExit(host.dir);
  const stop = host.stop.bind(host);
  return Object.assign(host, {
    stop: async () => {
      await stop();
      forget();
    },
  });
}

/** Kills an etcd that plexusd started in `dataDir` (only if its command line names that dir). */
function killEmbeddedEtcdSync(dataDir: string): void {
  try {
    const pid = Number(readFileSync(join(dataDir, 'etcd.pid'), 'utf8').trim());
    if (pid && isAlive(pid) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dataDir)) process.kill(pid, 'SIGKILL');
  } catch {
    /* no etcd */
  }
}

export interface BenchPlexusd extends Stoppable {
  readonly process: PlexusdProcess;
}

/**
 * Starts plexusd with its data dir removed on exit. With `cpuProfileFile`, it
 * runs under the V8 sampling profiler (bench/cpu-profile-preload.cjs), written
 * there when it stops gracefully.
 */
export async function startPlexusd(options: PlexusdOptions = {}, cpuProfileFile?: string): Promise<BenchPlexusd> {
  const dataDir = mkdtempSync(join(tmpdir(), 'plexus-bench-plexusd-'));
  claimTempDir(dataDir);
  const forget = onExitCleanup(() => {
    killEmbeddedEtcdSync(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
  });
  try {
    // PlexusdProcess hands our environment to the child at spawn: set it only around the start.
    const saved = { NODE_OPTIONS: process.env.NODE_OPTIONS, PLEXUS_BENCH_CPU_PROFILE: process.env.PLEXUS_BENCH_CPU_PROFILE };
    if (cpuProfileFile) {
      const preload = join(repoRoot(), 'bench', 'cpu-profile-preload.cjs');
      process.env.NODE_OPTIONS = `${saved.NODE_OPTIONS ?? ''} --require ${preload}`.trim();
      process.env.PLEXUS_BENCH_CPU_PROFILE = cpuProfileFile;
    }
    let p: PlexusdProcess;
    try {
      p = await PlexusdProcess.start({ ...options, dataDir });
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
    return {
      process: p,
      stop: async () => {
        await p.destroy();
        killEmbeddedEtcdSync(dataDir);
        rmSync(dataDir, { recursive: true, force: true });
        forget();
      },
    };
  } catch (err) {
    killEmbeddedEtcdSync(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
    forget();
    throw err;
  }
}

const OVN_SCHEMAS = { nb: '/usr/share/ovn/ovn-nb.ovsschema', sb: '/usr/share/ovn/ovn-sb.ovsschema' } as const;

/** Starts a `--detach --pidfile` daemon and tracks its pid. */
async function startDaemon(dir: string, name: string, cmd: string, args: readonly string[], env?: NodeJS.ProcessEnv): Promise<number> {
  const pidfile = join(dir, `${name}.pid`);
  await run(cmd, [...args, `--pidfile=${pidfile}`, '--detach', `--log-file=${join(dir, `${name}.log`)}`], { env: env ?? process.env });
  const pid = Number(readFileSync(pidfile, 'utf8').trim());
  trackPid(pid);
  return pid;
}

/**
 * OVN's central side in a temp dir: NB and SB `ovsdb-server`s on unix sockets
 * and `ovn-northd` between them.
 */
export class OvnCentral implements Stoppable {
  private readonly pids: number[] = [];
  private readonly forget: () => void;
  private constructor(readonly dir: string) {
    this.forget = removeDirOnExit(dir);
  }

  get nbSock(): string {
    return join(this.dir, 'nb.sock');
  }
  get sbSock(): string {
    return join(this.dir, 'sb.sock');
  }

  static async start(): Promise<OvnCentral> {
    const c = new OvnCentral(mkdtempSync(join(tmpdir(), 'plexus-bench-ovn-')));
    claimTempDir(c.dir);
    try {
      for (const db of ['nb', 'sb'] as const) {
        await run('ovsdb-tool', ['create', join(c.dir, `${db}.db`), OVN_SCHEMAS[db]]);
        c.pids.push(await startDaemon(c.dir, `ovsdb-${db}`, 'ovsdb-server', [
          join(c.dir, `${db}.db`),
          `--remote=punix:${join(c.dir, `${db}.sock`)}`,
          `--unixctl=${join(c.dir, `ovsdb-${db}.ctl`)}`,
        ]));
      }
      c.pids.push(await startDaemon(c.dir, 'ovn-northd', 'ovn-northd', [
        `--ovnnb-db=unix:${c.nbSock}`,
        `--ovnsb-db=unix:${c.sbSock}`,
        `--unixctl=${join(c.dir, 'ovn-northd.ctl')}`,
      ]));
    } catch (err) {
      await c.stop();
      throw err;
    }
    return c;
  }

  nbctl(...args: string[]): Promise<string> {
    return run('ovn-nbctl', [`--db=unix:${this.nbSock}`, '--timeout=60', ...args], { timeoutMs: 70_000 }).then((r) => r.stdout);
  }
  sbctl(...args: string[]): Promise<string> {
    return run('ovn-sbctl', [`--db=unix:${this.sbSock}`, '--timeout=60', ...args], { timeoutMs: 70_000 }).then((r) => r.stdout);
  }

  /** Starts `ovn-controller` for a host whose external_ids already point at our SB. */
  async startController(host: OvsHost): Promise<Stoppable> {
    const env = { ...host.env, OVN_RUNDIR: host.dir, OVN_LOGDIR: host.dir, OVN_DBDIR: host.dir };
    const pid = await startDaemon(host.dir, 'ovn-controller', 'ovn-controller', [`unix:${host.dbSock}`], env);
    return {
      stop: async () => {
        await stopPid(pid);
        untrackPid(pid);
      },
    };
  }

  async waitForChassis(count: number, timeoutMs: number): Promise<void> {
    await waitFor(`${count} OVN chassis`, async () => {
      const out = await this.sbctl('--bare', '--columns=name', 'list', 'Chassis');
      return out.split('\n').filter((l) => l.trim()).length >= count;
    }, timeoutMs, 200);
  }

  async stop(): Promise<void> {
    for (const pid of this.pids.reverse()) {
      await stopPid(pid);
      untrackPid(pid);
    }
    this.pids.length = 0;
    rmSync(this.dir, { recursive: true, force: true });
    this.forget();
  }
}
