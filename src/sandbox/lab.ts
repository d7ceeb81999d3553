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
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseIpv4 } from '../../protocols/packet/address';
import { silentLogger, type Logger } from '../log';
import {
  addNetns,
  addVeth,
  assertIfName,
  deleteLink,
  deleteLinkSync,
  deleteNetns,
  deleteNetnsSync,
  ip,
  linkMac,
  listLinks,
  listNetns,
  NetnsError,
  nsRun,
  NsProcess,
  setSysctl,
} from './netns';
import { OvsHost } from './ovs-host';
import { onExitCleanup, run, waitFor } from './processes';

export { NetnsError } from './netns';

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

export interface LabHost {
  /** 1-based. */
  readonly index: number;
  /** `h<i>`: the host's `system-id`. */
  readonly id: string;
  readonly netns: string;
  readonly ovs: OvsHost;
  /** Tunnel endpoint (`plexus-encap-ip`), on br-phy. */
  readonly underlayIp: string;
  readonly underlayMac: string;
  /** This host's address on the management segment (source of its OVSDB/OpenFlow connections). */
  readonly mgmtIp: string;
}

export type WorkloadKind = 'container' | 'vm';

export interface WorkloadSpec {
  /** Short name; used in the namespace and port names. */
  readonly name: string;
  readonly kind: WorkloadKind;
  /** `external_ids:iface-id` (the Plexus endpoint id). */
  readonly ifaceId: string;
  /** MAC of eth0; a lab-unique one when omitted. */
  readonly mac?: string;
  /** Static address in CIDR form (`10.0.0.5/24`). */
  readonly ip?: string;
  /** Default route for a static address. */
  readonly gateway?: string;
  /** Leave eth0 without an address; call {@link Lab.dhcp} to get one. */
  readonly dhcp?: boolean;
  /** `external_ids:plexus-network`; with `ip`, also `plexus-ip`. */
  readonly network?: string;
  /** More (or overriding) Interface external_ids. */
  readonly externalIds?: Readonly<Record<string, string>>;
  /** How long to wait for plexusd to create br-int on the host (default 30 s). */
  readonly brIntTimeoutMs?: number;
}

export interface Workload {
  readonly name: string;
  readonly kind: WorkloadKind;
  readonly host: LabHost;
  readonly netns: string;
  readonly ifaceId: string;
  readonly mac: string;
  /** The OVS port / host-side veth on br-int. */
  readonly port: string;
  readonly ofport: number;
  /** For kind `vm`: the `vm-uuid` written to external_ids. */
  readonly vmUuid: string | undefined;
  /** Current IPv4 address without prefix (static, or from the last DHCP lease). */
  ip: string | undefined;
  /** Current address in CIDR form. */
  cidr: string | undefined;
}

export interface DhcpLease {
  readonly ip: string;
  readonly mask: string;
  readonly prefixLength: number;
  readonly router: string | undefined;
  readonly mtu: number | undefined;
  readonly dns: readonly string[];
  readonly elapsedMs: number;
}

export interface PingResult {
  readonly ok: boolean;
  readonly sent: number;
  readonly received: number;
  /** Average round trip, when any reply came. */
  readonly rttMs: number | undefined;
}

export interface TransferResult {
  readonly ok: boolean;
  readonly bytes: number;
  readonly sha256: string;
  readonly elapsedMs: number;
  readonly mbitPerS: number;
}

export interface SpoofResult {
  /** True when the forged datagram reached the destination's socket. */
  readonly arrived: boolean;
  /** Source address the destination saw, when it arrived. */
  readonly seenSrcIp: string | undefined;
  readonly srcIp: string;
  readonly srcMac: string;
}

const MAX_HOSTS = 4;
const WORKLOAD_MTU = 1450;
const TCP_PORT_BASE = 5201;
const UDP_PROBE_PORT = 5999;
/** Run ids whose 169.254.R.0/24 cloud metadata services use (169.254.169.254, 169.254.170.2). */
const RESERVED_RUN_IDS = new Set([169, 170]);

