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
  compileNetworkBase,
  compileNetworkPartitions,
  endpointPartition,
  isPresent,
  networkPartition,
  PIPELINE_PARTITION,
} from '../compiler/compile-host';
import { compilePipeline } from '../compiler/pipeline';
import { placedEndpoints, placementOf, type HostContext, type Placed } from '../compiler/snapshot';
import type { Logger } from '../log';
import { HostFlows, type ApplyStats } from '../reconciler/host-flows';
import type { ModelCache, ModelChange } from '../store/model-cache';

export interface HostProgrammerEvents {
  /** A change set reached a host's switch. */
  applied: [hostId: string, stats: ApplyStats];
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
  /** Endpoint partitions set on this host, per network present here. */
  readonly endpointsOf: Map<string, Set<string>>;
}

export class HostProgrammer extends EventEmitter<HostProgrammerEvents> {
  private readonly hosts = new Map<string, ProgrammedHost>();
  /** Programmed hosts where each network is present (the keys of their endpointsOf). */
  private readonly presentOn = new Map<string, Set<string>>();
  private readonly encapIps: ReadonlyMap<string, string>;

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

  attach(hostId: string, conn: OpenFlowConnection): void {
    this.hosts.get(hostId)?.flows.attach(conn);
  }

  detach(hostId: string, conn: OpenFlowConnection): void {
    this.hosts.get(hostId)?.flows.detach(conn);
  }

  /** One batch of model changes (store/model-cache.ts), recompiled where it matters. */
  applyModelChange({ networks, endpoints }: ModelChange): void {
    const byNetwork = new Map<string, string[]>();
    for (const [id, network] of endpoints) {
      if (networks.has(network)) continue; // recompiled whole below
      byNetwork.set(network, [...(byNetwork.get(network) ?? []), id]);
    }
    // Only hosts where the network is or was present; its placement is worked out once.
    for (const n of networks) for (const [hostId, h] of this.hostsFor(n)) this.recompileNetwork(hostId, h, n);
    for (const [n, ids] of byNetwork) {
      const placed = placedEndpoints(this.model, n);
      for (const [hostId, h] of this.hostsFor(n)) this.recompileEndpoints(hostId, h, n, ids, placed);
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
      h = { flows, tunnels: { port: undefined, legacy: new Map() }, retiring: false, endpointsOf: new Map() };
      this.hosts.set(hostId, h);
      this.recompileAll(hostId, h);
    }
    return h;
  }

  private context(hostId: string, h: ProgrammedHost): HostContext {
    return { id: hostId, tunnelPort: h.tunnels.port, encapIps: this.encapIps, legacyTunnelPorts: h.tunnels.legacy };
  }

  private recompileAll(hostId: string, h: ProgrammedHost): void {
    h.flows.setPartition(PIPELINE_PARTITION, compilePipeline());
    for (const network of new Set([...this.model.networksOf(hostId), ...h.endpointsOf.keys()])) this.recompileNetwork(hostId, h, network);
  }

  /** Every partition of one network on one host, dropping those of endpoints that left it. */
  private recompileNetwork(hostId: string, h: ProgrammedHost, network: string): void {
    const partitions = compileNetworkPartitions(this.model, this.context(hostId, h), network);
    const before = h.endpointsOf.get(network) ?? new Set<string>();
    const after = new Set<string>();
    for (const [name, flows] of partitions) {
      h.flows.setPartition(name, flows);
      if (name !== networkPartition(network) && flows.length) after.add(name);
    }
    for (const name of before) if (!after.has(name)) h.flows.setPartition(name, []);
    this.setPresence(hostId, h, network, after);
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
  private recompileEndpoints(hostId: string, h: ProgrammedHost, network: string, endpoints: readonly string[], placed: readonly Placed[]): void {
    const ctx = this.context(hostId, h);
    const wasPresent = h.endpointsOf.has(network);
    if (isPresent(placed, hostId) !== wasPresent) return this.recompileNetwork(hostId, h, network);
    if (!wasPresent) return;
    h.flows.setPartition(networkPartition(network), compileNetworkBase(this.model, ctx, network, placed));
    const names = h.endpointsOf.get(network)!;
    for (const id of endpoints) {
      const name = endpointPartition(id);
      const flows = compileEndpoint(this.model, ctx, placementOf(this.model, this.model.endpoint(id)), true);
      h.flows.setPartition(name, flows);
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
