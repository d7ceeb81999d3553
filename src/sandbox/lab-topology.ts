/**
 * The hosts of the real-packet lab (layout in lab.ts): the names and addresses of a
 * run, claiming a free run id, and the setup steps that build the underlay and
 * management segments, one OVS per host namespace, br-phy with the tunnel endpoint,
 * and OVS' tunnel neighbour cache. Everything created is recorded in a
 * {@link LabResources} before it exists, so the lab can always remove it.
 */
import { randomInt } from 'node:crypto';
import { addNetns, addVeth, deleteNetns, ip, listLinks, listNetns, NetnsError, nsRun, setSysctl } from './netns';
import { OvsHost } from './ovs-host';
import { run, waitFor } from './processes';

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

/** What a lab created and must remove: filled before each thing is created. */
export interface LabResources {
  readonly netns: string[];
  readonly rootLinks: string[];
  readonly ovsHosts: OvsHost[];
}

/** Names and addresses of run R (every one test-only, on links the lab creates). */
export interface LabLayout {
  readonly runId: number;
  /** Prefix of every namespace and root-namespace link of this run. */
  readonly prefix: string;
  readonly underlayNetns: string;
  readonly mgmtBridge: string;
  /** Address plexusd listens on and advertises so OVS in the host namespaces reaches it. */
  readonly controllerAddress: string;
  readonly underlayCidr: string;
}

/** Run ids whose 169.254.R.0/24 cloud metadata services use (169.254.169.254, 169.254.170.2). */
const RESERVED_RUN_IDS = new Set([169, 170]);

export const hex2 = (n: number): string => n.toString(16).padStart(2, '0');

export function labLayout(runId: number): LabLayout {
  const prefix = `px${runId}`;
  return {
    runId,
    prefix,
    underlayNetns: `${prefix}u`,
    mgmtBridge: `${prefix}m`,
    controllerAddress: `169.254.${runId}.1`,
    underlayCidr: `172.31.${runId}.0/24`,
  };
}

/** The underlay bridge, the management bridge in the root namespace, and every host namespace wired to both. */
export async function createSegments(layout: LabLayout, resources: LabResources, hostCount: number): Promise<void> {
  await ip(layout.underlayNetns, 'link', 'add', 'br0', 'type', 'bridge');
  await ip(layout.underlayNetns, 'link', 'set', 'br0', 'up');
  resources.rootLinks.push(layout.mgmtBridge);
  await ip(undefined, 'link', 'add', layout.mgmtBridge, 'type', 'bridge');
  await ip(undefined, 'addr', 'add', `${layout.controllerAddress}/24`, 'dev', layout.mgmtBridge);
  await ip(undefined, 'link', 'set', layout.mgmtBridge, 'up');
  await settleAll(Array.from({ length: hostCount }, (_, k) => addHostNamespace(layout, resources, k + 1)));
}

async function addHostNamespace(layout: LabLayout, resources: LabResources, i: number): Promise<void> {
  const ns = `${layout.prefix}h${i}`;
  resources.netns.push(ns);
  await addNetns(ns);
  // IPv6 is not part of the underlay or management paths; its DAD and router
  // solicitations would only add noise to captures.
  await setSysctl(ns, { 'net.ipv6.conf.all.disable_ipv6': 1, 'net.ipv6.conf.default.disable_ipv6': 1 });
  await addVeth({ name: `h${i}`, ns: layout.underlayNetns, peer: 'ul0', peerNs: ns });
  await ip(layout.underlayNetns, 'link', 'set', `h${i}`, 'master', 'br0', 'up');
  await ip(ns, 'link', 'set', 'ul0', 'up');
  const rootEnd = `${layout.prefix}h${i}m`;
  resources.rootLinks.push(rootEnd);
  await addVeth({ name: rootEnd, peer: 'mgmt0', peerNs: ns });
  await ip(undefined, 'link', 'set', rootEnd, 'master', layout.mgmtBridge, 'up');
  await ip(ns, 'addr', 'add', `169.254.${layout.runId}.${10 + i}/24`, 'dev', 'mgmt0');
  await ip(ns, 'link', 'set', 'mgmt0', 'up');
}

