/**
 * Host programmer: model change → partitions → desired flows → the host's
 * reconciler (reconciler/host-flows.ts). One HostFlows per host this member has
 * seen; it keeps its desired flows across switch reconnects and mastership
 * changes, and programs the switch while it is attached (switch-roles.ts
 * attaches it when this member becomes master).
 *
 * Work per change is proportional to what the change touches: a network or
 * subnet record recompiles that network on every host; an endpoint (its record
 * or binding) recompiles its own partition and its network's small base on the
 * hosts where the network is present — unless the network appears on or leaves
 * a host, which recompiles all of it there. Which hosts a network is present on
 * comes from the model cache's network ⇄ hosts index, so no change walks the
 * fleet. The host's own tunnel port appearing recompiles the host; another
 * host's encap IP changing recompiles, on the hosts sharing a network with it,
 * those networks. What to compile is the compiler's (compiler/compile-host.ts);
 * a new feature adds flows there and arrives here through the same partitions.
 */
import { EventEmitter } from 'node:events';
import type { BackoffPolicy } from '../../protocols/common/backoff';
import type { OpenFlowConnection } from '../../protocols/openflow/connection';
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
import type { Logger } from '../log';
import type { Flow } from '../pipeline/flow';
import { HostFlows, type ApplyStats, type HostFlowsState } from '../reconciler/host-flows';
import type { ModelCache, ModelChange } from '../store/model-cache';
import { DEFER_FROM_HOSTS, FloodRefresh } from './flood-refresh';

export interface HostProgrammerEvents {
  /** A change set reached a host's switch. */
  applied: [hostId: string, stats: ApplyStats];
  /** A host's reconciler changed state (`retrying`: a change set failed). */
  state: [hostId: string, state: HostFlowsState];
  /** Every flow of the host now uses plexus-vxlan: the per-peer ports of an earlier version may go. */
  legacyTunnelsUnused: [hostId: string];
}

export interface HostProgrammerOptions {
  /** Backoff of each host's reconciler after a failed change set. */
  readonly retryBackoff?: BackoffPolicy;
  /** Encap IP of every known host (southbound/host-manager.ts). */
  readonly encapIps?: ReadonlyMap<string, string>;
}

/** A host's VXLAN ports as its view shows them (southbound/attachments.ts readTunnelPorts). */
export interface ObservedTunnels {
  readonly port: number | undefined;
  readonly legacy: ReadonlyMap<string, number>;
}

interface ProgrammedHost {
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
type PlacedOf = (network: string) => readonly Placed[];

export class HostProgrammer extends EventEmitter<HostProgrammerEvents> {
  private readonly hosts = new Map<string, ProgrammedHost>();
  /** Programmed hosts where each network is present (the keys of their endpointsOf). */
  private readonly presentOn = new Map<string, Set<string>>();
  private readonly encapIps: ReadonlyMap<string, string>;
  /** Flooding lists of wide networks on the hosts that did not change, rebuilt once per window (flood-refresh.ts). */
  private readonly floods = new FloodRefresh((network, hosts) => this.refreshFlooding(network, hosts));

  constructor(
    private readonly model: ModelCache,
    private readonly log: Logger,
    private readonly options: HostProgrammerOptions = {},
  ) {
    super();
    this.encapIps = options.encapIps ?? new Map();
  }

  flowsOf(hostId: string): HostFlows | undefined {
    return this.hosts.get(hostId)?.flows;
  }

  /** The context a host's flows are compiled with (its tunnel port, peers' encap IPs): the trace API compiles with it. */
  contextOf(hostId: string): HostContext | undefined {
    const h = this.hosts.get(hostId);
    return h ? this.context(hostId, h) : undefined;
  }

  /** Desired flows per host this member programs. */
  desiredFlowsByHost(): Map<string, number> {
    return new Map([...this.hosts].map(([id, h]) => [id, h.flows.desiredCount]));
  }

  /** Desired flows over every host this member programs. */
  desiredFlowCount(): number {
    let n = 0;
    for (const h of this.hosts.values()) n += h.flows.desiredCount;
    return n;
  }