const hex2 = (n: number): string => n.toString(16).padStart(2, '0');

/** Applies a udhcpc lease with ip(8) and records it for {@link Lab.dhcp}. */
const UDHCPC_SCRIPT = `#!/bin/sh
# udhcpc event script for Plexus lab workloads (busybox udhcpc).
case "$1" in
  deconfig)
    ip -4 addr flush dev "$interface"
    ip link set dev "$interface" up
    ;;
  bound|renew)
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/$subnet" broadcast + dev "$interface"
    [ -n "$mtu" ] && ip link set dev "$interface" mtu "$mtu"
    if [ -n "$router" ]; then
      set -- $router
      ip route replace default via "$1" dev "$interface" || ip route replace default via "$1" dev "$interface" onlink
    fi
    printf 'ip=%s\\nsubnet=%s\\nrouter=%s\\nmtu=%s\\ndns=%s\\n' "$ip" "$subnet" "$router" "$mtu" "$dns" > "$PLEXUS_LEASE_FILE"
    ;;
esac
exit 0
`;

/** TCP sink: listens, hashes what arrives, prints one JSON line per event. */
const TCP_SERVER = `
const net = require('node:net'), crypto = require('node:crypto');
const [host, port] = process.argv.slice(1);
const server = net.createServer((s) => {
  const h = crypto.createHash('sha256'); let n = 0;
  s.on('data', (d) => { h.update(d); n += d.length; });
  s.on('end', () => { console.log(JSON.stringify({ bytes: n, sha256: h.digest('hex') })); s.end(); server.close(); });
});
server.listen(Number(port), host, () => console.log(JSON.stringify({ listening: true })));
`;

/** TCP source: sends random bytes, prints their hash once the peer has closed. */
const TCP_CLIENT = `
const net = require('node:net'), crypto = require('node:crypto');
const [host, port, bytes] = process.argv.slice(1);
const data = crypto.randomBytes(Number(bytes));
const sha256 = crypto.createHash('sha256').update(data).digest('hex');
const s = net.connect(Number(port), host, () => s.end(data));
s.on('error', (e) => { console.error(e.message); process.exit(1); });
s.on('data', () => {});
s.on('close', () => console.log(JSON.stringify({ bytes: data.length, sha256 })));
`;

/** UDP listener for spoof probes: prints the source of every datagram. */
const UDP_LISTENER = `
const dgram = require('node:dgram');
const s = dgram.createSocket('udp4');
s.on('message', (m, r) => console.log(JSON.stringify({ from: r.address, payload: m.toString() })));
s.bind(Number(process.argv[1]), '0.0.0.0', () => console.log(JSON.stringify({ listening: true })));
`;

/** UDP sender for spoof probes: binds the (possibly forged) source and sends a few copies. */
const UDP_SENDER = `
const dgram = require('node:dgram');
const [src, dst, port, payload] = process.argv.slice(1);
const s = dgram.createSocket('udp4');
s.bind({ address: src === '-' ? '0.0.0.0' : src }, async () => {
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => s.send(payload, Number(port), dst, r));
    await new Promise((r) => setTimeout(r, 30));
  }
  s.close();
});
`;

/**
 * A lab of hosts and workloads for real-packet tests and the demo. Owns every
 * namespace, link, process and temp dir it creates and nothing else; `stop()`
 * (also run on process exit and on a failed `start()`) removes all of them.
 */