/** `ovsdb-server` + `ovs-vswitchd` in every host namespace; the hosts in index order. */
export async function startHostSwitches(layout: LabLayout, resources: LabResources, hostCount: number): Promise<LabHost[]> {
  const R = layout.runId;
  const started = await settleAll(Array.from({ length: hostCount }, async (_, k) => {
    const i = k + 1;
    const ovs = await OvsHost.start({
      name: `${layout.prefix}h${i}`,
      netns: `${layout.prefix}h${i}`,
      systemId: `h${i}`,
      externalIds: {
        'plexus-encap-ip': `172.31.${R}.${i}`,
        'plexus-bridge-datapath-type': 'netdev',
      },
    });
    resources.ovsHosts.push(ovs);
    return ovs;
  }));
  const hosts = started.map((ovs): LabHost => {
    const i = Number(/h(\d+)$/.exec(ovs.name)?.[1]);
    return {
      index: i,
      id: `h${i}`,
      netns: `${layout.prefix}h${i}`,
      ovs,
      underlayIp: `172.31.${R}.${i}`,
      underlayMac: `02:31:${hex2(R)}:00:00:${hex2(i)}`,
      mgmtIp: `169.254.${R}.${10 + i}`,
    };
  });
  return hosts.sort((a, b) => a.index - b.index);
}

/** br-phy (netdev, the host's underlay MAC) on ul0, with the tunnel endpoint address. */
export async function addUnderlayBridges(hosts: readonly LabHost[]): Promise<void> {
  await settleAll(hosts.map(async (h) => {
    await h.ovs.vsctl(
      'add-br', 'br-phy', '--', 'set', 'Bridge', 'br-phy', 'datapath_type=netdev',
      `other_config:hwaddr="${h.underlayMac}"`,
      '--', 'add-port', 'br-phy', 'ul0',
    );
    await waitFor(`br-phy in ${h.netns}`, () => listLinks(h.netns).includes('br-phy'), 10_000);
    await ip(h.netns, 'addr', 'add', `${h.underlayIp}/24`, 'dev', 'br-phy');
    await ip(h.netns, 'link', 'set', 'br-phy', 'up');
  }));
}

/**
 * One kernel ping per peer proves the underlay end to end before any overlay test
 * depends on it; then OVS' tunnel ARP cache gets every peer (SPEC §9).
 */
export async function checkUnderlay(hosts: readonly LabHost[]): Promise<void> {
  await Promise.all(hosts.map((h) => Promise.all(peersOf(hosts, h).map(async (p) => {
    await waitFor(`underlay ${h.id} -> ${p.id}`, async () => {
      const r = await nsRun(h.netns, 'ping', ['-c', '1', '-W', '1', '-q', p.underlayIp], { allowFail: true });
      return r.code === 0;
    }, 10_000, 100);
  }))));
  await seedTunnelNeighbours(hosts);
}

/**
 * Seeds OVS' tunnel neighbour cache on every host with every peer's br-phy MAC
 * (`ovs-appctl tnl/neigh/set`).
 */
export async function seedTunnelNeighbours(hosts: readonly LabHost[]): Promise<void> {
  await Promise.all(hosts.map((h) => Promise.all(peersOf(hosts, h).map((p) =>
    h.ovs.appctl('ovs-vswitchd', 'tnl/neigh/set', 'br-phy', p.underlayIp, p.underlayMac)))));
}

function peersOf(hosts: readonly LabHost[], h: LabHost): LabHost[] {
  return hosts.filter((p) => p !== h);
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

/**
 * Picks a run id whose names and management subnet are free, and claims it by
 * creating the underlay namespace (`ip netns add` fails if the name exists, so
 * two labs started at once cannot both get the same id).
 */
export async function claimRunId(wanted: number | undefined): Promise<number> {
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

/** Releases a claimed run id whose lab never started (the underlay namespace is the claim). */
export async function releaseRunId(runId: number): Promise<void> {
  await deleteNetns(labLayout(runId).underlayNetns);
}

function shuffled<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [xs[i], xs[j]] = [xs[j] as T, xs[i] as T];
  }
  return xs;
}