  /**
   * A host's VXLAN ports (from its view): the first view compiles the host; the
   * port changing recompiles it. Legacy per-peer ports matter only while
   * plexus-vxlan has no OpenFlow port; once the flows using it are installed,
   * `legacyTunnelsUnused` tells the host manager they may go.
   */
  observeTunnels(hostId: string, tunnels: ObservedTunnels): void {
    const h = this.ensure(hostId);
    const before = h.tunnels;
    h.tunnels = tunnels;
    if (tunnels.port !== before.port || (tunnels.port === undefined && !sameMap(tunnels.legacy, before.legacy))) this.recompileAll(hostId, h);
    if (tunnels.port !== undefined && tunnels.legacy.size > 0 && !h.retiring) {
      h.retiring = true;
      void h.flows.flushed().then(() => {
        h.retiring = false;
        if (h.tunnels.port !== undefined && h.tunnels.legacy.size > 0) this.emit('legacyTunnelsUnused', hostId);
      });
    }
  }

  /** A host's encap IP appeared, changed or went: recompile the networks it is in, where they are present. */
  observeEncapIp(peerId: string): void {
    for (const network of [...this.model.networksOf(peerId)]) {
      for (const hostId of this.presentOn.get(network) ?? []) {
        if (hostId !== peerId) this.recompileNetwork(hostId, this.hosts.get(hostId)!, network);
      }
    }
  }

  /** External networks: a host's patch ports per physical network (from its view); a change recompiles it. */
  observeExternalPorts(hostId: string, externalPorts: ReadonlyMap<string, number>): void {
    const h = this.ensure(hostId);
    if (sameMap(externalPorts, h.externalPorts)) return;
    h.externalPorts = externalPorts;
    this.recompileAll(hostId, h);
  }

  attach(hostId: string, conn: OpenFlowConnection): void {
    this.hosts.get(hostId)?.flows.attach(conn);
  }

  detach(hostId: string, conn: OpenFlowConnection): void {
    this.hosts.get(hostId)?.flows.detach(conn);
  }

  /** One batch of model changes (store/model-cache.ts), recompiled where it matters. */
  applyModelChange({ networks, endpoints, routers, portsChanged, spread }: ModelChange): void {
    const byNetwork = new Map<string, string[]>();
    for (const [id, network] of endpoints) {
      if (networks.has(network)) continue; // recompiled whole below
      byNetwork.set(network, [...(byNetwork.get(network) ?? []), id]);
    }
    // Where a network's endpoints are placed does not depend on the host: work it out once.
    const placed = new Map<string, readonly Placed[]>();
    const placedOf: PlacedOf = (n) => {
      let p = placed.get(n);
      if (!p) placed.set(n, (p = placedEndpoints(this.model, n)));
      return p;
    };
    // An endpoint's flows on the hosts it is not attached to are the same on all of them
    // (given the same tunnel port): compiled once per batch, shared (flows and keys) by every such host.
    const remoteFlows = new Map<string, Flow[]>();
    // Whether a network's base (flooding lists) may have changed on a host, and the hosts
    // whose classify partitions may have (those that joined or left it; unknown: all).
    // Only another host joining or leaving changed it: on a wide network, deferred (flood-refresh.ts).
    const baseChanged = (n: string, hostId: string): boolean | 'defer' => {
      if (!portsChanged || !spread || (portsChanged.get(n)?.has(hostId) ?? false)) return true;
      if (!spread.has(n)) return false;
      return this.model.hostCountOf(n) >= DEFER_FROM_HOSTS ? 'defer' : true;
    };
    const tunnelPeers = (n: string): Iterable<string> | undefined => (!portsChanged || !spread ? undefined : spread.has(n) ? (portsChanged.get(n) ?? []) : []);
    // Routing: routers changed, and routers whose static routes may go through an endpoint that changed.
    const touchedRouters = new Set(routers ?? []);
    for (const n of byNetwork.keys()) for (const r of routersOf(this.model, n)) if (r.routes.length || r.externalGateway) touchedRouters.add(r.id);
    // Only hosts where the network is or was present (or routed to); routers on every programmed host.
    for (const n of networks) for (const [hostId, h] of this.hostsFor(n)) this.recompileNetwork(hostId, h, n, placedOf);
    for (const [n, ids] of byNetwork) {
      for (const [hostId, h] of this.hostsFor(n)) this.recompileEndpoints(hostId, h, n, ids, placedOf, baseChanged(n, hostId), tunnelPeers(n), remoteFlows);
    }
    for (const r of touchedRouters) for (const [hostId, h] of this.hosts) this.recompileRouter(hostId, h, r, placedOf);
    // Routing: which hosts a network is on decides which hosts its routed peers accept tunnel traffic from.
    const peers = new Set<string>();
    for (const n of [...networks, ...byNetwork.keys()]) {
      if (!networks.has(n) && spread && !spread.has(n)) continue;
      for (const peer of routedPeers(this.model, n)) if (!networks.has(peer)) peers.add(peer);
    }
    for (const peer of peers) {
      for (const [hostId, h] of this.hostsFor(peer)) {
        if (h.reach.get(peer) === 'present') this.setBase(hostId, h, peer, compileNetworkBase(this.model, this.context(hostId, h), peer));
      }
    }
  }

