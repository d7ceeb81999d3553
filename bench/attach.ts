/**
 * attach (SPEC §10, issue 7 item 1): how long from "a workload's interface
 * appears on a host" to "it is installed there" (local) and "every other host
 * with a port in the network can reach it" (remote), one attach at a time, then
 * for a burst of concurrent attaches — for Plexus and, with `--peer ovn`, for
 * OVN doing the same work on the same machine in the same run.
 *
 * Both systems get identical treatment: H sandboxed OVS hosts (dummy datapath),
 * E endpoints / logical ports created up front (like Neutron ports; not timed),
 * each attach one OVSDB transaction over a persistent session (no ovs-vsctl in
 * the timed path), local completion seen through an OVSDB monitor
 * (`plexus-installed` / `ovn-installed`), remote completion seen through
 * `ovs-ofctl monitor` on every other host with a port in the network:
 *   Plexus: the L2 flow `dl_dst=<mac>` appears;
 *   OVN:    the remote-output flow `reg15=<port key>,metadata=<datapath key>`
 *           with a tunnel action appears (OVN's `eth.dst` lookup flow exists on
 *           those hosts before the port binds, since the logical port exists).
 * The two systems run one after the other, never side by side.
 *
 * `--simulated` (Plexus only): the hosts are simulated (bench/sim/sim-host.ts:
 * a real ovsdb-server each + an in-process simulated OpenFlow switch whose
 * datapath id is the host's Bridge.datapath_id), so hundreds or a thousand fit
 * on one machine. Same workload and the same OVSDB transaction per attach, plus
 * the Interface's ofport (no ovs-vswitchd assigns it); local completion is the
 * same OVSDB monitor; remote completion is the L2 flow (table 50) matching
 * eth_dst=<mac> appearing in the simulated switch's flow table of every other
 * host with a port in the network, timestamped in-process when the switch
 * applies it (no ovs-ofctl).
 *
 * With `--simulated`, the endpoints are spread over networks of
 * `--hosts-per-network` consecutive hosts each (default 10, as SPEC §12's fleet
 * and bench/scale.ts; 0: one network over every host): endpoint i is attached
 * on host i mod H, in that host's network, and "remote" means the other hosts
 * of that network. One network over 1,000 hosts would put every endpoint's
 * flows on every host (80 M flows at 40,000 endpoints), which no single
 * machine simulating the fleet holds.
 *
 * `--groups N` (Plexus only, issue 12): every endpoint is created in N security
 * groups of `--rules` rules each (remote groups, CIDRs, port ranges, as in
 * bench/policy.ts), so the attach compiles and installs its policy flows too;
 * run with 0 and 5 to compare.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { run, waitFor } from '../src/sandbox/processes';
import { ArrivalLog, FlowWatch, dlDstOf, type KeyOf } from './flow-watch';
import { join } from 'node:path';
import { latencyFigures, num, ratio, repoRoot, round, str, type BenchContext, type BenchDefinition, type Figures } from './framework';
import { HostDriver } from './host-driver';
import { OvnCentral, startHost, startPlexusd, Teardown } from './sandbox';
import type { OvsHost } from '../src/sandbox/ovs-host';
import type { PlexusdProcess } from '../src/sandbox/plexusd-process';
import { L2 } from '../src/pipeline/tables';
import type { FlowChange } from './sim/flow-table';
import { startSimHosts, type SimHost } from './sim/sim-host';
import { compactEtcd, measureFootprint, type Footprint } from './sim/footprint';

interface Workload {
  readonly hosts: number;
  readonly endpoints: number;
  readonly burst: number;
  readonly opTimeoutMs: number;
  /** Security groups on every endpoint, and rules per group (Plexus only). */
  readonly groups: number;
  readonly rules: number;
  /** Simulated runs: hosts per network (0: one network over all). */
  readonly hostsPerNetwork: number;
}

/** What reports when a remote host has the flow for an endpoint: `when(key, sinceMs)` resolves with the arrival time. */
interface RemoteWatch {
  when(key: string, sinceMs: number): Promise<number>;
}

/** One endpoint as the system under test knows it before it is attached. */
interface PreparedEndpoint {
  readonly externalIds: Readonly<Record<string, string>>;
  /** What the remote hosts' flow watch reports when they can reach it. */
  readonly remoteKey: string;
  /** Interface.ofport written in the attach transaction (simulated hosts only). */
  readonly ofport?: number;
}

/** A system under test, set up and idle, ready for the workload. */
interface Prepared {
  readonly prefix: '' | 'ovn_';
  readonly mark: string;
  readonly drivers: readonly HostDriver[];
  readonly watches: readonly RemoteWatch[];
  readonly endpoints: readonly PreparedEndpoint[];
  /** The network (index) of the endpoints attached on host h (default: one network). */
  readonly networkOf?: (host: number) => number;
}

interface Measured {
  readonly localMs: number[];
  readonly remoteMs: number[];
  readonly burstS: number;
  /** Simulated runs: host joins and what plexusd and etcd hold after the run settles. */
  readonly scale?: Figures;
}

