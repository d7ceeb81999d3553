/**
 * Every member's in-memory index of the model (SPEC §5, §12): networks,
 * subnets, endpoints and bindings, loaded once and kept current by etcd watches
 * from the revision of the load, so no change is missed between the two. It is
 * the model view (model-view.ts) the compiler reads. Changes are reported in batches (one per event-loop
 * turn) as the set of networks they touched, so the overlay recompiles each
 * touched network once however many events a burst brings.
 */
import type { Etcd3, Watcher } from 'etcd3';
import type { Logger } from '../log';
import { Collection, type CollectionEvent } from './collection';
import type { Keys } from './keys';
import type { Binding, Endpoint, FloatingIp, MacBinding, Network, QosPolicy, Router, SecurityGroup, Subnet } from './model';
import { ChangeBatch } from './change-batch';
import { ModelIndex } from './model-index';
import { bindingCollection, endpointCollection } from './stored-form';

/**
 * One batch of changes: networks to recompile whole, endpoints (→ network) to
 * recompile alone, and endpoints whose binding changed only in status (bound →
 * installed, or the etcd echo of a binding already applied), which need no
 * recompile.
 */
export interface ModelChange {
  readonly networks: ReadonlySet<string>;
  readonly endpoints: ReadonlyMap<string, string>;
  readonly statuses: ReadonlySet<string>;
  /** Routers whose record changed (set only when some did); their networks are in `networks`. */
  readonly routers?: ReadonlySet<string>;
  /**
   * Per network, the hosts whose ports of it changed in this batch (an endpoint
   * placed there, moved away, or on another port): only there does the
   * network's base partition (flooding) change, unless the network's hosts
   * changed too (`spread`). Absent in batches built elsewhere: assume everywhere.
   */
  readonly portsChanged?: ReadonlyMap<string, ReadonlySet<string>>;
  /** Networks whose set of hosts changed (one appeared on or left a host): their base changes on every host. */
  readonly spread?: ReadonlySet<string>;
}

/** One watch event, by the prefix it came from (ids as under that prefix: `<network>/<id>` for subnets and endpoints). */
export type ModelEvent =
  | { readonly resource: 'network'; readonly event: CollectionEvent<Network> }
  | { readonly resource: 'subnet'; readonly event: CollectionEvent<Subnet> }
  | { readonly resource: 'endpoint'; readonly event: CollectionEvent<Endpoint> }
  | { readonly resource: 'binding'; readonly event: CollectionEvent<Binding> }
  | { readonly resource: 'router'; readonly event: CollectionEvent<Router> }
  | { readonly resource: 'security-group'; readonly event: CollectionEvent<SecurityGroup> }
  | { readonly resource: 'qos-policy'; readonly event: CollectionEvent<QosPolicy> }
  | { readonly resource: 'mac-binding'; readonly event: CollectionEvent<MacBinding> };

export interface ModelCacheEvents {
  /** One batch of changes, once per event-loop turn. */
  changed: [ModelChange];
}

/** Whether two bindings place the endpoint the same way for the compiler (host, port, up or down). */
function samePlacement(a: Binding, b: Binding): boolean {
  return a.host === b.host && a.ofport === b.ofport && (a.status === 'down') === (b.status === 'down');
}

export class ModelCache extends ModelIndex {
  private readonly watchers: Watcher[] = [];
  private readonly batch = new ChangeBatch(this.placements, (c) => this.emit('changed', c));

  constructor(
    private readonly client: Etcd3,
    private readonly keys: Keys,
    private readonly log: Logger,
  ) {
    super();
  }

