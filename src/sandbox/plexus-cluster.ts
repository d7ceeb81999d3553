/**
 * A Plexus cluster for tests and benchmarks: an external etcd (1 or 3 members),
 * N plexusd members with a short lease TTL, and sandboxed OVS hosts whose
 * managers point at every member (SPEC §5).
 */
import { EtcdCluster } from './etcd-cluster';
import { OvsHost } from './ovs-host';
import { PlexusdProcess } from './plexusd-process';
import { waitFor } from './processes';

export interface ClusterView {
  member: string;
  members: { id: string; openflow: string; datapaths: string[] }[];
  masters: Record<string, { member: string; generation: string }>;
}

export class ClusterFixture {
  private constructor(
    readonly etcd: EtcdCluster,
    readonly members: PlexusdProcess[],
    readonly hosts: OvsHost[],
  ) {}

  static async start(options: { members: number; hosts: number; etcdMembers?: number; ttlSeconds?: number; logLevel?: string }): Promise<ClusterFixture> {
    const etcd = await EtcdCluster.start(options.etcdMembers ?? 1);
    const members: PlexusdProcess[] = [];
    const hosts: OvsHost[] = [];
    const fixture = new ClusterFixture(etcd, members, hosts);
    try {
      for (let i = 1; i <= options.members; i++) {
        members.push(await PlexusdProcess.start({ memberId: `m${i}`, etcd: etcd.endpoints, extraArgs: ['--member-ttl', String(options.ttlSeconds ?? 2)], ...(options.logLevel ? { logLevel: options.logLevel } : {}) }));
      }
      for (let i = 1; i <= options.hosts; i++) {
        hosts.push(await OvsHost.start({ name: `h${i}`, dummy: true, externalIds: { 'plexus-encap-ip': `127.1.0.${i}`, 'plexus-bridge-datapath-type': 'dummy' } }));
      }
      await Promise.all(hosts.map((h) => h.vsctl('set-manager', ...members.map((m) => `tcp:127.0.0.1:${m.ports.ovsdb}`))));
      await fixture.waitConverged();
    } catch (err) {
      await fixture.stop();
      throw err;
    }
    return fixture;
  }

  /** A member that is up, for API calls. */
  live(except?: PlexusdProcess): PlexusdProcess {
    return this.members.find((m) => m !== except && m.pid !== undefined)!;
  }

  async cluster(via = this.live()): Promise<ClusterView> {
    return (await via.api<ClusterView>('GET', '/v1/cluster')).body;
  }

  /** The member process mastering `hostId` now. */
  async masterOf(hostId: string, via = this.live()): Promise<PlexusdProcess | undefined> {
    const id = (await this.cluster(via)).masters[hostId]?.member;
    return this.members.find((m) => m.options.memberId === id);
  }

  /**
   * Controller rows of a host's br-int: target, connected, role. Exactly one
   * connected master per datapath is what the switch itself reports here.
   */
  async controllers(h: OvsHost): Promise<{ target: string; connected: boolean; role: string }[]> {
    const { stdout } = await h.vsctl('--format=csv', '--data=bare', '--no-headings', '--columns=target,is_connected,role', 'list', 'Controller');
    return stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [target, connected, role] = l.split(',');
        return { target: target!, connected: connected === 'true', role: role ?? '' };
      });
  }

  /**
   * Every host ready, every member registered, one connected master per switch.
   * On a timeout the error says which of these was last unmet.
   */
  async waitConverged(timeoutMs = 30_000, alive = this.members.filter((m) => m.pid !== undefined)): Promise<void> {
    let unmet = '';
    const check = async (): Promise<string> => {
      const via = alive[0]!;
      const hosts = (await via.api<{ items: { id: string; status: string }[] }>('GET', '/v1/hosts')).body.items;
      const notReady = hosts.filter((h) => h.status !== 'ready').map((h) => `${h.id} ${h.status}`);
      if (hosts.length !== this.hosts.length || notReady.length) return `hosts listed ${hosts.length}/${this.hosts.length}, not ready: ${notReady.join(', ')}`;
      const view = await this.cluster(via);
      if (view.members.length !== alive.length) return `members registered ${view.members.length}/${alive.length}`;
      for (const h of this.hosts) {
        const ctl = await this.controllers(h);
        const rows = ctl.map((c) => `${c.target} ${c.connected ? 'connected' : 'not connected'} ${c.role}`).join('; ');
        if (ctl.length !== Math.min(3, alive.length)) return `${h.name}: ${ctl.length} controllers (${rows})`;
        if (ctl.filter((c) => c.connected && c.role === 'master').length !== 1 || !ctl.every((c) => c.connected)) return `${h.name}: ${rows}`;
        const master = view.masters[h.name];
        const target = view.members.find((m) => m.id === master?.member)?.openflow;
        if (ctl.find((c) => c.role === 'master')?.target !== target) return `${h.name}: etcd names ${target ?? 'no master'}, the switch ${rows}`;
      }
      return '';
    };
    await waitFor('cluster converged', async () => (unmet = await check()) === '', timeoutMs, 100).catch((err: Error) => {
      throw new Error(`${err.message} (last: ${unmet})`);
    });
  }

  async stop(): Promise<void> {
    await Promise.all(this.hosts.map((h) => h.stop()));
    for (const m of this.members) await m.destroy();
    await this.etcd.stop();
  }
}
