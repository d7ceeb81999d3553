/**
 * The partitions of one programmed host (host-programmer.ts), recompiled as a
 * change requires: the whole host, one network, some endpoints of a network,
 * one router. Which hosts a network is present on (for the programmer's
 * lookups) is recorded here, in one place (`setPresence`). The compiler does
 * the compiling (compiler/compile-host.ts); this decides what to set.
 */
import {
  compileEndpoint,
  compileEndpointMeters,
  compileNetworkBase,
  compileNetworkPartitions,
  compileTunnelPartition,
  compileRouterPartition,
  endpointPartition,
  networkPartition,
  PIPELINE_PARTITION,
  reachOf,
  tunnelPartition,
  type Reach,
} from '../compiler/compile-host';
import { routedPeers, routerPartition, routersOf } from '../compiler/l3';
import { compileRouterExternal, externalPartition } from '../compiler/nat';
import { compilePipeline } from '../compiler/pipeline';
import { placedEndpoints, placementOf, type HostContext, type Placed } from '../compiler/snapshot';
import type { Flow } from '../pipeline/flow';
import type { MeterSpec } from '../pipeline/meter';
import type { HostFlows } from '../reconciler/host-flows';
import type { ModelCache } from '../store/model-cache';
import type { FloodRefresh } from './flood-refresh';

/** What every host's recompile shares: the model, the presence index, deferred flooding, peers' encap IPs. */
export interface Programs {
  readonly model: ModelCache;
  /** Programmed hosts where each network is present (the keys of their endpointsOf). */
  readonly presentOn: Map<string, Set<string>>;
  readonly floods: FloodRefresh;
  readonly encapIps: ReadonlyMap<string, string>;
}

/** A host's VXLAN ports as its view shows them (southbound/attachments.ts readTunnelPorts). */
export interface ObservedTunnels {
  readonly port: number | undefined;
  readonly legacy: ReadonlyMap<string, number>;
}

export interface ProgrammedHost {
  readonly flows: HostFlows;
  tunnels: ObservedTunnels;
  /** Whether the wait for the flows to stop using legacy ports has begun. */
  retiring: boolean;
  externalPorts: ReadonlyMap<string, number>;
  /** Endpoint partitions set on this host, per network present (or routed to) here. */
  readonly endpointsOf: Map<string, Set<string>>;
  /** How each network compiled here reaches the host (absent ones are not kept). */
  readonly reach: Map<string, Reach>;
  /** Router partitions set on this host. */
  readonly routers: Set<string>;
}

/** A network's placed endpoints, computed once per batch (placement does not depend on the host). */
export type PlacedOf = (network: string) => readonly Placed[];


/** A network's base partition on a host (its flooding list is current now). */
export function setBase(p: Programs, hostId: string, h: ProgrammedHost, network: string, flows: Flow[]): void {
  p.floods.done(network, hostId);
  h.flows.setPartition(networkPartition(network), flows);
}

export function contextOf(p: Programs, hostId: string, h: ProgrammedHost): HostContext {
  return { id: hostId, tunnelPort: h.tunnels.port, encapIps: p.encapIps, legacyTunnelPorts: h.tunnels.legacy, externalPorts: h.externalPorts };
}

export function recompileAll(p: Programs, hostId: string, h: ProgrammedHost): void {
  h.flows.setPartition(PIPELINE_PARTITION, compilePipeline());
  const placed = new Map<string, readonly Placed[]>();
  const placedOf: PlacedOf = (n) => placed.get(n) ?? (placed.set(n, placedEndpoints(p.model, n)).get(n) as readonly Placed[]);
  // Networks with endpoints here (routed peers follow from their presence) and routers already set here.
  for (const network of new Set([...p.model.networksOf(hostId), ...h.endpointsOf.keys()])) recompileNetwork(p, hostId, h, network, placedOf);
  for (const r of h.routers) recompileRouter(p, hostId, h, r, placedOf);
}

/** Routing: one router's partition on one host. */
export function recompileRouter(p: Programs, hostId: string, h: ProgrammedHost, routerId: string, placedOf: PlacedOf): void {
  const flows = compileRouterPartition(p.model, hostId, routerId, placedOf);
  h.flows.setPartition(routerPartition(routerId), flows);
  const router = p.model.routers.get(routerId);
  h.flows.setPartition(externalPartition(routerId), flows.length && router ? compileRouterExternal(p.model, contextOf(p, hostId, h), router) : []);
  if (flows.length) h.routers.add(routerId);
  else h.routers.delete(routerId);
}

/**
 * Every partition of one network on one host, dropping those of endpoints
 * that left it. When the network appears on or leaves the host, the routers
 * it is on and the networks they route to change there too.
 */
