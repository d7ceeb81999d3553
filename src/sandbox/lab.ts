/**
 * The real-packet lab (SPEC §9 "Real packets"): N hosts as network namespaces,
 * each with its own `ovsdb-server` + `ovs-vswitchd` on the userspace (`netdev`)
 * datapath, one underlay L2 segment, a management path to the root namespace
 * (where `plexusd` runs), and workloads (containers, VMs) as namespaces whose
 * `eth0` is plugged into the host's `br-int` the way ovs-docker and libvirt do.
 *
 * Layout of run R (R in 1..254, chosen free per run; every address is test-only
 * and exists only on links the lab created):
 *
 *   root namespace                 pxRm (Linux bridge) 169.254.R.1/24 = controllerAddress
 *                                    |            |
 *                                 pxRh1m       pxRh2m         (veth, root side)
 *   ---------------------------------|------------|-----------------------------
 *   host namespace pxRh<i>        mgmt0 169.254.R.(10+i)/24
 *                                 br-phy (OVS, netdev) 172.31.R.i/24, MAC 02:31:RR:00:00:ii
 *                                   └─ ul0 ──veth──┐
 *                                 br-int (created by plexusd, or by createIntegrationBridge)
 *                                   └─ w<k>-<name> ──veth── eth0 in workload namespace pxRw<k>
 *   underlay namespace pxRu        br0 (Linux bridge) ── h1, h2, ... (veth peers of each ul0)
 *
 * VXLAN on netdev is userspace tunnelling: the underlay IP sits on br-phy so
 * OVS' own router (fed from the host namespace's kernel routes) finds it, and
 * OVS' tunnel neighbour cache is seeded with every peer (`tnl/neigh/set`) so the
 * first overlay packet is not lost to OVS' own ARP. Workload veths have MTU 1450
 * and `tx off` (the netdev datapath does not complete offloaded checksums).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger, type Logger } from '../log';
import { deleteLink, deleteLinkSync, deleteNetns, deleteNetnsSync, listLinks, NetnsError } from './netns';
import {
  LabProcesses,
  pingFrom,
  runDhcp,
  sendSpoofedUdp,
  transferTcp,
  type DhcpLease,
  type PingResult,
  type SpoofResult,
  type TransferResult,
} from './lab-probes';
import {
  addUnderlayBridges,
  checkUnderlay,
  claimRunId,
  createSegments,
  labLayout,
  releaseRunId,
  seedTunnelNeighbours,
  startHostSwitches,
  type LabHost,
  type LabLayout,
  type LabResources,
} from './lab-topology';
import { plugWorkload, type Workload, type WorkloadSpec } from './lab-workloads';
import { onExitCleanup } from './processes';

export { NetnsError } from './netns';
// The lab's vocabulary, importable with the Lab (the modules own them).
export type { DhcpLease, PingResult, SpoofResult, TransferResult } from './lab-probes';
export type { LabHost } from './lab-topology';
export type { Workload, WorkloadKind, WorkloadSpec } from './lab-workloads';

export interface LabOptions {
  /** Number of hosts, 2..4. */
  readonly hosts: number;
  /** 1..254; picked at random among free ones when omitted. */
  readonly runId?: number;
  readonly log?: Logger;
  /**
   * Called after each setup step with its name; the demo prints progress with it.
   * If it throws, start() stops, cleans up everything created so far and rethrows.
   */
  readonly onStep?: (step: string, elapsedMs: number, lab: Lab) => void | Promise<void>;
}

export type LabState = 'starting' | 'running' | 'stopping' | 'stopped';

const MAX_HOSTS = 4;
const TCP_PORT_BASE = 5201;

/**
 * A lab of hosts and workloads for real-packet tests and the demo. Owns every
 * namespace, link, process and temp dir it creates and nothing else; `stop()`
 * (also run on process exit and on a failed `start()`) removes all of them.
 * Building hosts is lab-topology.ts, plugging workloads lab-workloads.ts, and
 * traffic lab-probes.ts; this class holds the lifetime and what was created.
 */
export class Lab {
  readonly hosts: LabHost[] = [];
  readonly workloads: Workload[] = [];
  /** Milliseconds per setup step, in order. */
  readonly timings: { step: string; ms: number }[] = [];
  private readonly layout: LabLayout;
  private readonly created: LabResources = { netns: [], rootLinks: [], ovsHosts: [] };
  private readonly processes = new LabProcesses();
  private workloadCount = 0;
  private transferCount = 0;
  private state: LabState = 'starting';
  private readonly cancelExitCleanup: () => void;
  private readonly log: Logger;

