/**
 * `scale` (SPEC §12): what one change, one host and one endpoint cost as the
 * fleet grows, measured on this machine and extrapolated to the target
 * (10,000 hosts, 1,000,000 endpoints, 100,000 networks).
 *
 * (a) Compiler, pure and in process: a synthetic model (bench/scale-model.ts)
 *     at 10 → 100 → 1,000 hosts with the same endpoints per host and the same
 *     networks per host; per step, `compileHost` of one host (the full
 *     recompute a new master does), the `networksOnHost` scan inside it,
 *     `compileNetwork` of one network on that host, and the incremental path
 *     of one endpoint change there (placed list, network base partition, the
 *     endpoint's partition: what the overlay recompiles); a change costs that
 *     on each host where the network is present (`change_fanout_hosts`).
 * (b) Memory, in a child `node --expose-gc` (bench/scale-memory.ts): heap after
 *     GC of the model (the cache's structures) per endpoint, and of the desired
 *     flow sets (HostFlows) of the hosts one member masters.
 * (c) etcd: a real single-member etcd; networks, subnets and endpoints created
 *     through ModelStore (bounded concurrency), a binding written per endpoint
 *     as a master does (bound, then installed); bytes per endpoint as etcd's db
 *     size grows (raw, then after compaction + defragmentation) and as the sum
 *     of key + value sizes under the prefix.
 *
 * Projections assume the measured per-host shape; costs that grow with the
 * fleet are fitted linearly in the fleet's endpoint count.
 */
import { Etcd3 } from 'etcd3';
import { performance } from 'node:perf_hooks';
import { compileEndpoint, compileHost, compileNetwork, compileNetworkBase } from '../src/compiler/compile-host';
import { networksOnHost, placedEndpoints, type HostContext } from '../src/compiler/snapshot';
import { EtcdCluster } from '../src/sandbox/etcd-cluster';
import { prefixEnd } from '../src/store/collection';
import { Keys } from '../src/store/keys';
import type { Binding } from '../src/store/model';
import { ModelStore } from '../src/store/model-store';
import { encodeBinding } from '../src/store/stored-form';
import { num, round, type BenchContext, type BenchDefinition, type Figures } from './framework';
import { measureMemory } from './scale-memory';
import { buildModel, hostContext, type Shape } from './scale-model';

const TARGET = { hosts: 10_000, endpoints: 1_000_000, networks: 100_000 } as const;
const GIB = 2 ** 30;

/** Median ms of `fn` over `reps` calls, after warming the JIT (20 calls or 200 ms, whichever comes first). */
function timeMs(fn: () => unknown, reps: number): number {
  const warmUntil = performance.now() + 200;
  for (let i = 0; i < 20 && performance.now() < warmUntil; i++) fn();
  const xs: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    fn();
    xs.push(performance.now() - t);
  }
  xs.sort((a, b) => a - b);
  return xs[Math.floor((xs.length - 1) / 2)]!;
}

interface CompileStep {
  readonly hosts: number;
  readonly endpoints: number;
  readonly networks: number;
  readonly fullMs: number;
  readonly scanMs: number;
  readonly networkMs: number;
  /** The incremental path of one endpoint change (what the overlay does): placed list, network base, that endpoint. */
  readonly endpointMs: number;
  readonly flowsPerHost: number;
  readonly networksPerHost: number;
  readonly fanout: number;
}