/** 127.<subnet>.x.y for host i (1-based): loopback only, distinct per system. */
function encapIp(subnet: number, i: number): string {
  return `127.${subnet}.${i >> 8}.${i & 255}`;
}

function portName(i: number): string {
  return `bp${i}`;
}

/** Rejects with `what` if `p` takes longer than `ms`. */
async function within<T>(p: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what()}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `fn` over `items` with at most `limit` in flight. */
async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

/** Smallest IPv4 prefix (at most /24) holding `n` addresses plus network, gateway, broadcast. */
function subnetFor(n: number): string {
  const bits = Math.max(8, Math.ceil(Math.log2(n + 4)));
  if (bits > 16) throw new Error(`too many endpoints for one /16: ${n}`);
  return `10.77.0.0/${32 - bits}`;
}

/** The k-th of equal IPv4 blocks from 10.128.0.0, each holding `n` addresses plus network, gateway, broadcast. */
function blockFor(k: number, n: number): string {
  const bits = Math.max(8, Math.ceil(Math.log2(n + 4)));
  const base = (10 << 24) + (128 << 16) + k * 2 ** bits;
  if (base + 2 ** bits > 2 ** 32 - 1 || bits > 16) throw new Error(`too many endpoints for the simulated networks: ${k + 1} x ${n}`);
  return `${[24, 16, 8, 0].map((sh) => Math.floor(base / 2 ** sh) % 256).join('.')}/${32 - bits}`;
}

async function measure(sut: Prepared, w: Workload, ctx: BenchContext): Promise<Measured> {
  const localMs: number[] = [];
  const remoteMs: number[] = [];
  // Hosts with a port, per network: the remote side of an attach is the other hosts of its network.
  const withPortsOf = new Map<number, Set<number>>();
  const netOf = sut.networkOf ?? (() => 0);
  const portsOf = (h: number): Set<number> => {
    let set = withPortsOf.get(netOf(h));
    if (!set) withPortsOf.set(netOf(h), (set = new Set()));
    return set;
  };
  const label = sut.prefix ? 'ovn' : 'plexus';

  for (let i = 0; i < w.endpoints; i++) {
    const h = i % w.hosts;
    const ep = sut.endpoints[i]!;
    const remotes = [...portsOf(h)].filter((r) => r !== h);
    const driver = sut.drivers[h]!;
    const name = portName(i);
    const { sentMs, done } = driver.plug(name, ep.externalIds, ep.ofport);
    const local = driver.whenMarked(name, sut.mark);
    const pending = new Set(remotes);
    const remote = Promise.all(remotes.map(async (r) => {
      const at = await sut.watches[r]!.when(ep.remoteKey, sentMs);
      pending.delete(r);
      return at;
    }));
    const [, localAt, remoteAts] = await within(Promise.all([done, local, remote]), w.opTimeoutMs, () =>
      `${label} attach #${i} (${name} on host ${h}): ${pending.size ? `remote flow missing on hosts ${[...pending].join(',')}` : 'not installed locally'}`);
    localMs.push(localAt - sentMs);
    if (remotes.length) remoteMs.push(Math.max(...remoteAts) - sentMs);
    portsOf(h).add(h);
    if ((i + 1) % 50 === 0 || i + 1 === w.endpoints) {
      ctx.progress(`${label}: ${i + 1}/${w.endpoints} attached one at a time (last local ${round(localAt - sentMs, 1)} ms)`);
    }
  }

  // The one-at-a-time figures now, before the burst (a run that fails later still shows them).
  const one = { ...latencyFigures('local', localMs), ...latencyFigures('remote', remoteMs) };
  ctx.progress(`${label}: one at a time: local p50 ${one.local_p50_ms} / p99 ${one.local_p99_ms} ms, remote p50 ${one.remote_p50_ms} / p99 ${one.remote_p99_ms} ms`);

  // Burst: every transaction sent at once, each on its host's session.
  const burstIdx = Array.from({ length: w.burst }, (_, k) => w.endpoints + k);
  for (const i of burstIdx) portsOf(i % w.hosts).add(i % w.hosts);
  let outstanding = burstIdx.length;
  const t0 = performance.now();
  const waits = burstIdx.map((i) => {
    const h = i % w.hosts;
    const ep = sut.endpoints[i]!;
    const { done } = sut.drivers[h]!.plug(portName(i), ep.externalIds, ep.ofport);
    const remotes = [...portsOf(h)].filter((r) => r !== h);
    return Promise.all([
      done,
      sut.drivers[h]!.whenMarked(portName(i), sut.mark),
      ...remotes.map((r) => sut.watches[r]!.when(ep.remoteKey, t0)),
    ]).then((times) => {
      outstanding--;
      return Math.max(...(times.slice(1) as number[]));
    });
  });
  const ends = await within(Promise.all(waits), Math.max(w.opTimeoutMs, w.burst * 500), () =>
    `${label} burst: ${outstanding} of ${w.burst} endpoints not yet installed everywhere`);
  const burstS = (Math.max(t0, ...ends) - t0) / 1000;
  ctx.progress(`${label}: burst of ${w.burst} installed everywhere in ${round(burstS, 2)} s`);
  return { localMs, remoteMs, burstS };
}

