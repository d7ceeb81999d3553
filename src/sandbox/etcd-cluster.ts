/**
 * A real etcd cluster of 1..N members on loopback for tests and benchmarks,
 * each member its own process and data dir, stoppable and restartable one by
 * one (to test losing an etcd member, or all of them).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from './plexusd-process';
import { claimTempDir } from './orphans';
import { bootOrStop, stopPid, trackPid, untrackPid, waitFor } from './processes';

export interface EtcdClusterOptions {
  /** Address the client URLs listen on (default 127.0.0.1), e.g. a lab's controller address dockerds reach. */
  readonly clientHost?: string;
  /** Serve the v2 API too (`--enable-v2`): dockerd's `--cluster-store etcd://` speaks only v2 (libkv). */
  readonly enableV2?: boolean;
}

interface Member {
  readonly name: string;
  readonly client: number;
  readonly peer: number;
  child: ChildProcess | undefined;
}

export class EtcdCluster {
  private constructor(
    private readonly dir: string,
    private readonly members: Member[],
    private readonly options: EtcdClusterOptions,
  ) {}

  private get clientHost(): string {
    return this.options.clientHost ?? '127.0.0.1';
  }

  /** Comma-separated client URLs, as plexusd's --etcd takes them. */
  get endpoints(): string {
    return this.members.map((m) => `http://${this.clientHost}:${m.client}`).join(',');
  }

  static async start(size = 1, options: EtcdClusterOptions = {}): Promise<EtcdCluster> {
    const ports = await freePorts(size * 2);
    const members = Array.from({ length: size }, (_, i) => ({ name: `e${i}`, client: ports[2 * i]!, peer: ports[2 * i + 1]!, child: undefined }));
    const cluster = new EtcdCluster(mkdtempSync(join(tmpdir(), 'plexus-etcd-')), members, options);
    claimTempDir(cluster.dir);
    return bootOrStop(cluster, async () => {
      for (let i = 0; i < size; i++) cluster.spawnMember(i, 'new');
      await Promise.all(members.map((_, i) => cluster.waitHealthy(i)));
    }, () => cluster.stop());
  }

  private spawnMember(i: number, state: 'new' | 'existing'): void {
    const m = this.members[i]!;
    const initial = this.members.map((x) => `${x.name}=http://127.0.0.1:${x.peer}`).join(',');
    const child = spawn(
      'etcd',
      [
        '--name', m.name,
        '--data-dir', join(this.dir, m.name),
        '--listen-client-urls', `http://${this.clientHost}:${m.client}`,
        '--advertise-client-urls', `http://${this.clientHost}:${m.client}`,
        '--listen-peer-urls', `http://127.0.0.1:${m.peer}`,
        '--initial-advertise-peer-urls', `http://127.0.0.1:${m.peer}`,
        '--initial-cluster', initial,
        '--initial-cluster-state', state,
        '--initial-cluster-token', 'plexus-test',
        '--heartbeat-interval', '50',
        '--election-timeout', '500',
        '--log-level', 'error',
        ...(this.options.enableV2 ? ['--enable-v2=true'] : []),
      ],
      { stdio: 'ignore' },
    );
    trackPid(child.pid!);
    child.on('exit', () => untrackPid(child.pid!));
    // For src/sandbox/orphans.ts: a run killed -9 leaves this member, found again by this pidfile.
    writeFileSync(join(this.dir, `${m.name}.pid`), `${child.pid}\n`);
    m.child = child;
  }

  private async waitHealthy(i: number): Promise<void> {
    const m = this.members[i]!;
    await waitFor(`etcd ${m.name} healthy`, async () => {
      const res = await fetch(`http://${this.clientHost}:${m.client}/health`).catch(() => undefined);
      return res?.status === 200 && ((await res.json()) as { health: string }).health === 'true';
    }, 20_000);
  }

  /** Index of the member that is the raft leader now (asked of any running member), or undefined without a quorum. */
  async leaderIndex(): Promise<number | undefined> {
    for (const m of this.members) {
      if (!m.child) continue;
      const status = await fetch(`http://127.0.0.1:${m.client}/v3/maintenance/status`, { method: 'POST', body: '{}' })
        .then((r) => r.json() as Promise<{ header?: { member_id?: string }; leader?: string }>)
        .catch(() => undefined);
      if (!status?.leader || status.leader === '0') continue;
      if (status.leader === status.header?.member_id) return this.members.indexOf(m);
      // Ask the leader itself for its index: its member_id is the leader id.
      for (const other of this.members) {
        if (!other.child || other === m) continue;
        const s2 = await fetch(`http://127.0.0.1:${other.client}/v3/maintenance/status`, { method: 'POST', body: '{}' })
          .then((r) => r.json() as Promise<{ header?: { member_id?: string } }>)
          .catch(() => undefined);
        if (s2?.header?.member_id === status.leader) return this.members.indexOf(other);
      }
    }
    return undefined;
  }

  /** Stops member i (SIGKILL when `hard`). */
  async stopMember(i: number, hard = false): Promise<void> {
    const child = this.members[i]!.child;
    this.members[i]!.child = undefined;
    if (!child?.pid) return;
    if (hard) child.kill('SIGKILL');
    await stopPid(child.pid, 5000);
  }

  /** Starts member i again on its data dir (the others must give it a quorum). */
  async startMember(i: number): Promise<void> {
    this.spawnMember(i, 'existing');
    await this.waitHealthy(i);
  }

  /** Starts every stopped member at once: after a full outage no single member has a quorum alone. */
  async startStopped(): Promise<void> {
    const stopped = this.members.map((m, i) => (m.child ? -1 : i)).filter((i) => i >= 0);
    for (const i of stopped) this.spawnMember(i, 'existing');
    await Promise.all(stopped.map((i) => this.waitHealthy(i)));
  }

  async stop(): Promise<void> {
    for (let i = 0; i < this.members.length; i++) await this.stopMember(i);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