function measureCompile(shape: Shape, ctx: BenchContext): CompileStep {
  const model = buildModel(shape);
  const snap = model.snapshot;
  // A few hosts spread over the fleet, so one lucky host does not decide the figure.
  const sample = [...new Set([0, Math.floor(shape.hosts / 3), Math.floor((2 * shape.hosts) / 3), shape.hosts - 1])];
  const contexts: HostContext[] = sample.map((i) => hostContext(shape.hosts, i));
  const reps = shape.endpoints > 50_000 ? 5 : 15;
  const full: number[] = [];
  const scan: number[] = [];
  const inc: number[] = [];
  const ept: number[] = [];
  let flows = 0;
  let nets = 0;
  let fanout = 0;
  for (const [k, hc] of contexts.entries()) {
    const i = sample[k]!;
    full.push(timeMs(() => compileHost(snap, hc), reps));
    scan.push(timeMs(() => networksOnHost(snap, hc.id), reps));
    const compiled = compileHost(snap, hc);
    flows += [...compiled.values()].reduce((n, f) => n + f.length, 0);
    nets += model.networksOfHost[i]!.length;
    // One endpoint of a network on this host moves to another port: its binding changes, that network recompiles.
    const net = model.networksOfHost[i]![0]!;
    const ep = model.placement.get(net)!.find((p) => p.host === hc.id)!.endpoint;
    const bindings = snap.bindings as Map<string, Binding>;
    const before = bindings.get(ep)!;
    let flip = 0;
    inc.push(
      timeMs(() => {
        bindings.set(ep, { ...before, ofport: before.ofport! + (flip++ % 2) * 5000 });
        return compileNetwork(snap, hc, net);
      }, Math.max(reps, 50)),
    );
    ept.push(
      timeMs(() => {
        bindings.set(ep, { ...before, ofport: before.ofport! + (flip++ % 2) * 5000 });
        const placed = placedEndpoints(snap, net);
        const base = compileNetworkBase(snap, hc, net, placed);
        return [base, compileEndpoint(snap, hc, placed.find((p) => p.endpoint.id === ep), true)];
      }, Math.max(reps, 50)),
    );
    bindings.set(ep, before);
    fanout += new Set(model.placement.get(net)!.map((p) => p.host)).size;
  }
  const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
  const step: CompileStep = {
    hosts: shape.hosts,
    endpoints: shape.endpoints,
    networks: snap.networks.size,
    fullMs: med(full),
    scanMs: med(scan),
    networkMs: med(inc),
    endpointMs: med(ept),
    flowsPerHost: Math.round(flows / contexts.length),
    networksPerHost: round(nets / contexts.length, 1),
    fanout: round(fanout / contexts.length, 1),
  };
  ctx.progress(
    `compile at ${step.hosts} hosts / ${step.endpoints} endpoints / ${step.networks} networks: full ${step.fullMs.toFixed(3)} ms ` +
      `(networksOnHost scan ${step.scanMs.toFixed(3)} ms), one network ${step.networkMs.toFixed(3)} ms, one endpoint change ${step.endpointMs.toFixed(3)} ms; ` +
      `${step.flowsPerHost} flows and ${step.networksPerHost} networks per host, change fan-out ${step.fanout} hosts`,
  );
  return step;
}

/** a + b·x through the last two points. */
function linearFit(points: readonly (readonly [number, number])[]): { a: number; b: number } {
  const [x1, y1] = points[points.length - 2] ?? points[0]!;
  const [x2, y2] = points[points.length - 1]!;
  const b = x2 === x1 ? 0 : (y2 - y1) / (x2 - x1);
  return { a: y2 - b * x2, b };
}

/** "O(network)" when the cost barely moves over the measured range, "O(fleet)" when it follows the fleet. */
function scalingOf(first: number, last: number, fleetGrowth: number): string {
  const g = last / first;
  if (g < 2) return 'O(network)';
  return g > fleetGrowth / 4 ? 'O(fleet)' : 'sub-linear';
}

interface EtcdFigures {
  readonly endpoints: number;
  /** Whether each endpoint was created with a name (and so has an endpoint-names/ key). */
  readonly named: boolean;
  readonly createPerS: number;
  readonly dbBytesPerEndpoint: number;
  readonly dbInUseBytesPerEndpoint: number;
  readonly compactedBytesPerEndpoint: number;
  readonly kvBytesPerEndpoint: number;
  readonly keysPerEndpoint: number;
  /** Key + value bytes per endpoint by record kind (the first path segment after the prefix). */
  readonly kvBytesByKind: Record<string, number>;
}

async function dbSizes(client: Etcd3): Promise<{ size: number; inUse: number }> {
  const s = (await client.maintenance.status()) as { dbSize: string; dbSizeInUse?: string };
  return { size: Number(s.dbSize), inUse: Number(s.dbSizeInUse ?? s.dbSize) };
}

/** Runs `fn` over `items` with at most `limit` in flight. */
async function eachBounded<T>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}