  /** Loads everything, then watches from the load's revision. */
  async start(): Promise<void> {
    const start = await this.client.get(this.keys.probe()).exec();
    const revision = start.header.revision;
    const networks = new Collection<Network>(this.client, this.keys.networks());
    const subnets = new Collection<Subnet>(this.client, this.keys.subnets());
    const endpoints = endpointCollection(this.client, this.keys);
    const bindings = bindingCollection(this.client, this.keys);
    const routers = new Collection<Router>(this.client, this.keys.routers());
    const floatingIps = new Collection<FloatingIp>(this.client, this.keys.floatingIps());
    const macBindings = new Collection<MacBinding>(this.client, this.keys.macBindings());
    const groups = new Collection<SecurityGroup>(this.client, this.keys.securityGroups());
    const qos = new Collection<QosPolicy>(this.client, this.keys.qosPolicies());
    for (const g of await groups.list()) this.onSecurityGroup({ kind: 'put', id: g.value.id, value: g.value, revision: g.revision });
    for (const q of await qos.list()) this.onQosPolicy({ kind: 'put', id: q.value.id, value: q.value, revision: q.revision });
    // Reads at or after `revision`; the watches replay everything after it, and applying twice is harmless.
    for (const n of await networks.list()) this.onNetwork({ kind: 'put', id: n.value.id, value: n.value, revision: n.revision });
    for (const s of await subnets.list()) this.onSubnet({ kind: 'put', id: `${s.value.network}/${s.value.id}`, value: s.value, revision: s.revision });
    for (const e of await endpoints.list()) this.onEndpoint({ kind: 'put', id: `${e.value.network}/${e.value.id}`, value: e.value, revision: e.revision });
    for (const b of await bindings.list()) this.onBinding({ kind: 'put', id: b.value.endpoint, value: b.value, revision: b.revision });
    for (const r of await routers.list()) this.onRouter({ kind: 'put', id: r.value.id, value: r.value, revision: r.revision });
    for (const f of await floatingIps.list()) this.onFloatingIp({ kind: 'put', id: f.value.id, value: f.value, revision: f.revision });
    for (const b of await macBindings.list()) this.onMacBinding({ kind: 'put', id: `${b.value.network}/${b.value.ip}`, value: b.value, revision: b.revision });
    this.watchers.push(
      await networks.watch((e) => this.onNetwork(e), revision),
      await subnets.watch((e) => this.onSubnet(e), revision),
      await endpoints.watch((e) => this.onEndpoint(e), revision),
      await bindings.watch((e) => this.onBinding(e), revision),
      await routers.watch((e) => this.onRouter(e), revision),
      await floatingIps.watch((e) => this.onFloatingIp(e), revision),
      await macBindings.watch((e) => this.onMacBinding(e), revision),
      await groups.watch((e) => this.onSecurityGroup(e), revision),
      await qos.watch((e) => this.onQosPolicy(e), revision),
    );
    for (const w of this.watchers) w.on('error', (err: Error) => this.log.warn('model watch error (etcd3 resumes it)', { error: err.message }));
    this.batch.clear();
    this.log.info('model loaded', { networks: this.networks.size, endpoints: this.endpointById.size, bindings: this.bindings.size, revision });
  }

  async stop(): Promise<void> {
    await Promise.all(this.watchers.map((w) => w.cancel()));
  }

  private touch(network: string | undefined, endpoint?: string): void {
    this.batch.touch(network, endpoint);
  }

  /** Applies one watch event; the batch it joins is reported after the current turn. */
  apply(e: ModelEvent): void {
    switch (e.resource) {
      case 'network':
        return this.onNetwork(e.event);
      case 'subnet':
        return this.onSubnet(e.event);
      case 'endpoint':
        return this.onEndpoint(e.event);
      case 'binding':
        return this.onBinding(e.event);
      case 'router':
        return this.onRouter(e.event);
      case 'security-group':
        return this.onSecurityGroup(e.event);
      case 'qos-policy':
        return this.onQosPolicy(e.event);
      case 'mac-binding':
        return this.onMacBinding(e.event);
    }
  }

  /**
   * A binding this member has just observed as master of the host, applied
   * before etcd confirms it, so the host's own flows do not wait for the write
   * and the watch round trip. The watch later delivers the same binding (or a
   * newer one), which recompiles to the same flows: nothing is sent twice.
   */
  applyLocalBinding(binding: Binding): void {
    this.onBinding({ kind: 'put', id: binding.endpoint, value: binding, revision: '0' });
  }

  /** Keeps the network ⇄ hosts index right for one endpoint. */
  private updatePlacement(endpointId: string): void {
    this.placements.update(endpointId, this.endpointById.get(endpointId), this.bindings.get(endpointId));
  }

  private onNetwork(e: CollectionEvent<Network>): void {
    if (e.kind === 'put') this.networks.set(e.id, e.value);
    else this.networks.delete(e.id);
    this.touch(e.id);
  }

  private onSubnet(e: CollectionEvent<Subnet>): void {
    const [network, id] = splitId(e.id);
    const m = this.subnets.get(network) ?? new Map<string, Subnet>();
    if (e.kind === 'put') m.set(id, e.value);
    else m.delete(id);
    if (m.size) this.subnets.set(network, m);
    else this.subnets.delete(network);
    this.subnetArrays.delete(network);
    this.touch(network);
  }

