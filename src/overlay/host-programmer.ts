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
import { compileNetworkBase, networkPartition } from '../compiler/compile-host';
import { routedPeers, routersOf } from '../compiler/l3';
import { placedEndpoints, type HostContext, type Placed } from '../compiler/snapshot';
import type { Logger } from '../log';
import type { Flow } from '../pipeline/flow';
import { HostFlows, type ApplyStats, type HostFlowsState } from '../reconciler/host-flows';
import type { ModelCache, ModelChange } from '../store/model-cache';
import { DEFER_FROM_HOSTS, FloodRefresh } from './flood-refresh';
import {
  contextOf, recompileAll, recompileEndpoints, recompileNetwork, recompileRouter, setBase,
  type ObservedTunnels, type PlacedOf, type ProgrammedHost, type Programs,
} from './host-partitions';
import { sameEntries } from '../../protocols/common/maps';

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

export class HostProgrammer extends EventEmitter<HostProgrammerEvents> {
  private readonly hosts = new Map<string, ProgrammedHost>();
  /** Programmed hosts where each network is present (the keys of their endpointsOf). */
  private readonly presentOn = new Map<string, Set<string>>();
  /** What the recompiles share (host-partitions.ts); its flooding lists of wide networks refresh once per window (flood-refresh.ts). */
  private readonly p: Programs;

  constructor(
    private readonly model: ModelCache,
    private readonly log: Logger,
    private readonly options: HostProgrammerOptions = {},
  ) {
    super();
    const floods = new FloodRefresh((network, hosts) => this.refreshFlooding(network, hosts));
    this.p = { model, presentOn: this.presentOn, floods, encapIps: options.encapIps ?? new Map() };
  }

  flowsOf(hostId: string): HostFlows | undefined {
    return this.hosts.get(hostId)?.flows;
  }

  /** The context a host's flows are compiled with (its tunnel port, peers' encap IPs): the trace API compiles with it. */
  contextOf(hostId: string): HostContext | undefined {
    const h = this.hosts.get(hostId);
    return h ? contextOf(this.p, hostId, h) : undefined;
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
    if (tunnels.port !== before.port || (tunnels.port === undefined && !sameEntries(tunnels.legacy, before.legacy))) recompileAll(this.p, hostId, h);
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
        if (hostId !== peerId) recompileNetwork(this.p, hostId, this.hosts.get(hostId)!, network);
      }
    }
  }

  /** External networks: a host's patch ports per physical network (from its view); a change recompiles it. */
  observeExternalPorts(hostId: string, externalPorts: ReadonlyMap<string, number>): void {
    const h = this.ensure(hostId);
    if (sameEntries(externalPorts, h.externalPorts)) return;
    h.externalPorts = externalPorts;
    recompileAll(this.p, hostId, h);
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
    for (const n of networks) for (const [hostId, h] of this.hostsFor(n)) recompileNetwork(this.p, hostId, h, n, placedOf);
    for (const [n, ids] of byNetwork) {
      for (const [hostId, h] of this.hostsFor(n)) recompileEndpoints(this.p, hostId, h, n, ids, placedOf, baseChanged(n, hostId), tunnelPeers(n), remoteFlows);
    }
    for (const r of touchedRouters) for (const [hostId, h] of this.hosts) recompileRouter(this.p, hostId, h, r, placedOf);
    // Routing: which hosts a network is on decides which hosts its routed peers accept tunnel traffic from.
    const peers = new Set<string>();
    for (const n of [...networks, ...byNetwork.keys()]) {
      if (!networks.has(n) && spread && !spread.has(n)) continue;
      for (const peer of routedPeers(this.model, n)) if (!networks.has(peer)) peers.add(peer);
    }
    for (const peer of peers) {
      for (const [hostId, h] of this.hostsFor(peer)) {
        if (h.reach.get(peer) === 'present') setBase(this.p, hostId, h, peer, compileNetworkBase(this.model, contextOf(this.p, hostId, h), peer));
      }
    }
  }

  /** Deferred flooding lists (flood-refresh.ts): the base of `network` on those hosts where it is still present. */
  private refreshFlooding(network: string, hostIds: ReadonlySet<string>): void {
    for (const hostId of hostIds) {
      const h = this.hosts.get(hostId);
      if (h?.reach.get(network) === 'present') h.flows.setPartition(networkPartition(network), compileNetworkBase(this.model, contextOf(this.p, hostId, h), network));
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
      recompileAll(this.p, hostId, h);
    }
    return h;
  }
}