export class Lab {
  readonly hosts: LabHost[] = [];
  readonly workloads: Workload[] = [];
  /** Milliseconds per setup step, in order. */
  readonly timings: { step: string; ms: number }[] = [];
  private readonly createdNetns: string[] = [];
  private readonly createdRootLinks: string[] = [];
  private readonly ovsHosts: OvsHost[] = [];
  private readonly processes = new Set<NsProcess>();
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
    return `px${this.runId}`;
  }
  get underlayNetns(): string {
    return `${this.prefix}u`;
  }
  get mgmtBridge(): string {
    return `${this.prefix}m`;
  }
  /** Address plexusd listens on and advertises so OVS in the host namespaces reaches it. */
  get controllerAddress(): string {
    return `169.254.${this.runId}.1`;
  }
  get underlayCidr(): string {
    return `172.31.${this.runId}.0/24`;
  }
  /** Namespaces this lab created (and will delete). */
  get namespaces(): readonly string[] {
    return this.createdNetns;
  }
  /** Links this lab created in the root namespace (and will delete). */
  get rootLinks(): readonly string[] {
    return this.createdRootLinks;
  }
  /** True for a namespace or root-namespace link name of this run's layout. */
  isOwnName(name: string): boolean {
    return new RegExp(`^${this.prefix}(u|m|h\\d+m?|w\\d+(-.*)?)$`).test(name);
  }
  /** Pids of every process the lab runs (OVS daemons and helpers). */
  get pids(): number[] {
    const ovs = this.ovsHosts.flatMap((h) => ['ovsdb-server', 'ovs-vswitchd'].map((d) => {
      try {
        return h.pid(d as 'ovsdb-server' | 'ovs-vswitchd');
      } catch {
        return undefined;
      }
    }));
    const helpers = [...this.processes].map((p) => p.pid);
    return [...ovs, ...helpers].filter((p): p is number => p !== undefined && p > 0);
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
      await deleteNetns(`px${runId}u`);
      throw err;
    }
    const lab = new Lab(runId, dir, options);
    lab.createdNetns.push(lab.underlayNetns);
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
    const R = this.runId;
    let t = Date.now();
    await this.step('underlay and management segments', t, async () => {
      await ip(this.underlayNetns, 'link', 'add', 'br0', 'type', 'bridge');
      await ip(this.underlayNetns, 'link', 'set', 'br0', 'up');
      this.createdRootLinks.push(this.mgmtBridge);
      await ip(undefined, 'link', 'add', this.mgmtBridge, 'type', 'bridge');
      await ip(undefined, 'addr', 'add', `${this.controllerAddress}/24`, 'dev', this.mgmtBridge);
      await ip(undefined, 'link', 'set', this.mgmtBridge, 'up');
      await settleAll(Array.from({ length: this.options.hosts }, (_, k) => this.addHostNamespace(k + 1)));
    });

    t = Date.now();
    await this.step('ovsdb-server + ovs-vswitchd per host', t, async () => {
      const started = await settleAll(Array.from({ length: this.options.hosts }, async (_, k) => {
        const i = k + 1;
        const ovs = await OvsHost.start({
          name: `${this.prefix}h${i}`,
          netns: `${this.prefix}h${i}`,
          systemId: `h${i}`,
          externalIds: {
            'plexus-encap-ip': `172.31.${R}.${i}`,
            'plexus-bridge-datapath-type': 'netdev',
          },
        });
        this.ovsHosts.push(ovs);
        return ovs;
      }));
      for (const ovs of started) {
        const i = Number(/h(\d+)$/.exec(ovs.name)?.[1]);
        this.hosts.push({
          index: i,
          id: `h${i}`,
          netns: `${this.prefix}h${i}`,
          ovs,
          underlayIp: `172.31.${R}.${i}`,
          underlayMac: `02:31:${hex2(R)}:00:00:${hex2(i)}`,
          mgmtIp: `169.254.${R}.${10 + i}`,
        });
      }
      this.hosts.sort((a, b) => a.index - b.index);
    });

    t = Date.now();
    await this.step('br-phy with the underlay address', t, async () => {
      await settleAll(this.hosts.map(async (h) => {
        await h.ovs.vsctl(
          'add-br', 'br-phy', '--', 'set', 'Bridge', 'br-phy', 'datapath_type=netdev',
          `other_config:hwaddr="${h.underlayMac}"`,
          '--', 'add-port', 'br-phy', 'ul0',
        );
        await waitFor(`br-phy in ${h.netns}`, () => listLinks(h.netns).includes('br-phy'), 10_000);
        await ip(h.netns, 'addr', 'add', `${h.underlayIp}/24`, 'dev', 'br-phy');
        await ip(h.netns, 'link', 'set', 'br-phy', 'up');
      }));
    });

    t = Date.now();
    await this.step('underlay reachable and tunnel neighbours seeded', t, async () => {
      // One kernel ping per peer proves the underlay end to end before any overlay test
      // depends on it; then OVS' tunnel ARP cache gets every peer (SPEC §9).
      await Promise.all(this.hosts.map((h) => Promise.all(this.peersOf(h).map(async (p) => {
        await waitFor(`underlay ${h.id} -> ${p.id}`, async () => {
          const r = await nsRun(h.netns, 'ping', ['-c', '1', '-W', '1', '-q', p.underlayIp], { allowFail: true });
          return r.code === 0;
        }, 10_000, 100);
      }))));
      await this.seedTunnelNeighbours();
    });
  }

  private async addHostNamespace(i: number): Promise<void> {
    const ns = `${this.prefix}h${i}`;
    this.createdNetns.push(ns);
    await addNetns(ns);
    // IPv6 is not part of the underlay or management paths; its DAD and router
    // solicitations would only add noise to captures.
    await setSysctl(ns, { 'net.ipv6.conf.all.disable_ipv6': 1, 'net.ipv6.conf.default.disable_ipv6': 1 });
    await addVeth({ name: `h${i}`, ns: this.underlayNetns, peer: 'ul0', peerNs: ns });
    await ip(this.underlayNetns, 'link', 'set', `h${i}`, 'master', 'br0', 'up');
    await ip(ns, 'link', 'set', 'ul0', 'up');
    const rootEnd = `${this.prefix}h${i}m`;
    this.createdRootLinks.push(rootEnd);
    await addVeth({ name: rootEnd, peer: 'mgmt0', peerNs: ns });
    await ip(undefined, 'link', 'set', rootEnd, 'master', this.mgmtBridge, 'up');
    await ip(ns, 'addr', 'add', `169.254.${this.runId}.${10 + i}/24`, 'dev', 'mgmt0');
    await ip(ns, 'link', 'set', 'mgmt0', 'up');
  }

  private peersOf(h: LabHost): LabHost[] {
    return this.hosts.filter((p) => p !== h);
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
    await Promise.all(this.hosts.map((h) => Promise.all(this.peersOf(h).map((p) =>
      h.ovs.appctl('ovs-vswitchd', 'tnl/neigh/set', 'br-phy', p.underlayIp, p.underlayMac)))));
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
    if (spec.ip && spec.dhcp) throw new NetnsError(`workload ${spec.name}: give ip or dhcp, not both`);
    if (spec.ip && !/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(spec.ip)) throw new NetnsError(`workload ${spec.name}: ip must be CIDR, got ${spec.ip}`);
    const brIntTimeoutMs = spec.brIntTimeoutMs ?? 30_000;
    await waitFor(`br-int on ${h.id}`, async () => {
      const r = await h.ovs.vsctl('br-exists', 'br-int').catch(() => undefined);
      return r !== undefined;
    }, brIntTimeoutMs, 100).catch((err: unknown) => {
      throw new NetnsError(`br-int does not exist on ${h.id} after ${brIntTimeoutMs} ms (has plexusd adopted the host?)`, { cause: err, recoverable: true });
    });

    const k = ++this.workloadCount;
    const safeName = spec.name.replace(/[^A-Za-z0-9_-]/g, '');
    const ns = `${this.prefix}w${k}-${safeName}`.slice(0, 64);
    const port = `w${k}-${safeName}`.slice(0, 15);
    assertIfName(port);
    const mac = (spec.mac ?? `02:ee:${hex2(this.runId)}:00:${hex2(k >> 8)}:${hex2(k & 0xff)}`).toLowerCase();
    this.createdNetns.push(ns);
    await addNetns(ns);
    await setSysctl(ns, { 'net.ipv4.conf.all.rp_filter': 0, 'net.ipv4.conf.default.rp_filter': 0 });
    await addVeth({ name: port, ns: h.netns, peer: 'eth0', peerNs: ns, mtu: WORKLOAD_MTU, peerMac: mac });
    await ip(h.netns, 'link', 'set', port, 'up');
    await nsRun(ns, 'ethtool', ['-K', 'eth0', 'tx', 'off']);
    await ip(ns, 'link', 'set', 'eth0', 'up');
    if (spec.ip) {
      await ip(ns, 'addr', 'add', spec.ip, 'dev', 'eth0');
      if (spec.gateway) await ip(ns, 'route', 'add', 'default', 'via', spec.gateway, 'dev', 'eth0');
    }

    const vmUuid = spec.kind === 'vm' ? randomUUID() : undefined;
    const ids: Record<string, string> = {
      'iface-id': spec.ifaceId,
      'attached-mac': mac,
      'iface-status': 'active',
      ...(spec.kind === 'container' ? { container_id: spec.name, container_iface: 'eth0' } : { 'vm-uuid': vmUuid ?? '' }),
      ...(spec.network ? { 'plexus-network': spec.network } : {}),
      ...(spec.network && spec.ip ? { 'plexus-ip': spec.ip.split('/')[0] ?? '' } : {}),
      ...(spec.externalIds ?? {}),
    };
    await h.ovs.vsctl('add-port', 'br-int', port, '--', 'set', 'Interface', port,
      ...Object.entries(ids).map(([key, v]) => `external_ids:${key}=${quote(v)}`));
    const ofport = Number(await waitFor(`ofport of ${port} on ${h.id}`, async () => {
      const v = (await h.ovs.vsctl('get', 'Interface', port, 'ofport')).stdout.trim();
      return Number(v) > 0 ? v : undefined;
    }, 10_000));

    const w: Workload = {
      name: spec.name,
      kind: spec.kind,
      host: h,
      netns: ns,
      ifaceId: spec.ifaceId,
      mac,
      port,
      ofport,
      vmUuid,
      ip: spec.ip?.split('/')[0],
      cidr: spec.ip,
    };
    this.workloads.push(w);
    this.log.debug('workload added', { name: w.name, host: h.id, port, ofport, mac });
    return w;
  }

  workload(name: string): Workload {
    const w = this.workloads.find((x) => x.name === name);
    if (!w) throw new NetnsError(`no workload ${name} in lab ${this.prefix}`);
    return w;
  }

  /**
   * Runs busybox udhcpc on the workload's eth0 and applies the lease (address,
   * mask, default route, MTU) with ip(8). Rejects with a NetnsError when no server
   * answers within `tries` DISCOVERs `intervalS` apart.
   */
  async dhcp(workload: Workload | string, options: { tries?: number; intervalS?: number } = {}): Promise<DhcpLease> {
    const w = typeof workload === 'string' ? this.workload(workload) : workload;
    const tries = options.tries ?? 5;
    const intervalS = options.intervalS ?? 1;
    const script = join(this.tmpDir, 'udhcpc.script');
    writeFileSync(script, UDHCPC_SCRIPT);
    chmodSync(script, 0o755);
    const leaseFile = join(this.tmpDir, `lease-${w.port}`);
    rmSync(leaseFile, { force: true });
    const t0 = Date.now();
    const r = await nsRun(w.netns, 'udhcpc', [
      '-f', '-i', 'eth0', '-n', '-q', '-t', String(tries), '-T', String(intervalS), '-O', 'mtu', '-s', script,
    ], {
      env: { ...process.env, PLEXUS_LEASE_FILE: leaseFile },
      allowFail: true,
      timeoutMs: (tries * intervalS + 10) * 1000,
    });
    let text: string;
    try {
      text = readFileSync(leaseFile, 'utf8');
    } catch {
      // udhcpc's deconfig event flushed whatever address eth0 had.
      w.ip = undefined;
      w.cidr = undefined;
      throw new NetnsError(
        `no DHCP lease for ${w.name} (iface-id ${w.ifaceId}, ${w.mac}) on ${w.host.id} after ${tries} DISCOVERs ${intervalS} s apart: ` +
          `udhcpc exited ${r.code}: ${(r.stderr + r.stdout).trim().split('\n').slice(-3).join(' | ')}`,
        { recoverable: true },
      );
    }
    const env = Object.fromEntries(text.split('\n').filter(Boolean).map((l) => {
      const eq = l.indexOf('=');
      return [l.slice(0, eq), l.slice(eq + 1)];
    })) as Record<string, string>;
    const mask = env['subnet'] ?? '';
    const prefixLength = maskToPrefix(mask);
    const lease: DhcpLease = {
      ip: env['ip'] ?? '',
      mask,
      prefixLength,
      router: env['router']?.split(' ')[0] || undefined,
      mtu: env['mtu'] ? Number(env['mtu']) : undefined,
      dns: (env['dns'] ?? '').split(' ').filter(Boolean),
      elapsedMs: Date.now() - t0,
    };
    w.ip = lease.ip;
    w.cidr = `${lease.ip}/${prefixLength}`;
    return lease;
  }

  /** Pings from a workload; `timeoutMs` bounds the whole run (ping -w). */
  async ping(from: Workload | string, toIp: string, options: { count?: number; timeoutMs?: number; intervalMs?: number } = {}): Promise<PingResult> {
    const w = typeof from === 'string' ? this.workload(from) : from;
    const count = options.count ?? 3;
    const deadlineS = Math.max(1, Math.ceil((options.timeoutMs ?? 5000) / 1000));
    const intervalS = ((options.intervalMs ?? 200) / 1000).toFixed(3);
    const r = await nsRun(w.netns, 'ping', ['-n', '-q', '-c', String(count), '-i', intervalS, '-w', String(deadlineS), toIp], {
      allowFail: true,
      timeoutMs: deadlineS * 1000 + 5000,
    });
    const counts = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
    const rtt = /= [\d.]+\/([\d.]+)\//.exec(r.stdout);
    const sent = Number(counts?.[1] ?? 0);
    const received = Number(counts?.[2] ?? 0);
    return { ok: received > 0 && received >= Math.min(count, sent), sent, received, rttMs: rtt ? Number(rtt[1]) : undefined };
  }

  /**
   * Sends `bytes` random bytes over TCP from one workload to another and checks
   * they arrive intact (sha256 on both ends). Both ends are small node scripts
   * run with `ip netns exec`.
   */
  async tcpTransfer(from: Workload | string, to: Workload | string, bytes: number, options: { timeoutMs?: number } = {}): Promise<TransferResult> {
    const src = typeof from === 'string' ? this.workload(from) : from;
    const dst = typeof to === 'string' ? this.workload(to) : to;
    if (!dst.ip) throw new NetnsError(`workload ${dst.name} has no address`);
    const timeoutMs = options.timeoutMs ?? 20_000;
    const port = TCP_PORT_BASE + (this.transferCount++ % 100);
    const server = this.spawnIn(dst.netns, process.execPath, ['-e', TCP_SERVER, dst.ip, String(port)]);
    try {
      await server.waitForLine((l) => l.includes('"listening"'), 10_000);
      const t0 = Date.now();
      const client = await nsRun(src.netns, process.execPath, ['-e', TCP_CLIENT, dst.ip, String(port), String(bytes)], {
        allowFail: true,
        timeoutMs,
      });
      const elapsedMs = Date.now() - t0;
      if (client.code !== 0) {
        throw new NetnsError(`TCP ${src.name} -> ${dst.name}:${port} failed (exit ${client.code}): ${client.stderr.trim() || 'timed out'}`);
      }
      const sent = JSON.parse(client.stdout.trim().split('\n').pop() ?? '{}') as { bytes: number; sha256: string };
      const got = JSON.parse(await server.waitForLine((l) => l.includes('"sha256"'), 5000)) as { bytes: number; sha256: string };
      return {
        ok: got.bytes === sent.bytes && got.sha256 === sent.sha256 && sent.bytes === bytes,
        bytes: got.bytes,
        sha256: got.sha256,
        elapsedMs,
        mbitPerS: (got.bytes * 8) / 1000 / Math.max(1, elapsedMs),
      };
    } finally {
      await this.stopProcess(server);
    }
  }

  /**
   * Sends a UDP datagram to `toIp` (a lab workload) with a forged source MAC
   * and/or IPv4 address and reports whether it reached the destination's socket.
   * The sender's eth0 MAC is changed, and the forged IP added as /32, only for
   * the probe. The destination's MAC is pinned in the sender's neighbour table
   * for the probe, so no ARP is sent: this tests the L2/L3 source checks, not ARP
   * filtering. With neither forged, it is the control probe.
   */
  async sendSpoofed(
    from: Workload | string,
    forged: { srcMac?: string; srcIp?: string },
    toIp: string,
    options: { timeoutMs?: number } = {},
  ): Promise<SpoofResult> {
    const src = typeof from === 'string' ? this.workload(from) : from;
    const dst = this.workloads.find((w) => w.ip === toIp);
    if (!dst) throw new NetnsError(`sendSpoofed: ${toIp} is not the address of a lab workload`);
    const timeoutMs = options.timeoutMs ?? 1500;
    const srcMac = forged.srcMac?.toLowerCase() ?? src.mac;
    const srcIp = forged.srcIp ?? src.ip ?? '0.0.0.0';
    const token = `plexus-probe-${randomBytes(6).toString('hex')}`;
    const listener = this.spawnIn(dst.netns, process.execPath, ['-e', UDP_LISTENER, String(UDP_PROBE_PORT)]);
    const restore: (() => Promise<unknown>)[] = [];
    try {
      await listener.waitForLine((l) => l.includes('"listening"'), 10_000);
      if (forged.srcMac) {
        const realMac = await linkMac(src.netns, 'eth0');
        await ip(src.netns, 'link', 'set', 'dev', 'eth0', 'address', srcMac);
        restore.push(() => ip(src.netns, 'link', 'set', 'dev', 'eth0', 'address', realMac));
      }
      if (forged.srcIp && forged.srcIp !== src.ip) {
        await ip(src.netns, 'addr', 'add', `${forged.srcIp}/32`, 'dev', 'eth0');
        restore.push(() => ip(src.netns, 'addr', 'del', `${forged.srcIp}/32`, 'dev', 'eth0'));
      }
      await ip(src.netns, 'neigh', 'replace', toIp, 'lladdr', dst.mac, 'dev', 'eth0', 'nud', 'permanent');
      restore.push(() => ip(src.netns, 'neigh', 'del', toIp, 'dev', 'eth0'));
      await nsRun(src.netns, process.execPath, ['-e', UDP_SENDER, forged.srcIp ?? '-', toIp, String(UDP_PROBE_PORT), token]);
      const line = await listener.waitForLine((l) => l.includes(token), timeoutMs).catch(() => undefined);
      const seen = line ? (JSON.parse(line) as { from: string }).from : undefined;
      return { arrived: line !== undefined, seenSrcIp: seen, srcIp, srcMac };
    } finally {
      for (const undo of restore.reverse()) await undo().catch(() => undefined);
      await this.stopProcess(listener);
    }
  }

  private spawnIn(ns: string, cmd: string, args: readonly string[]): NsProcess {
    const p = NsProcess.spawn(ns, cmd, args);
    this.processes.add(p);
    return p;
  }

  private async stopProcess(p: NsProcess): Promise<void> {
    await p.stop();
    this.processes.delete(p);
  }

  /**
   * Stops every process, then deletes every namespace, root-namespace link and
   * temp dir the lab created. Safe to call twice and after a failed start.
   */
  async stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping') return;
    this.setState('stopping');
    for (const p of [...this.processes]) await this.stopProcess(p);
    await Promise.all(this.ovsHosts.map((h) => h.stop()));
    // Workload namespaces first: deleting them also deletes their veth peers on br-int.
    for (const ns of [...this.createdNetns].reverse()) await deleteNetns(ns);
    for (const link of [...this.createdRootLinks].reverse()) {
      if (listLinks().includes(link)) await deleteLink(undefined, link);
    }
    rmSync(this.tmpDir, { recursive: true, force: true });
    this.cancelExitCleanup();
    this.setState('stopped');
  }

  /** Exit-time cleanup: processes.ts has already SIGKILLed tracked pids. */
  private cleanupSync(): void {
    for (const ns of [...this.createdNetns].reverse()) deleteNetnsSync(ns);
    for (const link of [...this.createdRootLinks].reverse()) deleteLinkSync(undefined, link);
    for (const h of this.ovsHosts) rmSync(h.dir, { recursive: true, force: true });
    rmSync(this.tmpDir, { recursive: true, force: true });
  }
}