  /** A network's base partition on a host (its flooding list is current now). */
  private setBase(hostId: string, h: ProgrammedHost, network: string, flows: Flow[]): void {
    this.floods.done(network, hostId);
    h.flows.setPartition(networkPartition(network), flows);
  }

  /** Deferred flooding lists (flood-refresh.ts): the base of `network` on those hosts where it is still present. */
  private refreshFlooding(network: string, hostIds: ReadonlySet<string>): void {
    for (const hostId of hostIds) {
      const h = this.hosts.get(hostId);
      if (h?.reach.get(network) === 'present') h.flows.setPartition(networkPartition(network), compileNetworkBase(this.model, this.context(hostId, h), network));
    }
  }

  /** Programmed hosts where the network is present now (model) or was (here). */
  private hostsFor(network: string): [string, ProgrammedHost][] {
    const ids = new Set(this.presentOn.get(network));
    for (const id of this.model.hostsOf(network)) ids.add(id);
    const out: [string, ProgrammedHost][] = [];
    for (const id of ids) {
      const h = this.hosts.get(id);
      if (h) out.push([id, h]);
    }
    return out;
  }

  private ensure(hostId: string): ProgrammedHost {
    let h = this.hosts.get(hostId);
    if (!h) {
      const flows = new HostFlows(hostId, this.log.child({ host: hostId }), this.options.retryBackoff ? { retryBackoff: this.options.retryBackoff } : {});
      flows.on('applied', (s) => this.emit('applied', hostId, s));
      flows.on('state', (s) => this.emit('state', hostId, s));
      h = { flows, tunnels: { port: undefined, legacy: new Map() }, retiring: false, externalPorts: new Map(), endpointsOf: new Map(), reach: new Map(), routers: new Set() };
      this.hosts.set(hostId, h);
      this.recompileAll(hostId, h);
    }
    return h;
  }

  private context(hostId: string, h: ProgrammedHost): HostContext {
    return { id: hostId, tunnelPort: h.tunnels.port, encapIps: this.encapIps, legacyTunnelPorts: h.tunnels.legacy, externalPorts: h.externalPorts };
  }

  private recompileAll(hostId: string, h: ProgrammedHost): void {
    h.flows.setPartition(PIPELINE_PARTITION, compilePipeline());
    const placed = new Map<string, readonly Placed[]>();
    const placedOf: PlacedOf = (n) => placed.get(n) ?? (placed.set(n, placedEndpoints(this.model, n)).get(n) as readonly Placed[]);
    // Networks with endpoints here (routed peers follow from their presence) and routers already set here.
    for (const network of new Set([...this.model.networksOf(hostId), ...h.endpointsOf.keys()])) this.recompileNetwork(hostId, h, network, placedOf);
    for (const r of h.routers) this.recompileRouter(hostId, h, r, placedOf);
  }

  /** Routing: one router's partition on one host. */
  private recompileRouter(hostId: string, h: ProgrammedHost, routerId: string, placedOf: PlacedOf): void {
    const flows = compileRouterPartition(this.model, hostId, routerId, placedOf);
    h.flows.setPartition(routerPartition(routerId), flows);
    const router = this.model.routers.get(routerId);
    h.flows.setPartition(externalPartition(routerId), flows.length && router ? compileRouterExternal(this.model, this.context(hostId, h), router) : []);
    if (flows.length) h.routers.add(routerId);
    else h.routers.delete(routerId);
  }

