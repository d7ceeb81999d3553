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
 * a host, which recompiles all of it there. New tunnel ports (a peer joined)
 * recompile the host. What to compile is the compiler's (compiler/compile-host.ts);
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
import { HostFlows, type ApplyStats, type HostFlowsState } from '../reconciler/host-flows';
import type { ModelCache, ModelChange } from '../store/model-cache';

export interface HostProgrammerEvents {
  /** A change set reached a host's switch. */
  applied: [hostId: string, stats: ApplyStats];
  /** A host's reconciler changed state (`retrying`: a change set failed). */
  state: [hostId: string, state: HostFlowsState];
}

export interface HostProgrammerOptions {
  /** Backoff of each host's reconciler after a failed change set. */
  readonly retryBackoff?: BackoffPolicy;
}

interface ProgrammedHost {
  readonly flows: HostFlows;
  tunnelPorts: ReadonlyMap<string, number>;
  /** Endpoint partitions set on this host, per network present here. */
  readonly endpointsOf: Map<string, Set<string>>;
}

export class HostProgrammer extends EventEmitter<HostProgrammerEvents> {
  private readonly hosts = new Map<string, ProgrammedHost>();

  constructor(
    private readonly model: ModelCache,
    private readonly log: Logger,
    private readonly options: HostProgrammerOptions = {},
  ) {
    super();
  }

  flowsOf(hostId: string): HostFlows | undefined {
    return this.hosts.get(hostId)?.flows;
  }

  /** A host's tunnel ports toward its peers, as its OVSDB view shows them (the trace API compiles with them). */
  tunnelPortsOf(hostId: string): ReadonlyMap<string, number> | undefined {
    return this.hosts.get(hostId)?.tunnelPorts;
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

  /** A host's tunnel ports (from its view): the first view compiles the host, a change recompiles it. */
  observeTunnels(hostId: string, tunnelPorts: ReadonlyMap<string, number>): void {
    const h = this.ensure(hostId);
    if (sameMap(tunnelPorts, h.tunnelPorts)) return;
    h.tunnelPorts = tunnelPorts;
    this.recompileAll(hostId, h);
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
    // Where a network's endpoints are placed does not depend on the host: work it out once.
    const placed = new Map([...byNetwork.keys()].map((n) => [n, placedEndpoints(this.model, n)]));
    for (const [hostId, h] of this.hosts) {
      for (const n of networks) this.recompileNetwork(hostId, h, n);
      for (const [n, ids] of byNetwork) this.recompileEndpoints(hostId, h, n, ids, placed.get(n)!);
    }
  }

  private ensure(hostId: string): ProgrammedHost {
    let h = this.hosts.get(hostId);
    if (!h) {
      const flows = new HostFlows(hostId, this.log.child({ host: hostId }), this.options.retryBackoff ? { retryBackoff: this.options.retryBackoff } : {});
      flows.on('applied', (s) => this.emit('applied', hostId, s));
      flows.on('state', (s) => this.emit('state', hostId, s));
      h = { flows, tunnelPorts: new Map(), endpointsOf: new Map() };
      this.hosts.set(hostId, h);
      this.recompileAll(hostId, h);
    }
    return h;
  }

  private context(hostId: string, h: ProgrammedHost): HostContext {
    return { id: hostId, tunnelPorts: h.tunnelPorts };
  }

  private recompileAll(hostId: string, h: ProgrammedHost): void {
    h.flows.setPartition(PIPELINE_PARTITION, compilePipeline());
    for (const network of new Set([...this.model.networks.keys(), ...h.endpointsOf.keys()])) this.recompileNetwork(hostId, h, network);
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
    if (after.size) h.endpointsOf.set(network, after);
    else h.endpointsOf.delete(network);
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