async function connectAll(hosts: readonly OvsHost[], mark: string, keyOf: KeyOf, teardown: Teardown): Promise<{ drivers: HostDriver[]; watches: FlowWatch[] }> {
  const drivers = await Promise.all(hosts.map((h) => HostDriver.connect(h, [mark]).then((d) => teardown.add(d))));
  const watches = await Promise.all(hosts.map((h) => FlowWatch.start(h, keyOf).then((fw) => teardown.add(fw))));
  return { drivers, watches };
}

/** Waits until every host has `perHost` tunnel ports (OVN: one per other host; Plexus: its one flow-based port). */
async function waitForTunnels(hosts: readonly OvsHost[], type: 'vxlan' | 'geneve', timeoutMs: number, perHost = hosts.length - 1): Promise<void> {
  await waitFor(`${type} tunnels between ${hosts.length} hosts`, async () => {
    const counts = await Promise.all(hosts.map(async (h) => {
      const r = await h.vsctl('--bare', '--columns=name', 'find', 'Interface', `type=${type}`);
      return r.stdout.split('\n').filter((l) => l.trim()).length;
    }));
    return counts.every((c) => c >= perHost);
  }, timeoutMs, 200);
}

interface HostsPage {
  items: { id: string; status: string; ofConnected: boolean }[];
}
interface CreatedEndpoint {
  id: string;
  mac: string;
  ips: string[];
}

type RuleBody = Record<string, string | number>;

/**
 * `groups` security groups of `rules` rules each, created through the API:
 * egress any (IPv4, IPv6), then ingress rules in turn: tcp from a remote group,
 * tcp from another remote group, a tcp port range from a CIDR, icmp from the
 * own group. Remote-group rules are added once every group exists.
 */
async function createGroups(plexusd: PlexusdProcess, groups: number, rules: number): Promise<string[]> {
  const ids: string[] = [];
  const later: [number, RuleBody][] = [];
  for (let g = 0; g < groups; g++) {
    const own: RuleBody[] = [{ direction: 'egress', ethertype: 'IPv4' }, { direction: 'egress', ethertype: 'IPv6' }];
    for (let r = own.length; r < rules; r++) {
      const kind = r % 4;
      if (kind === 0 || kind === 1) later.push([g, { direction: 'ingress', protocol: 'tcp', portMin: 8000 + r, portMax: 8000 + r, remoteGroup: `bench-g${(g + r) % groups}` }]);
      else if (kind === 2) own.push({ direction: 'ingress', protocol: 'tcp', portMin: 1000, portMax: 1999, remoteCidr: `10.${r}.0.0/16` });
      else later.push([g, { direction: 'ingress', protocol: 'icmp', remoteGroup: `bench-g${g}` }]);
    }
    const res = await plexusd.api<{ id: string }>('POST', '/v1/security-groups', { name: `bench-g${g}`, rules: own });
    if (res.status !== 201) throw new Error(`POST /v1/security-groups: ${res.status} ${JSON.stringify(res.body)}`);
    ids.push(res.body.id);
  }
  for (const [g, rule] of later) {
    const res = await plexusd.api('POST', `/v1/security-groups/${ids[g]}/rules`, rule);
    if (res.status !== 201) throw new Error(`POST /v1/security-groups/${ids[g]}/rules: ${res.status} ${JSON.stringify(res.body)}`);
  }
  return ids;
}

/**
 * One network, a subnet big enough, and `total` endpoints created through the API (not timed), each in `groups` (ids).
 * `named`: each gets a name, which the API checks against every endpoint of the tenant (a read of
 * them all per create); the simulated fleet's tens of thousands go unnamed.
 */
