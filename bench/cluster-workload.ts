/**
 * What the cluster benchmarks (`failover`, `restart`) share: a ClusterFixture
 * with its temp dirs removed even when the run is cut short, endpoints created
 * through the REST API of every member and plugged on the hosts the way
 * ovs-docker does, flow watches on every switch, and the checks that say a
 * datapath has a master (SPEC §5).
 */
import { rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { OvsHost } from '../src/sandbox/ovs-host';
import { ClusterFixture, type ClusterView } from '../src/sandbox/plexus-cluster';
import type { PlexusdProcess } from '../src/sandbox/plexusd-process';
import { onExitCleanup, waitFor } from '../src/sandbox/processes';
import { watchFlowChanges } from '../test/support/switch-fixture';
import { isInstalled, plug } from '../test/support/workloads';
import type { BenchContext } from './framework';

export interface ClusterBench {
  readonly cluster: ClusterFixture;
  /** Stops every process by pid and removes the temp dirs; never throws. */
  stop(): Promise<void>;
}

/** Starts the cluster; its hosts' temp dirs are removed on an abrupt exit too (pids are tracked by the sandbox). */
export async function startClusterBench(options: { members: number; hosts: number; ttlSeconds: number }): Promise<ClusterBench> {
  const cluster = await ClusterFixture.start({ members: options.members, hosts: options.hosts, ttlSeconds: options.ttlSeconds });
  const forget = cluster.hosts.map((h) => onExitCleanup(() => rmSync(h.dir, { recursive: true, force: true })));
  return {
    cluster,
    stop: async () => {
      // A SIGSTOPped member would only die at the SIGKILL after the grace period.
      for (const m of cluster.members) if (m.pid !== undefined) resume(m);
      await cluster.stop().catch(() => undefined);
      for (const h of cluster.hosts) rmSync(h.dir, { recursive: true, force: true });
      forget.forEach((f) => f());
    },
  };
}

export function resume(m: PlexusdProcess): void {
  try {
    if (m.pid !== undefined) process.kill(m.pid, 'SIGCONT');
  } catch {
    /* gone */
  }
}

interface CreatedEndpoint {
  readonly id: string;
  readonly mac: string;
}

/**
 * One network with a /16 subnet; `count` endpoints created round-robin through
 * every member's API, plugged round-robin on the hosts, all waited for
 * `plexus-installed`. Resolves with the time the whole attach took.
 */
export async function attachEndpoints(c: ClusterFixture, count: number, ctx: BenchContext): Promise<number> {
  const t0 = performance.now();
  const api = c.live();
  const net = await api.api<{ id: string }>('POST', '/v1/networks', { name: 'bench' });
  if (net.status !== 201) throw new Error(`POST /v1/networks: ${net.status} ${JSON.stringify(net.body)}`);
  const sub = await api.api('POST', '/v1/subnets', { network: 'bench', cidr: '10.88.0.0/16' });
  if (sub.status !== 201) throw new Error(`POST /v1/subnets: ${sub.status} ${JSON.stringify(sub.body)}`);
  const perHost = new Map<OvsHost, { port: string; ep: CreatedEndpoint }[]>(c.hosts.map((h) => [h, []]));
  for (let i = 0; i < count; i++) {
    const via = c.members[i % c.members.length]!;
    const res = await via.api<CreatedEndpoint>('POST', '/v1/endpoints', { network: 'bench', name: `b${i}`, kind: 'container' });
    if (res.status !== 201) throw new Error(`POST /v1/endpoints: ${res.status} ${JSON.stringify(res.body)}`);
    perHost.get(c.hosts[i % c.hosts.length]!)!.push({ port: `b${i}`, ep: res.body });
  }
  // Hosts in parallel, one ovs-vsctl at a time on each.
  await Promise.all(
    [...perHost].map(async ([host, list]) => {
      for (const w of list) await plug(host, w.port, { 'iface-id': w.ep.id, 'attached-mac': w.ep.mac, container_id: w.port });
    }),
  );
  await Promise.all(
    [...perHost].map(async ([host, list]) => {
      for (const w of list) await waitFor(`${w.port} installed on ${host.name}`, () => isInstalled(host, w.port), 60_000, 50);
    }),
  );
  const ms = performance.now() - t0;
  ctx.progress(`${count} endpoints attached and installed on ${c.hosts.length} hosts in ${Math.round(ms)} ms`);
  return ms;
}

/** Flow monitors on every host's br-int; `stop()` returns every flow change seen, tagged with the host. */
export async function watchAllSwitches(c: ClusterFixture): Promise<{ stop(): Promise<string[]> }> {
  const ws = await Promise.all(c.hosts.map(async (h) => ({ host: h.name, w: await watchFlowChanges(h) })));
  return {
    stop: async () => (await Promise.all(ws.map(async ({ host, w }) => (await w.stop()).map((l) => `${host}: ${l}`)))).flat(),
  };
}

/** The member mastering the most datapaths now, and those datapaths. */
export function busiest(c: ClusterFixture, view: ClusterView): { member: PlexusdProcess; datapaths: string[]; openflow: string } {
  const alive = view.members.filter((m) => c.members.some((p) => p.options.memberId === m.id && p.pid !== undefined));
  const top = [...alive].sort((a, b) => b.datapaths.length - a.datapaths.length || a.id.localeCompare(b.id))[0];
  if (!top) throw new Error('no live member in the cluster view');
  return { member: c.members.find((p) => p.options.memberId === top.id)!, datapaths: [...top.datapaths].sort(), openflow: top.openflow };
}

/**
 * Ms from `t0` until the cluster view (read from `via`, every `intervalMs`)
 * shows every one of `hosts` mastered by someone other than `formerId`.
 */
export async function timeUntilRemastered(c: ClusterFixture, via: PlexusdProcess, hosts: readonly string[], formerId: string, t0: number, timeoutMs: number, intervalMs = 10): Promise<number> {
  await waitFor(`new masters for ${hosts.join(',')}`, async () => {
    const view = await c.cluster(via);
    return hosts.every((h) => {
      const m = view.masters[h]?.member;
      return m !== undefined && m !== formerId;
    });
  }, timeoutMs, intervalMs);
  return performance.now() - t0;
}

/**
 * Ms from `t0` until the switch itself reports, in its Controller table,
 * exactly one connected controller with role master, and not `formerTarget`.
 */
export async function timeUntilSwitchHasNewMaster(c: ClusterFixture, host: OvsHost, formerTarget: string, t0: number, timeoutMs: number, intervalMs = 10): Promise<number> {
  await waitFor(`${host.name} switch to report a new master`, async () => {
    const masters = (await c.controllers(host)).filter((x) => x.connected && x.role === 'master');
    return masters.length === 1 && masters[0]!.target !== formerTarget;
  }, timeoutMs, intervalMs);
  return performance.now() - t0;
}

/**
 * Hosts for which some member logged `flows reconciled` (the full
 * read-and-compare a new master does) since the member was (re)launched:
 * member logs restart empty at each launch. Also sums the adds, modifies and
 * deletes those passes reported.
 */
export function reconciledHosts(members: readonly PlexusdProcess[]): { hosts: Set<string>; changes: number } {
  const hosts = new Set<string>();
  let changes = 0;
  for (const m of members) {
    for (const line of m.logs.split('\n')) {
      if (!line.includes('flows reconciled')) continue;
      try {
        const rec = JSON.parse(line) as { message?: string; host?: string; adds?: number; modifies?: number; deletes?: number };
        if (rec.message !== 'flows reconciled' || !rec.host) continue;
        hosts.add(rec.host);
        changes += (rec.adds ?? 0) + (rec.modifies ?? 0) + (rec.deletes ?? 0);
      } catch {
        const host = /host=(\S+)/.exec(line)?.[1];
        if (host) hosts.add(host);
      }
    }
  }
  return { hosts, changes };
}

/**
 * Every host ready with its switch connected (GET /v1/hosts), mastered by a
 * live member (GET /v1/cluster), and fully reconciled by it (its log).
 */
export async function isReconciled(c: ClusterFixture, alive: readonly PlexusdProcess[]): Promise<boolean> {
  const via = alive[0]!;
  const hosts = (await via.api<{ items: { id: string; status: string; ofConnected: boolean }[] }>('GET', '/v1/hosts')).body.items;
  const names = new Set(c.hosts.map((h) => h.name));
  if (hosts.filter((h) => names.has(h.id) && h.status === 'ready' && h.ofConnected).length !== names.size) return false;
  const view = await c.cluster(via);
  const liveIds = new Set(alive.map((m) => m.options.memberId));
  if (![...names].every((h) => liveIds.has(view.masters[h]?.member))) return false;
  const { hosts: done } = reconciledHosts(alive);
  return [...names].every((h) => done.has(h));
}

/** ClusterFixture.waitConverged, and on timeout what the cluster and the switches showed (in the error). */
export async function waitConvergedOrExplain(c: ClusterFixture, timeoutMs: number, alive: readonly PlexusdProcess[] = c.members.filter((m) => m.pid !== undefined)): Promise<void> {
  try {
    await c.waitConverged(timeoutMs, [...alive]);
  } catch (err) {
    const via = alive[0]!;
    const state = await Promise.all([
      via.api('GET', '/v1/hosts').then((r) => r.body).catch((e: Error) => e.message),
      c.cluster(via).catch((e: Error) => e.message),
      Promise.all(c.hosts.map(async (h) => ({ host: h.name, controllers: await c.controllers(h).catch((e: Error) => e.message) }))),
    ]);
    throw new Error(`${(err as Error).message}; alive ${alive.map((m) => m.options.memberId).join(',')}; state ${JSON.stringify(state)}`);
  }
}