async function measureEtcd(endpoints: number, perNetwork: number, concurrency: number, named: boolean, ctx: BenchContext): Promise<EtcdFigures> {
  const etcd = await EtcdCluster.start(1);
  const client = new Etcd3({ hosts: etcd.endpoints.split(',') });
  try {
    const keys = new Keys('/plexus/');
    const store = new ModelStore(client, keys);
    const before = await dbSizes(client);
    const networks = Math.max(1, Math.ceil(endpoints / perNetwork));
    const netIds: string[] = [];
    for (let n = 0; n < networks; n++) {
      const net = await store.createNetwork({ name: `net-${n}` });
      await store.createSubnet({ network: net.value.id, cidr: `10.${(n >> 8) & 255}.${n & 255}.0/24` });
      netIds.push(net.value.id);
    }
    const t0 = performance.now();
    const created: string[] = new Array<string>(endpoints);
    // Round-robin over networks: concurrent creates rarely contend for the same subnet's addresses.
    await eachBounded(Array.from({ length: endpoints }, (_, i) => i), concurrency, async (i) => {
      const ep = await store.createEndpoint({ network: netIds[i % networks]!, ...(named ? { name: `ep-${i}` } : {}), kind: 'container' });
      created[i] = ep.value.id;
    });
    const createS = (performance.now() - t0) / 1000;
    // What the master of the endpoint's host writes on attach: bound, then installed (two revisions).
    await eachBounded(created, concurrency, async (id, i) => {
      const host = `host-${i % 1000}`;
      const at = new Date().toISOString();
      const bound: Binding = { endpoint: id, host, ofport: 1 + (i % 100), ifaceName: `veth${i.toString(16)}`, status: 'bound', history: [{ status: 'bound', at, host }], updatedAt: at };
      await client.put(keys.binding(id)).value(encodeBinding(bound));
      const installed: Binding = { ...bound, status: 'installed', history: [...bound.history, { status: 'installed', at, host }] };
      await client.put(keys.binding(id)).value(encodeBinding(installed));
    });
    const after = await dbSizes(client);
    // Sum of key + value sizes under the prefix (paged: one range reply is bounded by the gRPC message size).
    let kvBytes = 0;
    let kvCount = 0;
    const byKind = new Map<string, number>();
    let from = Buffer.from(keys.prefix);
    const end = Buffer.from(prefixEnd(keys.prefix));
    let revision = '0';
    for (;;) {
      const res = await client.kv.range({ key: from, range_end: end, limit: 5000 });
      revision = res.header.revision;
      for (const kv of res.kvs) {
        const size = kv.key.length + kv.value.length;
        kvBytes += size;
        kvCount++;
        const kind = kv.key.toString().slice(keys.prefix.length).split('/')[0]!;
        byKind.set(kind, (byKind.get(kind) ?? 0) + size);
      }
      if (!res.more || res.kvs.length === 0) break;
      from = Buffer.concat([res.kvs[res.kvs.length - 1]!.key, Buffer.from([0])]);
    }
    await client.kv.compact({ revision, physical: true });
    await client.maintenance.defragment();
    const compacted = await dbSizes(client);
    const figures: EtcdFigures = {
      endpoints,
      named,
      createPerS: Math.round(endpoints / createS),
      dbBytesPerEndpoint: Math.round((after.size - before.size) / endpoints),
      dbInUseBytesPerEndpoint: Math.round((after.inUse - before.inUse) / endpoints),
      compactedBytesPerEndpoint: Math.round((compacted.size - before.size) / endpoints),
      kvBytesPerEndpoint: Math.round(kvBytes / endpoints),
      keysPerEndpoint: round(kvCount / endpoints, 2),
      kvBytesByKind: Object.fromEntries([...byKind].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, Math.round(v / endpoints)])),
    };
    ctx.progress(
      `etcd: ${endpoints} endpoints in ${networks} networks created at ${figures.createPerS}/s; db ${before.size} → ${after.size} bytes ` +
        `(in use ${before.inUse} → ${after.inUse}), ${compacted.size} after compact+defrag; ${kvCount} keys, ${kvBytes} bytes of key+value`,
    );
    return figures;
  } finally {
    client.close();
    await etcd.stop();
  }
}