/**
 * Like Promise.all, but waits for every promise to settle before rejecting, so
 * that cleanup after a failed step never races a sibling still creating things.
 */
async function settleAll<T>(promises: Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}

/** ovs-vsctl string atom (RFC 7047 JSON-ish quoting). */
function quote(v: string): string {
  return `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function maskToPrefix(mask: string): number {
  let bytes: Buffer;
  try {
    bytes = parseIpv4(mask);
  } catch {
    return 0;
  }
  return [...bytes].reduce((n, p) => n + p.toString(2).replace(/0/g, '').length, 0);
}

/**
 * Picks a run id whose names and management subnet are free, and claims it by
 * creating the underlay namespace (`ip netns add` fails if the name exists, so
 * two labs started at once cannot both get the same id).
 */
async function claimRunId(wanted: number | undefined): Promise<number> {
  const candidates = wanted !== undefined ? [wanted] : shuffled(Array.from({ length: 254 }, (_, i) => i + 1));
  const rootLinks = new Set(listLinks());
  const namespaces = new Set(listNetns());
  const rootRoutes = (await run('ip', ['-4', '-o', 'route', 'show', 'table', 'all'])).stdout
    + (await run('ip', ['-4', '-o', 'addr', 'show'])).stdout;
  let lastError: unknown;
  for (const r of candidates) {
    if (!Number.isInteger(r) || r < 1 || r > 254) throw new NetnsError(`run id must be 1..254, not ${r}`);
    const taken = RESERVED_RUN_IDS.has(r)
      || [...namespaces].some((n) => n === `px${r}u` || n.startsWith(`px${r}h`) || n.startsWith(`px${r}w`))
      || [...rootLinks].some((l) => l === `px${r}m` || new RegExp(`^px${r}h\\d+m$`).test(l))
      || rootRoutes.includes(`169.254.${r}.`);
    if (taken) {
      if (wanted !== undefined) throw new NetnsError(`lab run id ${r} is in use (namespaces, links or 169.254.${r}.0/24 exist)`);
      continue;
    }
    try {
      await addNetns(`px${r}u`);
      return r;
    } catch (err) {
      if (wanted !== undefined) throw new NetnsError(`cannot claim lab run id ${r}`, { cause: err });
      lastError = err;
    }
  }
  const why = lastError instanceof Error ? `; the last claim failed: ${lastError.message}` : '';
  throw new NetnsError(`no free lab run id (1..254)${why}`, { cause: lastError });
}

function shuffled<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [xs[i], xs[j]] = [xs[j] as T, xs[i] as T];
  }
  return xs;
}
