import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { claimTempDir } from './orphans';
import { bootOrStop, run, stopPid, trackPid, waitFor, type RunResult } from './processes';

/**
 * A sandboxed Open vSwitch host (SPEC §9): its own `ovsdb-server` and
 * `ovs-vswitchd` in a temp dir, never touching the system's OVS. With
 * `dummy: true` the switch runs `--enable-dummy=override` (control-plane tests
 * at scale); otherwise it uses real netdev datapaths (inside `netns` if given).
 */
export interface OvsHostOptions {
  readonly name?: string;
  readonly dummy?: boolean;
  /** Run both daemons inside this network namespace (`ip netns exec`). */
  readonly netns?: string;
  readonly systemId?: string;
  readonly externalIds?: Readonly<Record<string, string>>;
  /**
   * Start ovs-vswitchd (default true). Without it only the database runs — a
   * simulated switch plays the OpenFlow side — and ovs-vsctl does not wait for a
   * switch to apply its changes.
   */
  readonly switchd?: boolean;
}

const SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';

export class OvsHost {
  private pids: number[] = [];
  /** Arguments each daemon was started with, to restart it the same way. */
  private readonly args = new Map<string, readonly string[]>();
  private constructor(
    readonly name: string,
    readonly dir: string,
    readonly options: OvsHostOptions,
  ) {}

  get dbSock(): string {
    return join(this.dir, 'db.sock');
  }
  get env(): NodeJS.ProcessEnv {
    return { ...process.env, OVS_RUNDIR: this.dir, OVS_LOGDIR: this.dir, OVS_DBDIR: this.dir };
  }
  /** OpenFlow management socket of a bridge (`ovs-ofctl` target). */
  mgmt(bridge = 'br-int'): string {
    return `unix:${join(this.dir, `${bridge}.mgmt`)}`;
  }

  static async start(options: OvsHostOptions = {}): Promise<OvsHost> {
    const name = options.name ?? 'ovs';
    const dir = mkdtempSync(join(tmpdir(), `plexus-${name}-`));
    claimTempDir(dir);
    const host = new OvsHost(name, dir, options);
    return bootOrStop(host, () => host.boot(), () => host.stop());
  }

  private wrap(cmd: string, args: readonly string[]): [string, string[]] {
    return this.options.netns ? ['ip', ['netns', 'exec', this.options.netns, cmd, ...args]] : [cmd, [...args]];
  }

  private async boot(): Promise<void> {
    const d = this.dir;
    await run('ovsdb-tool', ['create', join(d, 'conf.db'), SCHEMA]);
    await this.daemon('ovsdb-server', [
      join(d, 'conf.db'),
      `--remote=punix:${this.dbSock}`,
      '--remote=db:Open_vSwitch,Open_vSwitch,manager_options',
      // As the OVS init scripts do, so that `ovs-vsctl set-ssl` + `set-manager ssl:...` work.
      '--private-key=db:Open_vSwitch,SSL,private_key',
      '--certificate=db:Open_vSwitch,SSL,certificate',
      '--ca-cert=db:Open_vSwitch,SSL,ca_cert',
      `--unixctl=${join(d, 'ovsdb-server.ctl')}`,
    ]);
    await this.vsctl('--no-wait', 'init');
    const ids = { 'system-id': this.options.systemId ?? this.name, ...(this.options.externalIds ?? {}) };
    const idArgs = Object.entries(ids).map(([k, v]) => `external_ids:${k}="${v}"`);
    await this.vsctl('--no-wait', 'set', 'Open_vSwitch', '.', ...idArgs);
    if (this.options.switchd === false) return;
    await this.daemon('ovs-vswitchd', [
      `unix:${this.dbSock}`,
      ...(this.options.dummy ? ['--enable-dummy=override', '--disable-system'] : ['--disable-system']),
      `--unixctl=${join(d, 'ovs-vswitchd.ctl')}`,
    ]);
  }

  /** Starts a daemon with --detach and a pidfile, and tracks its pid. */
  private async daemon(cmd: 'ovsdb-server' | 'ovs-vswitchd', args: readonly string[]): Promise<void> {
    this.args.set(cmd, args);
    const pidfile = join(this.dir, `${cmd}.pid`);
    const [c, a] = this.wrap(cmd, [
      ...args,
      `--pidfile=${pidfile}`,
      '--detach',
      `--log-file=${join(this.dir, `${cmd}.log`)}`,
    ]);
    await run(c, a, { env: this.env });
    const pid = Number(readFileSync(pidfile, 'utf8').trim());
    trackPid(pid);
    this.pids.push(pid);
  }

  pid(cmd: 'ovsdb-server' | 'ovs-vswitchd'): number {
    return Number(readFileSync(join(this.dir, `${cmd}.pid`), 'utf8').trim());
  }

  vsctl(...args: string[]): Promise<RunResult> {
    const noWait = this.options.switchd === false && !args.includes('--no-wait') ? ['--no-wait'] : [];
    const [c, a] = this.wrap('ovs-vsctl', [`--db=unix:${this.dbSock}`, '--timeout=10', ...noWait, ...args]);
    return run(c, a, { env: this.env });
  }
  ofctl(...args: string[]): Promise<RunResult> {
    const [c, a] = this.wrap('ovs-ofctl', ['-O', 'OpenFlow13', ...args]);
    return run(c, a, { env: this.env });
  }
  appctl(target: 'ovs-vswitchd' | 'ovsdb-server', ...args: string[]): Promise<RunResult> {
    const [c, a] = this.wrap('ovs-appctl', [`--target=${join(this.dir, `${target}.ctl`)}`, ...args]);
    return run(c, a, { env: this.env });
  }

  /** Flows of a bridge as ovs-ofctl prints them, without the header line and volatile counters. */
  async dumpFlows(bridge = 'br-int'): Promise<string[]> {
    const { stdout } = await this.ofctl('--no-stats', 'dump-flows', this.mgmt(bridge));
    return stdout
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('OFPST_FLOW') && !l.startsWith('NXST_FLOW'));
  }

  async waitForFile(path: string, timeoutMs = 10_000): Promise<void> {
    await waitFor(`${path} to exist`, () => {
      try {
        readFileSync(path);
        return true;
      } catch {
        return false;
      }
    }, timeoutMs);
  }

  /**
   * Restarts one daemon in place: `ovs-vswitchd` comes back with no flows (as
   * after a crash or an upgrade); `ovsdb-server` comes back on the same database,
   * and every client (managers, vswitchd) must reconnect.
   */
  async restart(cmd: 'ovsdb-server' | 'ovs-vswitchd'): Promise<void> {
    await this.stopDaemon(cmd);
    await this.startDaemon(cmd);
  }

  /** Stops one daemon (the host is offline on that side until `startDaemon`). */
  async stopDaemon(cmd: 'ovsdb-server' | 'ovs-vswitchd'): Promise<void> {
    const pid = this.pid(cmd);
    await stopPid(pid);
    this.pids = this.pids.filter((p) => p !== pid);
  }

  /** Starts a daemon stopped by `stopDaemon` again, with the arguments it first had. */
  async startDaemon(cmd: 'ovsdb-server' | 'ovs-vswitchd'): Promise<void> {
    await this.daemon(cmd, this.args.get(cmd)!);
  }

  async stop(): Promise<void> {
    for (const pid of this.pids.reverse()) await stopPid(pid);
    this.pids = [];
    rmSync(this.dir, { recursive: true, force: true });
  }
}