async function createEndpoints(
  plexusd: PlexusdProcess, total: number, ctx: BenchContext, groups: readonly string[] = [], named = true,
  networkOfEndpoint: (i: number) => number = () => 0,
): Promise<CreatedEndpoint[]> {
  const counts: number[] = [];
  for (let i = 0; i < total; i++) counts[networkOfEndpoint(i)] = (counts[networkOfEndpoint(i)] ?? 0) + 1;
  const nets: string[] = [];
  for (let k = 0; k < counts.length; k++) {
    const net = await plexusd.api<{ id: string; vni: number }>('POST', '/v1/networks', { name: k === 0 ? 'bench' : `bench-${k}` });
    if (net.status !== 201) throw new Error(`POST /v1/networks: ${net.status} ${JSON.stringify(net.body)}`);
    const cidr = counts.length === 1 ? subnetFor(total) : blockFor(k, Math.max(...counts.map((c) => c ?? 0)));
    const sub = await plexusd.api('POST', '/v1/subnets', { network: net.body.id, cidr });
    if (sub.status !== 201) throw new Error(`POST /v1/subnets: ${sub.status} ${JSON.stringify(sub.body)}`);
    nets.push(net.body.id);
  }
  ctx.progress(`plexus: creating ${total} endpoints through the API${nets.length > 1 ? ` in ${nets.length} networks` : ''}`);
  // Unnamed creates read no other endpoint: more in flight (as bench/scale.ts's etcd step).
  return pool(Array.from({ length: total }, (_, i) => i), named ? 8 : 32, async (i) => {
    const network = nets[networkOfEndpoint(i)]!;
    const r = await plexusd.api<CreatedEndpoint>('POST', '/v1/endpoints', { network, ...(named ? { name: `bench-${i}` } : {}), ...(groups.length ? { securityGroups: groups } : {}) });
    if (r.status !== 201) throw new Error(`POST /v1/endpoints: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  });
}

/**
 * The remote side of a simulated host: the L2 flows (table 50) with an exact
 * eth_dst that its simulated switch adds or modifies, by MAC, timestamped in
 * the switch's flow-table event (the moment the FLOW_MOD or bundle is applied).
 */
class SimFlowWatch implements RemoteWatch {
  private readonly log = new ArrivalLog();
  private readonly listener = (c: FlowChange): void => this.onChange(c);

  constructor(private readonly host: SimHost) {
    host.sim.on('flow', this.listener);
  }

  private onChange(c: FlowChange): void {
    if (c.kind === 'removed' || c.entry.tableId !== L2.id) return;
    const atMs = performance.now();
    let mac: string | undefined;
    for (const f of c.entry.fields.values()) {
      if (f.name === 'eth_dst' && f.mask === undefined && f.value.length === 6) {
        mac = [...f.value].map((b) => b.toString(16).padStart(2, '0')).join(':');
      }
    }
    if (mac !== undefined) this.log.record(mac, atMs);
  }

  when(key: string, sinceMs: number): Promise<number> {
    return this.log.when(key, sinceMs);
  }

  async stop(): Promise<void> {
    this.host.sim.off('flow', this.listener);
  }
}

/** Plexus against `w.hosts` simulated hosts (see the header). */
async function runSimulated(w: Workload, ctx: BenchContext, profileDir: string | undefined, heapSnapshotDir?: string): Promise<Measured> {
  const teardown = new Teardown();
  try {
    ctx.progress(`plexus (simulated): starting plexusd and ${w.hosts} simulated hosts`);
    const savedNodeArgs = process.env.PLEXUSD_NODE_ARGS;
    if (heapSnapshotDir) process.env.PLEXUSD_NODE_ARGS = `${savedNodeArgs ?? ''} --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${heapSnapshotDir}`.trim();
    const { process: plexusd } = teardown.add(await startPlexusd({ memberId: 'bench', logLevel: 'warn' }, profileDir).finally(() => {
      if (savedNodeArgs === undefined) delete process.env.PLEXUSD_NODE_ARGS;
      else process.env.PLEXUSD_NODE_ARGS = savedNodeArgs;
    }));
    if (profileDir) ctx.progress(`plexus: plexusd writes a CPU profile to ${profileDir} when it stops`);
    const setupMs = 60_000 + w.hosts * 500;
    const joinT0 = performance.now();
    const hosts = await startSimHosts({
      count: w.hosts, plexusd, idPrefix: 'sim', dpidBase: 0x0000_7000_0000_0000n, teardown, emulateOfports: true,
      encapIp: (i) => encapIp(4, i + 1), readyTimeoutMs: setupMs, progress: (m) => ctx.progress(`plexus (simulated): ${m}`),
    });
    ctx.progress(`plexus (simulated): ${w.hosts} hosts ready; waiting for each host's VXLAN port`);
    await waitFor(`a VXLAN port with an ofport on each of ${w.hosts} simulated hosts`, () => hosts.every((h) => h.tunnelPorts >= 1), setupMs, 200);
    const joinS = (performance.now() - joinT0) / 1000;
    const idle = await measureFootprint(plexusd);
    ctx.progress(`plexus (simulated): ${w.hosts} hosts joined in ${round(joinS, 1)} s; plexusd RSS ${mib(idle.plexusdRssBytes)} MiB`);
    const networkOf = (h: number): number => (w.hostsPerNetwork > 0 ? Math.floor(h / w.hostsPerNetwork) : 0);
    const created = await createEndpoints(plexusd, w.endpoints + w.burst, ctx, await createGroups(plexusd, w.groups, w.rules), false, (i) => networkOf(i % w.hosts));
    const drivers = await pool(hosts, 16, (h) => HostDriver.connect(h, ['plexus-installed']).then((d) => teardown.add(d)));
    const watches = hosts.map((h) => teardown.add(new SimFlowWatch(h)));
    const endpoints = created.map((e, i) => ({
      externalIds: { 'iface-id': e.id, 'attached-mac': e.mac, container_id: `bench-${i}` },
      remoteKey: e.mac.toLowerCase(),
      ofport: 10_000 + i,
    }));
    const m = await measure({ prefix: '', mark: 'plexus-installed', drivers, watches, endpoints, networkOf }, w, ctx);
    const health = healthFigures(plexusd.logs, hosts, ctx);
    const settled = await settle(plexusd, ctx);
    if (heapSnapshotDir) await takeHeapSnapshot(plexusd, heapSnapshotDir, ctx);
    await compactEtcd(plexusd);
    const compacted = await measureFootprint(plexusd);
    ctx.progress(`plexus (simulated): etcd compacted and defragmented: db ${mib(compacted.etcdDbBytes)} MiB, in use ${mib(compacted.etcdDbInUseBytes)} MiB`);
    return { ...m, scale: { ...footprintFigures(w, joinS, idle, settled), ...compactedFigures(w, compacted), ...health } };
  } finally {
    ctx.progress('plexus (simulated): tearing down');
    await teardown.run();
  }
}

/** SIGUSR2 (plexusd runs with --heapsnapshot-signal) and the wait until the snapshot file stops growing. */
async function takeHeapSnapshot(plexusd: PlexusdProcess, dir: string, ctx: BenchContext): Promise<void> {
  const before = new Set(readdirSync(dir));
  process.kill(plexusd.pid!, 'SIGUSR2');
  let file: string | undefined;
  let size = -1;
  await waitFor('plexusd heap snapshot', () => {
    file ??= readdirSync(dir).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    if (!file) return false;
    const now = statSync(join(dir, file)).size;
    const done = now > 0 && now === size;
    size = now;
    return done;
  }, 600_000, 2000);
  ctx.progress(`plexus (simulated): heap snapshot of plexusd in ${join(dir, file!)} (${mib(size)} MiB)`);
}

/**
 * What plexusd said while the run went on (it runs at --log-level warn, one JSON
 * object per line; its last 200 kB are kept): warn and error lines by message,
 * with the reasons they give (why a connection closed, a request failed),
 * the longest event-loop stall it logged, lease losses; and how often the
 * simulated switches reopened their OpenFlow connection. A burst that settles
 * cleanly shows none of these.
 */
function tally(counts: Map<string, number>, key: string, n = 1): void {
  counts.set(key, (counts.get(key) ?? 0) + n);
}

/** `: 3x "a", 1x "b"`, the eight most frequent, or nothing. */
function counted(counts: ReadonlyMap<string, number>): string {
  const top = [...counts].sort((a, b) => b[1] - a[1]).slice(0, 8);
  return top.length ? `: ${top.map(([k, v]) => `${v}x "${k}"`).join(', ')}` : '';
}

function healthFigures(logs: string, hosts: readonly SimHost[], ctx: BenchContext): Figures {
  const byMessage = new Map<string, number>();
  /** Lines that give a reason or an error (a connection closed or lost, a request failed), by message and reason. */
  const whyGiven = new Map<string, number>();
  let maxStallMs = 0;
  let leaseLost = 0;
  let lines = 0;
  for (const text of logs.split('\n')) {
    if (!text.startsWith('{')) continue;
    let line: { level?: string; message?: string; stalledMs?: number; reason?: string; error?: string };
    try {
      line = JSON.parse(text) as typeof line;
    } catch {
      continue; // the first line of the kept window may be cut
    }
    if (line.level !== 'warn' && line.level !== 'error') continue;
    lines++;
    const message = String(line.message);
    tally(byMessage, message);
    if (message === 'event loop stalled') maxStallMs = Math.max(maxStallMs, line.stalledMs ?? 0);
    if (message.startsWith('member lease lost')) leaseLost++;
    const why = line.reason ?? line.error;
    if (why !== undefined) tally(whyGiven, `${message}: ${String(why).replace(/\d+/g, 'N')}`);
  }
  const reconnects = hosts.reduce((sum, h) => sum + h.reconnects, 0);
  const switchWhy = new Map<string, number>();
  for (const h of hosts) for (const [why, n] of h.drops) tally(switchWhy, why, n);
  ctx.progress(`plexus (simulated): plexusd logged ${lines} warn/error lines (${logs.length >= 200_000 ? 'last 200 kB' : 'all'})${counted(byMessage)}; longest stall logged ${maxStallMs} ms; OpenFlow reconnects of the switches ${reconnects}${counted(switchWhy)}`);
  if (whyGiven.size) ctx.progress(`plexus (simulated): the reasons plexusd gave${counted(whyGiven)}`);
  return { plexusd_warn_lines: lines, plexusd_max_stall_ms: maxStallMs, plexusd_lease_lost: leaseLost, of_reconnects: reconnects };
}

function mib(bytes: number): number {
  return round(bytes / 2 ** 20, 1);
}

/** Samples every 2 s until plexusd's RSS moved less than 1 % over the last sample (at most 30 s): the run has settled. */
async function settle(plexusd: PlexusdProcess, ctx: BenchContext): Promise<Footprint> {
  let last = await measureFootprint(plexusd);
  for (let i = 0; i < 15; i++) {
    await new Promise((r) => setTimeout(r, 2000));
    const now = await measureFootprint(plexusd);
    const moved = Math.abs(now.plexusdRssBytes - last.plexusdRssBytes) / Math.max(1, last.plexusdRssBytes);
    last = now;
    if (moved < 0.01) break;
  }
  ctx.progress(`plexus (simulated): settled: plexusd RSS ${mib(last.plexusdRssBytes)} MiB, heap ${Number.isNaN(last.plexusdHeapUsedBytes) ? 'not answered (plexusd /metrics busy)' : `${mib(last.plexusdHeapUsedBytes)} MiB`}; etcd RSS ${mib(last.etcdRssBytes)} MiB, db ${mib(last.etcdDbBytes)} MiB`);
  return last;
}

/**
 * Join time, and the settled footprint against issue 17's budget: plexusd
 * RSS ≤ 4 MiB per mastered host (one member masters every host here) + 2 KiB
 * per endpoint; etcd ≤ 1 KiB per endpoint (db size, and RSS for reference).
 */
function footprintFigures(w: Workload, joinS: number, idle: Footprint, f: Footprint): Figures {
  const endpoints = w.endpoints + w.burst;
  const budget = w.hosts * 4 * 2 ** 20 + endpoints * 2048;
  return {
    join_s: round(joinS, 1),
    join_per_host_ms: round((joinS * 1000) / w.hosts, 1),
    idle_rss_mib: mib(idle.plexusdRssBytes),
    rss_mib: mib(f.plexusdRssBytes),
    heap_used_mib: mib(f.plexusdHeapUsedBytes),
    rss_budget_mib: mib(budget),
    rss_per_host_kib: round((f.plexusdRssBytes - endpoints * 2048) / w.hosts / 1024, 1),
    etcd_rss_mib: mib(f.etcdRssBytes),
    etcd_db_mib: mib(f.etcdDbBytes),
    etcd_db_in_use_mib: mib(f.etcdDbInUseBytes),
    etcd_db_per_endpoint_b: Math.round(f.etcdDbInUseBytes / endpoints),
    etcd_rss_per_endpoint_b: Math.round(f.etcdRssBytes / endpoints),
  };
}

/** etcd once its history is compacted away (what its hourly auto-compaction leaves): the model's own bytes. */
function compactedFigures(w: Workload, f: Footprint): Figures {
  const endpoints = w.endpoints + w.burst;
  return {
    etcd_compacted_db_mib: mib(f.etcdDbBytes),
    etcd_compacted_per_endpoint_b: Math.round(f.etcdDbInUseBytes / endpoints),
  };
}

async function runPlexus(w: Workload, ctx: BenchContext, profileDir: string | undefined): Promise<Measured> {
  const teardown = new Teardown();
  try {
    ctx.progress(`plexus: starting plexusd and ${w.hosts} hosts`);
    const { process: plexusd } = teardown.add(await startPlexusd({ memberId: 'bench', logLevel: 'warn' }, profileDir));
    if (profileDir) ctx.progress(`plexus: plexusd writes a CPU profile to ${profileDir} when it stops`);
    const hosts = await pool(Array.from({ length: w.hosts }, (_, i) => i + 1), 4, (i) =>
      startHost({ name: `h${i}`, dummy: true, externalIds: { 'plexus-encap-ip': encapIp(1, i), 'plexus-bridge-datapath-type': 'dummy' } }).then((h) => teardown.add(h)));
    await pool(hosts, 8, (h) => h.vsctl('set-manager', `tcp:127.0.0.1:${plexusd.ports.ovsdb}`));
    await waitFor(`${w.hosts} hosts ready`, async () => {
      const r = await plexusd.api<HostsPage>('GET', '/v1/hosts?limit=1000');
      return r.body.items.filter((h) => h.status === 'ready' && h.ofConnected).length === w.hosts;
    }, 60_000 + w.hosts * 2000, 200);
    await waitForTunnels(hosts, 'vxlan', 60_000 + w.hosts * 2000, 1);

    const created = await createEndpoints(plexusd, w.endpoints + w.burst, ctx, await createGroups(plexusd, w.groups, w.rules));
    const { drivers, watches } = await connectAll(hosts, 'plexus-installed', dlDstOf, teardown);
    const endpoints = created.map((e, i) => ({
      externalIds: { 'iface-id': e.id, 'attached-mac': e.mac, container_id: `bench-${i}` },
      remoteKey: e.mac.toLowerCase(),
    }));
    return await measure({ prefix: '', mark: 'plexus-installed', drivers, watches, endpoints }, w, ctx);
  } finally {
    ctx.progress('plexus: tearing down');
    await teardown.run();
  }
}

/** Installs OVN from Debian if it is missing (bench-only dependency). */
async function ensureOvn(ctx: BenchContext): Promise<void> {
  const missing = ['ovn-northd', 'ovn-controller', 'ovn-nbctl'].filter((b) => {
    try {
      execFileSync('sh', ['-c', `command -v ${b}`], { stdio: 'ignore' });
      return false;
    } catch {
      return true;
    }
  });
  if (!missing.length) return;
  if (process.getuid?.() !== 0) throw new Error(`--peer ovn needs ${missing.join(', ')}: apt-get install ovn-central ovn-host`);
  ctx.progress('installing ovn-central ovn-host (apt-get)');
  await run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'ovn-central', 'ovn-host'], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    timeoutMs: 600_000,
  });
}