  private constructor(
    readonly runId: number,
    readonly tmpDir: string,
    private readonly options: LabOptions,
  ) {
    this.layout = labLayout(runId);
    this.log = (options.log ?? silentLogger()).child({ module: 'lab', run: runId });
    this.cancelExitCleanup = onExitCleanup(() => this.cleanupSync());
  }

  get currentState(): LabState {
    return this.state;
  }

  private setState(next: LabState): void {
    this.log.info('lab state', { from: this.state, to: next, hosts: this.hosts.length, workloads: this.workloads.length });
    this.state = next;
  }

  /** Prefix of every namespace and root-namespace link of this run. */
  get prefix(): string {
    return this.layout.prefix;
  }
  get underlayNetns(): string {
    return this.layout.underlayNetns;
  }
  get mgmtBridge(): string {
    return this.layout.mgmtBridge;
  }
  /** Address plexusd listens on and advertises so OVS in the host namespaces reaches it. */
  get controllerAddress(): string {
    return this.layout.controllerAddress;
  }
  get underlayCidr(): string {
    return this.layout.underlayCidr;
  }
  /** Namespaces this lab created (and will delete). */
  get namespaces(): readonly string[] {
    return this.created.netns;
  }
  /** Links this lab created in the root namespace (and will delete). */
  get rootLinks(): readonly string[] {
    return this.created.rootLinks;
  }
  /** True for a namespace or root-namespace link name of this run's layout. */
  isOwnName(name: string): boolean {
    return new RegExp(`^${this.prefix}(u|m|h\\d+m?|w\\d+(-.*)?)$`).test(name);
  }
  /** Pids of every process the lab runs (OVS daemons and helpers). */
  get pids(): number[] {
    const ovs = this.created.ovsHosts.flatMap((h) => ['ovsdb-server', 'ovs-vswitchd'].map((d) => {
      try {
        return h.pid(d as 'ovsdb-server' | 'ovs-vswitchd');
      } catch {
        return undefined;
      }
    }));
    return [...ovs, ...this.processes.pids].filter((p): p is number => p !== undefined && p > 0);
  }

  static async start(options: LabOptions): Promise<Lab> {
    if (!Number.isInteger(options.hosts) || options.hosts < 2 || options.hosts > MAX_HOSTS) {
      throw new NetnsError(`a lab has 2..${MAX_HOSTS} hosts, not ${options.hosts}`);
    }
    const t0 = Date.now();
    const runId = await claimRunId(options.runId);
    let dir: string;
    try {
      dir = mkdtempSync(join(tmpdir(), `plexus-lab${runId}-`));
    } catch (err) {
      await releaseRunId(runId);
      throw err;
    }
    const lab = new Lab(runId, dir, options);
    lab.created.netns.push(lab.underlayNetns);
    try {
      await lab.step('claim run id', t0, async () => {});
      await lab.setUp();
    } catch (err) {
      lab.log.warn('lab start failed, cleaning up', { error: String(err) });
      await lab.stop();
      throw err;
    }
    lab.setState('running');
    return lab;
  }

  private async step(name: string, since: number, fn: () => Promise<void>): Promise<void> {
    await fn();
    const ms = Date.now() - since;
    this.timings.push({ step: name, ms });
    this.log.debug('lab step done', { step: name, ms });
    await this.options.onStep?.(name, ms, this);
  }

  private async setUp(): Promise<void> {
    const n = this.options.hosts;
    await this.step('underlay and management segments', Date.now(), () => createSegments(this.layout, this.created, n));
    await this.step('ovsdb-server + ovs-vswitchd per host', Date.now(), async () => {
      this.hosts.push(...await startHostSwitches(this.layout, this.created, n));
    });
    await this.step('br-phy with the underlay address', Date.now(), () => addUnderlayBridges(this.hosts));
    await this.step('underlay reachable and tunnel neighbours seeded', Date.now(), () => checkUnderlay(this.hosts));
  }

  host(id: string | number): LabHost {
    const h = this.hosts.find((x) => x.id === id || x.index === id);
    if (!h) throw new NetnsError(`no host ${id} in lab ${this.prefix}`);
    return h;
  }

  /**
   * Seeds OVS' tunnel neighbour cache on every host with every peer's br-phy MAC
   * (`ovs-appctl tnl/neigh/set`). Call again after restarting an ovs-vswitchd.
   */
  async seedTunnelNeighbours(): Promise<void> {
    await seedTunnelNeighbours(this.hosts);
  }

  /** Points the host's OVSDB at plexusd: `ovs-vsctl set-manager tcp:<controllerAddress>:<port>`. */
  async joinController(host: LabHost | string | number, ovsdbPort: number): Promise<void> {
    const h = this.resolveHost(host);
    await h.ovs.vsctl('set-manager', `tcp:${this.controllerAddress}:${ovsdbPort}`);
  }