export const scaleBench: BenchDefinition = {
  name: 'scale',
  summary: 'compile cost, memory and etcd bytes as the fleet grows 10 → 100 → 1,000 hosts, extrapolated to 10k hosts / 1M endpoints',
  options: [
    { name: 'hosts', kind: 'number', default: 1000, help: 'largest fleet compiled and measured (steps 10, 100, 1,000 up to it)' },
    { name: 'endpoints', kind: 'number', default: 20_000, help: 'endpoints at the largest fleet (the same per host at every step)' },
    { name: 'networks', kind: 'number', default: 0, help: 'networks at the largest fleet (0: endpoints / 30)' },
    { name: 'hosts-per-network', kind: 'number', default: 10, help: 'hosts each network is present on' },
    { name: 'members', kind: 'number', default: 3, help: 'members sharing the hosts (memory of desired flows is for one member)' },
    { name: 'etcd-endpoints', kind: 'number', default: 3000, help: 'endpoints written to a real etcd (0: skip)' },
    { name: 'etcd-concurrency', kind: 'number', default: 32, help: 'endpoint creations in flight' },
    { name: 'etcd-unnamed', kind: 'boolean', default: false, help: 'endpoints written to etcd without a name (no endpoint-names/ key each)' },
    { name: 'target-members', kind: 'number', default: 5, help: 'members at the SPEC §12 target, for per-member projections' },
  ],
  async run(ctx) {
    const hosts = num(ctx.options, 'hosts');
    const endpoints = num(ctx.options, 'endpoints');
    const networks = num(ctx.options, 'networks') || Math.max(1, Math.round(endpoints / 30));
    const hostsPerNetwork = num(ctx.options, 'hosts-per-network');
    const members = Math.max(1, num(ctx.options, 'members'));
    const etcdEndpoints = num(ctx.options, 'etcd-endpoints');
    const targetMembers = Math.max(1, num(ctx.options, 'target-members'));
    if (hosts < 1 || endpoints < hosts) throw new Error('need --hosts >= 1 and --endpoints >= --hosts');

    // (a) compile cost at each step, same endpoints and networks per host.
    const steps = [...new Set([10, 100, 1000, 10_000].filter((h) => h < hosts).concat(hosts))];
    const compile: CompileStep[] = [];
    for (const h of steps) {
      const f = h / hosts;
      compile.push(measureCompile({ hosts: h, endpoints: Math.round(endpoints * f), networks: Math.max(1, Math.round(networks * f)), hostsPerNetwork }, ctx));
    }
    const first = compile[0]!;
    const last = compile[compile.length - 1]!;
    const fleetGrowth = last.endpoints / first.endpoints;
    // compileHost = the networksOnHost scan over every network (grows with the fleet's endpoints) + compiling
    // the host's own networks (grows with endpoints per host). Each part is projected on its own.
    const perHostScale = TARGET.endpoints / TARGET.hosts / (endpoints / hosts);
    const scanMsPerFleetEndpoint = last.scanMs / last.endpoints;
    const projectedFullMs = Math.max(0, last.fullMs - last.scanMs) * perHostScale + scanMsPerFleetEndpoint * TARGET.endpoints;
    const scanScaling = scalingOf(first.scanMs, last.scanMs, fleetGrowth);
    const netScaling = scalingOf(first.networkMs, last.networkMs, fleetGrowth);
    const projectedNetworkMs = netScaling === 'O(network)' ? last.networkMs : Math.max(0, linearFit(compile.map((s) => [s.endpoints, s.networkMs] as const)).b) * TARGET.endpoints;

    // (b) memory at the largest fleet, in a child node with --expose-gc.
    ctx.progress(`memory: model of ${endpoints} endpoints and desired flows of ${Math.ceil(hosts / members)} hosts (one of ${members} members), in node --expose-gc`);
    const mem = await measureMemory({ hosts, endpoints, networks, hostsPerNetwork }, members);
    const modelPerEp = mem.modelHeapBytes / endpoints;
    const flowsPerMasteredHost = mem.flowsHeapBytes / mem.masteredHosts;
    const bytesPerFlow = mem.flowsHeapBytes / Math.max(1, mem.desiredFlows);
    ctx.progress(
      `memory: model ${Math.round(modelPerEp)} B/endpoint heap (${Math.round(mem.modelRssBytes / endpoints)} B RSS); desired flows ${Math.round(bytesPerFlow)} B/flow, ` +
        `${Math.round(flowsPerMasteredHost / 1024)} KiB per mastered host; tunnel maps ${Math.round(mem.contextHeapBytes / mem.masteredHosts)} B per mastered host`,
    );

    // (c) etcd bytes per endpoint.
    let etcd: EtcdFigures | undefined;
    if (etcdEndpoints > 0) {
      ctx.useVersion('etcd');
      etcd = await measureEtcd(etcdEndpoints, Math.max(1, Math.round(endpoints / networks)), Math.max(1, num(ctx.options, 'etcd-concurrency')), !ctx.options['etcd-unnamed'], ctx);
    }

    // Extrapolation to SPEC §12: per-host shape as measured, flows per host scaled by endpoints per host,
    // and a member's flow state counted twice (desired, and installed as read back from the switch).
    const hostsPerMember = TARGET.hosts / targetMembers;
    const stepFigures: Figures = {};
    for (const s of compile) {
      stepFigures[`compile_full_ms_${s.hosts}h`] = round(s.fullMs, 3);
      stepFigures[`compile_scan_ms_${s.hosts}h`] = round(s.scanMs, 3);
      stepFigures[`compile_network_ms_${s.hosts}h`] = round(s.networkMs, 4);
      stepFigures[`compile_endpoint_ms_${s.hosts}h`] = round(s.endpointMs, 4);
    }
    ctx.details.compileSteps = compile;
    ctx.details.memory = mem;
    if (etcd) ctx.details.etcd = etcd;
    const figures: Figures = {
      compile_full_ms: round(last.fullMs, 3),
      compile_network_ms: round(last.networkMs, 4),
      compile_endpoint_ms: round(last.endpointMs, 4),
      compile_endpoint_scaling: scalingOf(first.endpointMs, last.endpointMs, fleetGrowth),
      // compileHost contains the scan: if the scan follows the fleet, so does a full recompute.
      compile_full_scaling: scanScaling === 'O(fleet)' ? 'O(fleet)' : scalingOf(first.fullMs, last.fullMs, fleetGrowth),
      compile_scan_scaling: scanScaling,
      compile_network_scaling: netScaling,
      model_bytes_per_endpoint: Math.round(modelPerEp),
      desired_bytes_per_flow: Math.round(bytesPerFlow),
      ...(etcd ? { etcd_db_bytes_per_endpoint: etcd.compactedBytesPerEndpoint, etcd_kv_bytes_per_endpoint: etcd.kvBytesPerEndpoint } : {}),
      projected_compile_full_ms: round(projectedFullMs, 1),
      // A dead member's hosts are shared by the survivors, each recompiling its share on one core.
      projected_failover_recompile_s: round((hostsPerMember / Math.max(1, targetMembers - 1)) * (projectedFullMs / 1000), 1),
      // Today every host has a tunnel port toward every other host: its master's map grows with the fleet.
      projected_tunnel_maps_gib_per_member: round((hostsPerMember * (mem.contextHeapBytes / mem.masteredHosts / Math.max(1, hosts - 1)) * TARGET.hosts) / GIB, 2),
      projected_model_gib_per_member: round((modelPerEp * TARGET.endpoints) / GIB, 2),
      projected_flows_gib_per_member: round((2 * hostsPerMember * flowsPerMasteredHost * perHostScale) / GIB, 2),
      ...(etcd ? { projected_etcd_gb: round((etcd.compactedBytesPerEndpoint * TARGET.endpoints) / 1e9, 2), projected_etcd_kv_gb: round((etcd.kvBytesPerEndpoint * TARGET.endpoints) / 1e9, 2) } : {}),
      hosts,
      endpoints,
      networks: last.networks,
      ...stepFigures,
      compile_full_growth: round(last.fullMs / first.fullMs, 1),
      compile_network_growth: round(last.networkMs / first.networkMs, 2),
      fleet_growth: round(fleetGrowth, 1),
      flows_per_host: last.flowsPerHost,
      networks_per_host: last.networksPerHost,
      change_fanout_hosts: last.fanout,
      model_rss_bytes_per_endpoint: Math.round(mem.modelRssBytes / endpoints),
      desired_kib_per_mastered_host: round(flowsPerMasteredHost / 1024, 1),
      desired_rss_kib_per_mastered_host: round(mem.flowsRssBytes / mem.masteredHosts / 1024, 1),
      tunnel_map_bytes_per_mastered_host: Math.round(mem.contextHeapBytes / mem.masteredHosts),
      mastered_hosts: mem.masteredHosts,
      ...(etcd
        ? {
            etcd_endpoints: etcd.endpoints,
            etcd_named: etcd.named ? 'yes' : 'no',
            etcd_create_per_s: etcd.createPerS,
            etcd_db_raw_bytes_per_endpoint: etcd.dbBytesPerEndpoint,
            etcd_db_in_use_bytes_per_endpoint: etcd.dbInUseBytesPerEndpoint,
            etcd_keys_per_endpoint: etcd.keysPerEndpoint,
            ...Object.fromEntries(Object.entries(etcd.kvBytesByKind).map(([k, v]) => [`etcd_kv_bytes_${k.replace(/-/g, '_')}`, v])),
          }
        : {}),
      projected_compile_network_ms: round(projectedNetworkMs, 4),
      target_members: targetMembers,
    };
    return figures;
  },
};