  /**
   * Every partition of one network on one host, dropping those of endpoints
   * that left it. When the network appears on or leaves the host, the routers
   * it is on and the networks they route to change there too.
   */
  private recompileNetwork(hostId: string, h: ProgrammedHost, network: string, placedOf: PlacedOf = (n) => placedEndpoints(this.model, n)): void {
    const reach = reachOf(this.model, hostId, network, placedOf);
    const wasPresent = h.reach.get(network) === 'present';
    if (reach === 'absent') h.reach.delete(network);
    else h.reach.set(network, reach);
    const ctx = this.context(hostId, h);
    const partitions = compileNetworkPartitions(this.model, ctx, network, reach);
    const before = h.endpointsOf.get(network) ?? new Set<string>();
    const after = new Set<string>();
    this.floods.done(network, hostId);
    for (const [name, flows] of partitions) {
      h.flows.setPartition(name, flows, this.metersOfPartition(ctx, name));
      if (name !== networkPartition(network) && flows.length) after.add(name);
    }
    for (const name of before) if (!after.has(name)) h.flows.setPartition(name, []);
    this.setPresence(hostId, h, network, after);
    if ((reach === 'present') !== wasPresent) {
      for (const r of routersOf(this.model, network)) this.recompileRouter(hostId, h, r.id, placedOf);
      for (const peer of routedPeers(this.model, network)) this.recompileNetwork(hostId, h, peer, placedOf);
    }
  }

  /** The meters of a partition: an endpoint's QoS where it is attached (compiler/qos.ts), none for the others. */
  private metersOfPartition(ctx: HostContext, name: string) {
    if (!name.startsWith(endpointPartition(''))) return [];
    const endpoint = this.model.endpoint(name.slice(endpointPartition('').length));
    return endpoint ? compileEndpointMeters(this.model, ctx, placementOf(this.model, endpoint)) : [];
  }

  /** The one place a network's presence on a programmed host is recorded. */
  private setPresence(hostId: string, h: ProgrammedHost, network: string, partitions: Set<string>): void {
    const hosts = this.presentOn.get(network) ?? new Set<string>();
    if (partitions.size) {
      h.endpointsOf.set(network, partitions);
      hosts.add(hostId);
    } else {
      h.endpointsOf.delete(network);
      hosts.delete(hostId);
    }
    if (hosts.size) this.presentOn.set(network, hosts);
    else this.presentOn.delete(network);
  }

  /**
   * Endpoints changed in one network: recompile the network's small base
   * partition and those endpoints' partitions — unless the network appeared on
   * or left this host, which changes every flow of it there.
   */
  private recompileEndpoints(
    hostId: string, h: ProgrammedHost, network: string, endpoints: readonly string[], placedOf: PlacedOf,
    baseChanged: boolean | 'defer' = true, tunnelPeers?: Iterable<string>, remoteFlows?: Map<string, Flow[]>,
  ): void {
    const ctx = this.context(hostId, h);
    const reach = reachOf(this.model, hostId, network, placedOf);
    if (reach !== (h.reach.get(network) ?? 'absent') || (reach === 'present' && tunnelPeers === undefined)) return this.recompileNetwork(hostId, h, network, placedOf);
    if (reach === 'absent') return;
    const names = h.endpointsOf.get(network) ?? new Set<string>();
    h.endpointsOf.set(network, names);
    if (reach === 'present' && baseChanged === 'defer') this.floods.defer(network, hostId);
    else if (reach === 'present' && baseChanged) this.setBase(hostId, h, network, compileNetworkBase(this.model, ctx, network));
    // Hosts that joined or left the network: their classify flow, the same on every host.
    for (const peer of reach === 'present' ? (tunnelPeers ?? []) : []) {
      if (peer === hostId) continue;
      const name = tunnelPartition(network, peer);
      const memo = `${name}|${ctx.encapIps.get(peer) ?? ''}`;
      const flows = remoteFlows?.get(memo) ?? (this.model.isOn(network, peer) ? compileTunnelPartition(this.model, ctx, network, peer) : []);
      remoteFlows?.set(memo, flows);
      h.flows.setPartition(name, flows);
      if (flows.length) names.add(name);
      else names.delete(name);
    }
    const shareable = remoteFlows !== undefined && (h.tunnels.legacy.size === 0 || h.tunnels.port !== undefined);
    for (const id of endpoints) {
      const name = endpointPartition(id);
      const placed = placementOf(this.model, this.model.endpoint(id));
      let flows: Flow[];
      if (shareable && placed && placed.host !== hostId) {
        const memo = `${id}|${reach}|${ctx.tunnelPort ?? ''}`;
        flows = remoteFlows.get(memo) ?? compileEndpoint(this.model, ctx, placed, reach);
        remoteFlows.set(memo, flows);
      } else flows = compileEndpoint(this.model, ctx, placed, reach);
      h.flows.setPartition(name, flows, reach === 'present' ? compileEndpointMeters(this.model, ctx, placed) : []);
      if (flows.length) names.add(name);
      else names.delete(name);
    }
  }
}

function sameMap<K, V>(a: ReadonlyMap<K, V>, b: ReadonlyMap<K, V>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}