  private onEndpoint(e: CollectionEvent<Endpoint>): void {
    const [network, id] = splitId(e.id);
    const m = this.endpoints.get(network) ?? new Map<string, Endpoint>();
    if (e.kind === 'put') {
      m.set(id, e.value);
      this.endpointById.set(id, e.value);
    } else {
      m.delete(id);
      this.endpointById.delete(id);
    }
    if (m.size) this.endpoints.set(network, m);
    else this.endpoints.delete(network);
    this.endpointArrays.delete(network);
    this.updatePlacement(id);
    this.touch(network, id);
  }

  /**
   * A group changed: recompile the endpoints that are its members (their rule
   * flows) and the members of every group its old or new rules name (their
   * remote-group address flows) — not whole networks.
   */
  private onSecurityGroup(e: CollectionEvent<SecurityGroup>): void {
    const before = this.securityGroups.get(e.id);
    if (e.kind === 'put') this.securityGroups.set(e.id, e.value);
    else this.securityGroups.delete(e.id);
    const touched = new Set([...groupsTouchedBy(before), ...groupsTouchedBy(e.kind === 'put' ? e.value : undefined), e.id]);
    for (const ep of this.endpointById.values()) {
      if (ep.securityGroups.some((g) => touched.has(g))) this.touch(ep.network, ep.id);
    }
    this.touch(undefined);
  }

  /** A QoS policy changed: recompile the endpoints using it, and every endpoint of networks using it. */
  private onQosPolicy(e: CollectionEvent<QosPolicy>): void {
    if (e.kind === 'put') this.qosPolicies.set(e.id, e.value);
    else this.qosPolicies.delete(e.id);
    for (const n of this.networks.values()) if (n.qosPolicy === e.id) this.touch(n.id);
    for (const ep of this.endpointById.values()) if (ep.qosPolicy === e.id) this.touch(ep.network, ep.id);
    this.touch(undefined);
  }

  private onBinding(e: CollectionEvent<Binding>): void {
    const before = this.bindings.get(e.id);
    if (e.kind === 'put') this.bindings.set(e.id, e.value);
    else this.bindings.delete(e.id);
    this.updatePlacement(e.id);
    if (before && e.kind === 'put' && samePlacement(before, e.value)) {
      this.batch.status(e.id);
      return;
    }
    this.touch(this.endpointById.get(e.id)?.network, e.id);
  }
  // Routing: a router put or deleted; every network it was or is on recompiles whole.
  private onRouter(e: CollectionEvent<Router>): void {
    const before = this.routers.get(e.id);
    if (e.kind === 'put') this.routers.set(e.id, e.value);
    else this.routers.delete(e.id);
    const networks = new Set([...(before?.interfaces ?? []), ...(e.kind === 'put' ? e.value.interfaces : [])].map((i) => i.network));
    for (const n of networks) {
      const on = [...this.routers.values()].filter((r) => r.interfaces.some((i) => i.network === n)).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      if (on.length) this.routersByNetwork.set(n, on);
      else this.routersByNetwork.delete(n);
    }
    this.batch.router(e.id);
    for (const n of networks) this.touch(n);
    this.touch(undefined);
  }

  // External networks: a floating IP put or deleted recompiles the routers of its endpoint's network (before and after).
  private onFloatingIp(e: CollectionEvent<FloatingIp>): void {
    const before = this.floatingIps.get(e.id);
    if (e.kind === 'put') this.floatingIps.set(e.id, e.value);
    else this.floatingIps.delete(e.id);
    for (const endpoint of [before?.endpoint, e.kind === 'put' ? e.value.endpoint : null]) {
      const network = endpoint ? this.endpointById.get(endpoint)?.network : undefined;
      for (const r of network ? (this.routersByNetwork.get(network) ?? []) : []) this.batch.router(r.id);
    }
    this.touch(undefined);
  }

  // External networks: a neighbour learned or changed recompiles the routers whose gateway is on its network.
  private onMacBinding(e: CollectionEvent<MacBinding>): void {
    const before = this.macBindings.get(e.id);
    if (e.kind === 'put') this.macBindings.set(e.id, e.value);
    else this.macBindings.delete(e.id);
    if (before?.mac === (e.kind === 'put' ? e.value.mac : undefined)) return;
    const network = splitId(e.id)[0];
    for (const r of this.routers.values()) if (r.externalGateway?.network === network) this.batch.router(r.id);
    this.touch(undefined);
  }
}

/** The groups whose members' flows a change of `g` touches: itself and every group its rules name. */
function groupsTouchedBy(g: SecurityGroup | undefined): string[] {
  return g ? [g.id, ...g.rules.map((r) => r.remoteGroup).filter((x): x is string => x !== undefined)] : [];
}

function splitId(id: string): [string, string] {
  const slash = id.indexOf('/');
  return [id.slice(0, slash), id.slice(slash + 1)];
}