  /**
   * Creates br-int the way plexusd would (SPEC §2), for tests that run without
   * plexusd: netdev datapath, `fail_mode=secure`, OpenFlow13.
   */
  async createIntegrationBridge(host: LabHost | string | number): Promise<void> {
    const h = this.resolveHost(host);
    await h.ovs.vsctl(
      '--may-exist', 'add-br', 'br-int', '--', 'set', 'Bridge', 'br-int',
      'datapath_type=netdev', 'fail_mode=secure', 'protocols=OpenFlow13',
    );
  }

  private resolveHost(host: LabHost | string | number): LabHost {
    return typeof host === 'object' ? host : this.host(host);
  }

  /**
   * Adds a container or VM: a namespace whose eth0 (veth, MTU 1450, tx checksum
   * offload off) is plugged into the host's br-int with the external_ids of SPEC §2
   * in the same transaction, as ovs-docker and libvirt do. Waits (bounded) for
   * br-int to exist, since plexusd creates it when the host connects.
   */
  async addWorkload(host: LabHost | string | number, spec: WorkloadSpec): Promise<Workload> {
    const h = this.resolveHost(host);
    const w = await plugWorkload(this.layout, this.created, h, spec, () => ++this.workloadCount);
    this.workloads.push(w);
    this.log.debug('workload added', { name: w.name, host: h.id, port: w.port, ofport: w.ofport, mac: w.mac });
    return w;
  }

  workload(name: string): Workload {
    const w = this.workloads.find((x) => x.name === name);
    if (!w) throw new NetnsError(`no workload ${name} in lab ${this.prefix}`);
    return w;
  }

  private resolveWorkload(w: Workload | string): Workload {
    return typeof w === 'string' ? this.workload(w) : w;
  }

  /** DHCP with busybox udhcpc on the workload's eth0 (see {@link runDhcp}). */
  async dhcp(workload: Workload | string, options: { tries?: number; intervalS?: number } = {}): Promise<DhcpLease> {
    return runDhcp(this.resolveWorkload(workload), this.tmpDir, options);
  }

  /** Pings from a workload; `timeoutMs` bounds the whole run (ping -w). */
  async ping(from: Workload | string, toIp: string, options: { count?: number; timeoutMs?: number; intervalMs?: number } = {}): Promise<PingResult> {
    return pingFrom(this.resolveWorkload(from), toIp, options);
  }

  /** Sends `bytes` random bytes over TCP between two workloads, checked on both ends (see {@link transferTcp}). */
  async tcpTransfer(from: Workload | string, to: Workload | string, bytes: number, options: { timeoutMs?: number } = {}): Promise<TransferResult> {
    const port = TCP_PORT_BASE + (this.transferCount++ % 100);
    return transferTcp(this.processes, this.resolveWorkload(from), this.resolveWorkload(to), port, bytes, options);
  }

  /**
   * Sends a UDP datagram to `toIp` (a lab workload) with a forged source MAC and/or
   * IPv4 address and reports whether it reached the destination's socket (see
   * {@link sendSpoofedUdp}).
   */
  async sendSpoofed(
    from: Workload | string,
    forged: { srcMac?: string; srcIp?: string },
    toIp: string,
    options: { timeoutMs?: number } = {},
  ): Promise<SpoofResult> {
    const src = this.resolveWorkload(from);
    const dst = this.workloads.find((w) => w.ip === toIp);
    if (!dst) throw new NetnsError(`sendSpoofed: ${toIp} is not the address of a lab workload`);
    return sendSpoofedUdp(this.processes, src, forged, dst, toIp, options);
  }

  /**
   * Stops every process, then deletes every namespace, root-namespace link and
   * temp dir the lab created. Safe to call twice and after a failed start.
   */
  async stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping') return;
    this.setState('stopping');
    await this.processes.stopAll();
    await Promise.all(this.created.ovsHosts.map((h) => h.stop()));
    // Workload namespaces first: deleting them also deletes their veth peers on br-int.
    for (const ns of [...this.created.netns].reverse()) await deleteNetns(ns);
    for (const link of [...this.created.rootLinks].reverse()) {
      if (listLinks().includes(link)) await deleteLink(undefined, link);
    }
    rmSync(this.tmpDir, { recursive: true, force: true });
    this.cancelExitCleanup();
    this.setState('stopped');
  }

  /** Exit-time cleanup: processes.ts has already SIGKILLed tracked pids. */
  private cleanupSync(): void {
    for (const ns of [...this.created.netns].reverse()) deleteNetnsSync(ns);
    for (const link of [...this.created.rootLinks].reverse()) deleteLinkSync(undefined, link);
    for (const h of this.created.ovsHosts) rmSync(h.dir, { recursive: true, force: true });
    rmSync(this.tmpDir, { recursive: true, force: true });
  }
}