function macFor(i: number): string {
  const b = [0x0a, 0x58, 0x00, (i >> 16) & 255, (i >> 8) & 255, i & 255];
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

function ipFor(i: number): string {
  const n = i + 10;
  return `10.77.${n >> 8}.${n & 255}`;
}

/** OVN's remote-output flow for a port: tunnel action, `reg15=<port key>`, `metadata=<datapath key>`. */
const ovnRemoteKey: KeyOf = (line) => {
  if (!/tun_id/i.test(line)) return undefined;
  const port = /\breg15=0x([0-9a-f]+)\b/.exec(line)?.[1];
  const dp = /\bmetadata=0x([0-9a-f]+)\b/.exec(line)?.[1];
  return port && dp ? `${parseInt(dp, 16)}/${parseInt(port, 16)}` : undefined;
};

async function runOvn(w: Workload, ctx: BenchContext, encap: string): Promise<Measured> {
  const teardown = new Teardown();
  try {
    ctx.progress(`ovn: starting NB, SB, northd and ${w.hosts} hosts with ovn-controller`);
    const central = teardown.add(await OvnCentral.start());
    const hosts = await pool(Array.from({ length: w.hosts }, (_, i) => i + 1), 4, (i) =>
      startHost({
        name: `o${i}`,
        dummy: true,
        systemId: `o${i}`,
        externalIds: { 'ovn-remote': `unix:${central.sbSock}`, 'ovn-encap-type': encap, 'ovn-encap-ip': encapIp(2, i), 'ovn-bridge-datapath-type': 'dummy' },
      }).then((h) => teardown.add(h)));
    for (const h of hosts) teardown.add(await central.startController(h));
    await central.waitForChassis(w.hosts, 60_000 + w.hosts * 2000);
    await waitForTunnels(hosts, encap === 'vxlan' ? 'vxlan' : 'geneve', 60_000 + w.hosts * 2000);

    const total = w.endpoints + w.burst;
    ctx.progress(`ovn: creating a logical switch with ${total} logical ports`);
    await central.nbctl('ls-add', 'bench');
    for (let start = 0; start < total; start += 200) {
      const args: string[] = [];
      for (let i = start; i < Math.min(total, start + 200); i++) {
        args.push('--', 'lsp-add', 'bench', `lp${i}`, '--', 'lsp-set-addresses', `lp${i}`, `${macFor(i)} ${ipFor(i)}`);
      }
      await central.nbctl(...args.slice(1));
    }
    const keys = await waitFor(`northd to bind ${total} logical ports`, async () => {
      const out = await central.sbctl('--format=csv', '--no-headings', '--columns=logical_port,tunnel_key', 'list', 'Port_Binding');
      const m = new Map<string, number>();
      for (const line of out.split('\n')) {
        const [lp, key] = line.split(',');
        if (lp && key) m.set(lp.replace(/"/g, ''), Number(key));
      }
      return m.size >= total ? m : undefined;
    }, 120_000, 250);
    const dpKey = Number((await central.sbctl('--bare', '--columns=tunnel_key', 'list', 'Datapath_Binding')).trim());
    if (!Number.isInteger(dpKey)) throw new Error('expected exactly one OVN datapath');
    const { drivers, watches } = await connectAll(hosts, 'ovn-installed', ovnRemoteKey, teardown);
    const endpoints = Array.from({ length: total }, (_, i) => ({
      externalIds: { 'iface-id': `lp${i}`, 'attached-mac': macFor(i), container_id: `bench-${i}` },
      remoteKey: `${dpKey}/${keys.get(`lp${i}`)}`,
    }));
    return await measure({ prefix: 'ovn_', mark: 'ovn-installed', drivers, watches, endpoints }, w, ctx);
  } finally {
    ctx.progress('ovn: tearing down');
    await teardown.run();
  }
}

function figuresOf(prefix: string, m: Measured): Figures {
  return {
    ...latencyFigures(`${prefix}local`, m.localMs),
    ...latencyFigures(`${prefix}remote`, m.remoteMs),
    [`${prefix}burst_s`]: round(m.burstS, 3),
  };
}

export const attachBench: BenchDefinition = {
  name: 'attach',
  summary: 'attach latency (local install, remote flows) one at a time and in a burst; optionally vs OVN',
  options: [
    { name: 'hosts', kind: 'number', default: 3, help: 'sandboxed OVS hosts' },
    { name: 'endpoints', kind: 'number', default: 30, help: 'endpoints attached one at a time, round-robin over hosts' },
    { name: 'burst', kind: 'number', help: 'endpoints then attached all at once (default: --endpoints)' },
    { name: 'peer', kind: 'string', help: '"ovn": run the same workload on OVN too' },
    { name: 'ovn-encap', kind: 'string', default: 'geneve', help: 'OVN tunnel type (geneve or vxlan)' },
    { name: 'peer-only', kind: 'boolean', default: false, help: 'run only the peer (debugging)' },
    { name: 'profile-plexusd', kind: 'boolean', default: false, help: 'CPU-profile plexusd (.cpuprofile in bench/results)' },
    { name: 'op-timeout', kind: 'number', default: 30, help: 'seconds one attach may take before the run fails' },
    { name: 'simulated', kind: 'boolean', default: false, help: 'simulated hosts (ovsdb-server + in-process OpenFlow switch each) instead of OVS; Plexus only' },
    { name: 'heap-snapshot', kind: 'boolean', default: false, help: 'with --simulated: a V8 heap snapshot of plexusd once the run settles (bench/results)' },
    { name: 'groups', kind: 'number', default: 0, help: 'security groups on every endpoint (Plexus only; compare 0 with 5)' },
    { name: 'rules', kind: 'number', default: 20, help: 'rules per security group (with --groups)' },
    { name: 'hosts-per-network', kind: 'number', default: 10, help: 'with --simulated: consecutive hosts per network (0: one network over all hosts)' },
  ],
  async run(ctx) {
    const o = ctx.options;
    const w: Workload = {
      hosts: num(o, 'hosts'),
      endpoints: num(o, 'endpoints'),
      burst: typeof o.burst === 'number' ? o.burst : num(o, 'endpoints'),
      opTimeoutMs: num(o, 'op-timeout') * 1000,
      groups: num(o, 'groups'),
      rules: num(o, 'rules'),
      hostsPerNetwork: num(o, 'hosts-per-network'),
    };
    if (w.groups > 0 && str(o, 'peer') !== undefined) throw new Error('--groups runs Plexus only (the OVN peer has no security groups here)');
    if (w.hosts < 2) throw new Error('--hosts must be at least 2 (remote latency needs another host)');
    if (w.endpoints < 1) throw new Error('--endpoints must be at least 1');
    const peer = str(o, 'peer');
    if (peer !== undefined && peer !== 'ovn') throw new Error(`unknown --peer ${peer} (only "ovn")`);
    const encap = str(o, 'ovn-encap') ?? 'geneve';
    if (encap !== 'geneve' && encap !== 'vxlan') throw new Error('--ovn-encap must be geneve or vxlan');
    const simulated = o.simulated === true;
    if (simulated && (peer !== undefined || o['peer-only'])) {
      throw new Error('--simulated runs Plexus only: --peer/--peer-only need real OVS hosts (drop --simulated to compare with OVN)');
    }
    ctx.useVersion('etcd');
    let figures: Figures = { hosts: w.hosts, endpoints: w.endpoints, burst: w.burst, ...(simulated ? { hosts_per_network: w.hostsPerNetwork || w.hosts } : {}), ...(w.groups ? { groups: w.groups, rules_per_group: w.rules } : {}) };
    const profileDir = o['profile-plexusd'] ? join(repoRoot(), 'bench', 'results', `plexusd-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`) : undefined;
    if (simulated) {
      const m = await runSimulated(w, ctx, profileDir, o['heap-snapshot'] ? join(repoRoot(), 'bench', 'results') : undefined);
      figures = { ...figures, ...figuresOf('', m), ...m.scale, simulated: 1 };
      ctx.details.plexus = { localMs: m.localMs.map((x) => round(x, 2)), remoteMs: m.remoteMs.map((x) => round(x, 2)) };
      return figures;
    }
    if (!o['peer-only']) {
      const m = await runPlexus(w, ctx, profileDir);
      figures = { ...figures, ...figuresOf('', m) };
      ctx.details.plexus = { localMs: m.localMs.map((x) => round(x, 2)), remoteMs: m.remoteMs.map((x) => round(x, 2)) };
    }
    if (peer === 'ovn') {
      await ensureOvn(ctx);
      ctx.useVersion('ovn');
      const m = await runOvn(w, ctx, encap);
      figures = { ...figures, ...figuresOf('ovn_', m) };
      ctx.details.ovn = { localMs: m.localMs.map((x) => round(x, 2)), remoteMs: m.remoteMs.map((x) => round(x, 2)) };
      if (!o['peer-only']) {
        for (const k of ['local_p50_ms', 'local_p99_ms', 'remote_p50_ms', 'remote_p99_ms', 'burst_s']) {
          figures[`ovn_ratio_${k.replace(/_(ms|s)$/, '')}`] = ratio(figures[`ovn_${k}`], figures[k]);
        }
      }
    }
    return figures;
  },
};