export function recompileNetwork(p: Programs, hostId: string, h: ProgrammedHost, network: string, placedOf: PlacedOf = (n) => placedEndpoints(p.model, n)): void {
  const reach = reachOf(p.model, hostId, network, placedOf);
  const wasPresent = h.reach.get(network) === 'present';
  if (reach === 'absent') h.reach.delete(network);
  else h.reach.set(network, reach);
  const ctx = contextOf(p, hostId, h);
  const partitions = compileNetworkPartitions(p.model, ctx, network, reach);
  const before = h.endpointsOf.get(network) ?? new Set<string>();
  const after = new Set<string>();
  p.floods.done(network, hostId);
  for (const [name, flows] of partitions) {
    h.flows.setPartition(name, flows, metersOfPartition(p, ctx, name));
    if (name !== networkPartition(network) && flows.length) after.add(name);
  }
  for (const name of before) if (!after.has(name)) h.flows.setPartition(name, []);
  setPresence(p, hostId, h, network, after);
  if ((reach === 'present') !== wasPresent) {
    for (const r of routersOf(p.model, network)) recompileRouter(p, hostId, h, r.id, placedOf);
    for (const peer of routedPeers(p.model, network)) recompileNetwork(p, hostId, h, peer, placedOf);
  }
}

/** The meters of a partition: an endpoint's QoS where it is attached (compiler/qos.ts), none for the others. */
export function metersOfPartition(p: Programs, ctx: HostContext, name: string): MeterSpec[] {
  if (!name.startsWith(endpointPartition(''))) return [];
  const endpoint = p.model.endpoint(name.slice(endpointPartition('').length));
  return endpoint ? compileEndpointMeters(p.model, ctx, placementOf(p.model, endpoint)) : [];
}

/** The one place a network's presence on a programmed host is recorded. */
export function setPresence(p: Programs, hostId: string, h: ProgrammedHost, network: string, partitions: Set<string>): void {
  const hosts = p.presentOn.get(network) ?? new Set<string>();
  if (partitions.size) {
    h.endpointsOf.set(network, partitions);
    hosts.add(hostId);
  } else {
    h.endpointsOf.delete(network);
    hosts.delete(hostId);
  }
  if (hosts.size) p.presentOn.set(network, hosts);
  else p.presentOn.delete(network);
}

/**
 * Endpoints changed in one network: recompile the network's small base
 * partition and those endpoints' partitions — unless the network appeared on
 * or left this host, which changes every flow of it there.
 */
export function recompileEndpoints(
  p: Programs,
  hostId: string, h: ProgrammedHost, network: string, endpoints: readonly string[], placedOf: PlacedOf,
  baseChanged: boolean | 'defer' = true, tunnelPeers?: Iterable<string>, remoteFlows?: Map<string, Flow[]>,
): void {
  const ctx = contextOf(p, hostId, h);
  const reach = reachOf(p.model, hostId, network, placedOf);
  if (reach !== (h.reach.get(network) ?? 'absent') || (reach === 'present' && tunnelPeers === undefined)) return recompileNetwork(p, hostId, h, network, placedOf);
  if (reach === 'absent') return;
  const names = h.endpointsOf.get(network) ?? new Set<string>();
  h.endpointsOf.set(network, names);
  if (reach === 'present' && baseChanged === 'defer') p.floods.defer(network, hostId);
  else if (reach === 'present' && baseChanged) setBase(p, hostId, h, network, compileNetworkBase(p.model, ctx, network));
  // Hosts that joined or left the network: their classify flow, the same on every host.
  for (const peer of reach === 'present' ? (tunnelPeers ?? []) : []) {
    if (peer === hostId) continue;
    const name = tunnelPartition(network, peer);
    const memo = `${name}|${ctx.encapIps.get(peer) ?? ''}`;
    const flows = remoteFlows?.get(memo) ?? (p.model.isOn(network, peer) ? compileTunnelPartition(p.model, ctx, network, peer) : []);
    remoteFlows?.set(memo, flows);
    h.flows.setPartition(name, flows);
    if (flows.length) names.add(name);
    else names.delete(name);
  }
  const shareable = remoteFlows !== undefined && (h.tunnels.legacy.size === 0 || h.tunnels.port !== undefined);
  for (const id of endpoints) {
    const name = endpointPartition(id);
    const placed = placementOf(p.model, p.model.endpoint(id));
    let flows: Flow[];
    if (shareable && placed && placed.host !== hostId) {
      const memo = `${id}|${reach}|${ctx.tunnelPort ?? ''}`;
      flows = remoteFlows.get(memo) ?? compileEndpoint(p.model, ctx, placed, reach);
      remoteFlows.set(memo, flows);
    } else flows = compileEndpoint(p.model, ctx, placed, reach);
    h.flows.setPartition(name, flows, reach === 'present' ? compileEndpointMeters(p.model, ctx, placed) : []);
    if (flows.length) names.add(name);
    else names.delete(name);
  }
}
