/**
 * The network ⇄ hosts index of the model cache (model-cache.ts): where each
 * placed endpoint is (host, network, OpenFlow port), kept both ways, and what
 * the current batch changed — per network, the hosts whose ports of it changed,
 * and the networks whose set of hosts changed. An endpoint is placed as
 * compiler/snapshot.ts placementOf places it: bound to a host with a port, not
 * down. The host programmer asks which hosts a network is on from here
 * instead of walking the network's endpoints (issue 17).
 */
import type { Binding, Endpoint } from './model';

interface Placement {
  readonly host: string;
  readonly network: string;
  readonly ofport: number;
}

export class PlacementIndex {
  private readonly placements = new Map<string, Placement>();
  /** network → host → endpoint → ofport. */
  private readonly portsByNetwork = new Map<string, Map<string, Map<string, number>>>();
  private readonly networksByHost = new Map<string, Map<string, number>>();
  private pendingPorts = new Map<string, Set<string>>();
  private pendingSpread = new Set<string>();

  /** Hosts with at least one endpoint of the network attached (the network is present there). */
  hostsOf(networkId: string): Iterable<string> {
    return this.portsByNetwork.get(networkId)?.keys() ?? [];
  }

  /** How many hosts the network is present on. */
  hostCountOf(networkId: string): number {
    return this.portsByNetwork.get(networkId)?.size ?? 0;
  }

  /** Whether an endpoint of the network is attached on the host. */
  isOn(networkId: string, hostId: string): boolean {
    return this.portsByNetwork.get(networkId)?.has(hostId) ?? false;
  }

  /** OpenFlow ports of the network's endpoints attached on the host. */
  portsOn(networkId: string, hostId: string): Iterable<number> {
    return this.portsByNetwork.get(networkId)?.get(hostId)?.values() ?? [];
  }

  /** Networks with at least one endpoint attached on the host. */
  networksOf(hostId: string): Iterable<string> {
    return this.networksByHost.get(hostId)?.keys() ?? [];
  }

  /** Keeps the index right for one endpoint, given its record and binding as they are now. */
  update(endpointId: string, endpoint: Endpoint | undefined, b: Binding | undefined): void {
    const now = endpoint && b && b.host !== null && b.ofport !== null && b.ofport > 0 && b.status !== 'down' ? { host: b.host, network: endpoint.network, ofport: b.ofport } : undefined;
    const before = this.placements.get(endpointId);
    if (before?.host === now?.host && before?.network === now?.network && before?.ofport === now?.ofport) return;
    if (before) {
      this.placePort(before.network, before.host, endpointId, undefined);
      countIn(this.networksByHost, before.host, before.network, -1);
    }
    if (now) {
      this.placements.set(endpointId, now);
      this.placePort(now.network, now.host, endpointId, now.ofport);
      countIn(this.networksByHost, now.host, now.network, 1);
    } else this.placements.delete(endpointId);
  }

  /** What the batch changed since the last call (ModelChange.portsChanged and .spread), and a new batch begins. */
  takeBatch(): { portsChanged: Map<string, Set<string>>; spread: Set<string> } {
    const out = { portsChanged: this.pendingPorts, spread: this.pendingSpread };
    this.pendingPorts = new Map();
    this.pendingSpread = new Set();
    return out;
  }

  /** Sets (or, with `ofport` undefined, removes) one endpoint's port, noting what the batch changed. */
  private placePort(network: string, host: string, endpointId: string, ofport: number | undefined): void {
    const hosts = this.portsByNetwork.get(network) ?? new Map<string, Map<string, number>>();
    const ports = hosts.get(host) ?? new Map<string, number>();
    const wasOn = ports.size > 0;
    if (ofport === undefined) ports.delete(endpointId);
    else ports.set(endpointId, ofport);
    if (ports.size) hosts.set(host, ports);
    else hosts.delete(host);
    if (hosts.size) this.portsByNetwork.set(network, hosts);
    else this.portsByNetwork.delete(network);
    if (wasOn !== ports.size > 0) this.pendingSpread.add(network);
    const changed = this.pendingPorts.get(network) ?? new Set<string>();
    changed.add(host);
    this.pendingPorts.set(network, changed);
  }
}

function countIn(index: Map<string, Map<string, number>>, outer: string, inner: string, delta: 1 | -1): void {
  const m = index.get(outer) ?? new Map<string, number>();
  const n = (m.get(inner) ?? 0) + delta;
  if (n > 0) m.set(inner, n);
  else m.delete(inner);
  if (m.size) index.set(outer, m);
  else index.delete(outer);
}
