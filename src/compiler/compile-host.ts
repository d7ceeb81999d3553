/**
 * compileHost: the desired flows of one host, from a model snapshot. Pure — no
 * I/O, no clock, no randomness — and partitioned so that a change recompiles
 * only what it touches:
 *
 *   pipeline          table-miss flows, the same everywhere
 *   network:<id>      per network present on the host: DHCP, flooding (and classify from hosts routing into it)
 *   tunnel:<id>/<peer> per network present on the host, per other host it is present on: classify what comes from there
 *   endpoint:<id>     per endpoint of a network present on the host: its port flows
 *                     (if local), ARP/ND replies, its L2 flow (and, in a routed
 *                     network, its L3 neighbour flow); per endpoint of a network
 *                     only routed to from the host: its L2 and neighbour flows
 *   router:<id>       per router with a network present on the host (compiler/l3.ts)
 *   external:<id>     such a router's external-network flows, where the host maps it (compiler/nat.ts)
 *
 * An attach therefore costs a handful of flows on each host where its network is
 * present, whatever the size of the network.
 */
import type { Flow } from '../pipeline/flow';
import { compileArpResponder, compileNdResponder } from './arp';
import { compileDhcp } from './dhcp';
import { compileL2Endpoint, compileL2Flooding, compileL2Network, compileL2Tunnel } from './l2';
import { compileL3Neighbor, compileRouter, networksOfRouter, routedPeers, routerPartition, routersOf } from './l3';
import { compileRouterExternal, externalPartition } from './nat';
import { compilePipeline } from './pipeline';
import { compileEndpointPolicy, compileMemberFlows } from './policy';
import { compileLocalPort } from './port';
import { metersOf, portQosOf, type MeterSpec } from './qos';
import { networksOnHost, placedEndpoints, type HostContext, type Placed, type Snapshot } from './snapshot';

export const PIPELINE_PARTITION = 'pipeline';
export const networkPartition = (networkId: string): string => `network:${networkId}`;
export const endpointPartition = (endpointId: string): string => `endpoint:${endpointId}`;
export const tunnelPartition = (networkId: string, peer: string): string => `tunnel:${networkId}/${peer}`;

/** The classify partition of what comes from `peer` in a network present on the host (empty: not there, or no encap IP). */
export function compileTunnelPartition(snapshot: Snapshot, host: HostContext, networkId: string, peer: string): Flow[] {
  const network = snapshot.networks.get(networkId);
  return network ? compileL2Tunnel(network, host, peer) : [];
}

/** Whether any endpoint of the network is attached on the host (the network is "present" there). */
export function isPresent(placed: readonly Placed[], hostId: string): boolean {
  return placed.some((p) => p.host === hostId);
}

/** Whether the network is present on the host: from the view's network ⇄ hosts index when it has one, else from its placed endpoints. */
export function isNetworkOn(snapshot: Snapshot, networkId: string, hostId: string, placedOf: (network: string) => readonly Placed[] = (n) => placedEndpoints(snapshot, n)): boolean {
  return snapshot.isOn ? snapshot.isOn(networkId, hostId) : isPresent(placedOf(networkId), hostId);
}

/**
 * The network partition: empty when the network is not present on the host.
 * With the view's index, its cost is the hosts the network is on, not its
 * endpoints; `placed` is read only without one.
 */
export function compileNetworkBase(snapshot: Snapshot, host: HostContext, networkId: string, placed?: readonly Placed[]): Flow[] {
  const network = snapshot.networks.get(networkId);
  if (!network) return [];
  const dhcp = (): Flow[] => compileDhcp(network, snapshot.subnetsByNetwork.get(networkId) ?? []);
  if (snapshot.isOn && snapshot.hostsOf && snapshot.portsOn) {
    if (!snapshot.isOn(networkId, host.id)) return [];
    return [...dhcp(), ...compileL2Flooding(network, host, snapshot.portsOn(networkId, host.id), snapshot.hostsOf(networkId), routingHosts(snapshot, networkId))];
  }
  const all = placed ?? placedEndpoints(snapshot, networkId);
  if (!isPresent(all, host.id)) return [];
  return [...dhcp(), ...compileL2Network(network, host, all, routingHosts(snapshot, networkId))];
}

/** Hosts where a network routed to `networkId` (through one of its routers) is present: they route into it. */
export function routingHosts(snapshot: Snapshot, networkId: string): Set<string> {
  const out = new Set<string>();
  for (const peer of routedPeers(snapshot, networkId)) {
    if (snapshot.hostsOf) for (const h of snapshot.hostsOf(peer)) out.add(h);
    else for (const p of placedEndpoints(snapshot, peer)) out.add(p.host);
  }
  return out;
}

/**
 * How a network reaches a host: `present` (an endpoint of it is attached
 * there), `routed` (not present, but a router connects it to a network that
 * is: the host routes into it), or `absent`.
 */
export type Reach = 'present' | 'routed' | 'absent';

/** The reach of a network on a host; `placedOf` gives a network's placed endpoints (callers may memoize it). */
export function reachOf(snapshot: Snapshot, hostId: string, networkId: string, placedOf: (network: string) => readonly Placed[] = (n) => placedEndpoints(snapshot, n)): Reach {
  if (isNetworkOn(snapshot, networkId, hostId, placedOf)) return 'present';
  for (const peer of routedPeers(snapshot, networkId)) if (isNetworkOn(snapshot, peer, hostId, placedOf)) return 'routed';
  return 'absent';
}

/** One endpoint's partition on a host, by its network's reach there (`true` = present, `false` = absent). */
export function compileEndpoint(snapshot: Snapshot, host: HostContext, p: Placed | undefined, reach: boolean | Reach): Flow[] {
  const network = p ? snapshot.networks.get(p.endpoint.network) : undefined;
  const r: Reach = reach === true ? 'present' : reach === false ? 'absent' : reach;
  if (!p || !network || r === 'absent') return [];
  const routed = routersOf(snapshot, network.id).length > 0;
  if (r === 'routed') return [...compileL2Endpoint(network, host, p), ...compileL3Neighbor(network, p)];
  return [
    ...(p.host === host.id ? compileLocalPort(network, p, portQosOf(snapshot, p.endpoint)) : []),
    ...compileArpResponder(network, p),
    ...compileNdResponder(network, p),
    ...compileL2Endpoint(network, host, p),
    ...(routed ? compileL3Neighbor(network, p) : []),
    // Security policy (policy.ts): the endpoint's own rules where it is attached, its address in remote groups everywhere.
    ...(p.host === host.id ? compileEndpointPolicy(snapshot, p) : []),
    ...compileMemberFlows(snapshot, network, p),
  ];
}

/** Every partition of one network on one host: the base and each placed endpoint's. */
export function compileNetworkPartitions(snapshot: Snapshot, host: HostContext, networkId: string, reach?: Reach): Map<string, Flow[]> {
  const placed = placedEndpoints(snapshot, networkId);
  const r = reach ?? reachOf(snapshot, host.id, networkId, (n) => (n === networkId ? placed : placedEndpoints(snapshot, n)));
  const out = new Map<string, Flow[]>([[networkPartition(networkId), r === 'present' ? compileNetworkBase(snapshot, host, networkId, placed) : []]]);
  if (r === 'present') {
    const peers = new Set(snapshot.hostsOf ? snapshot.hostsOf(networkId) : placed.map((p) => p.host));
    for (const peer of [...peers].sort()) if (peer !== host.id) out.set(tunnelPartition(networkId, peer), compileTunnelPartition(snapshot, host, networkId, peer));
  }
  for (const p of placed) out.set(endpointPartition(p.endpoint.id), compileEndpoint(snapshot, host, p, r));
  return out;
}

/** A router's partition on a host: its flows when one of its networks is present there, else empty. */
export function compileRouterPartition(snapshot: Snapshot, hostId: string, routerId: string, placedOf: (network: string) => readonly Placed[] = (n) => placedEndpoints(snapshot, n)): Flow[] {
  const router = snapshot.routers?.get(routerId);
  if (!router || !networksOfRouter(router).some((n) => isNetworkOn(snapshot, n, hostId, placedOf))) return [];
  return compileRouter(snapshot, router);
}

/** All flows of one network on one host (the partitions above, flattened). */
export function compileNetwork(snapshot: Snapshot, host: HostContext, networkId: string): Flow[] {
  return [...compileNetworkPartitions(snapshot, host, networkId).values()].flat();
}

/** Every partition of a host's desired flows. */
export function compileHost(snapshot: Snapshot, host: HostContext): Map<string, Flow[]> {
  const out = new Map<string, Flow[]>([[PIPELINE_PARTITION, compilePipeline()]]);
  const present = networksOnHost(snapshot, host.id);
  for (const id of present) {
    for (const [name, flows] of compileNetworkPartitions(snapshot, host, id, 'present')) out.set(name, flows);
  }
  // Routing: networks only routed to from here, and the routers of the present networks.
  const routed = new Set<string>();
  const routers = new Set<string>();
  for (const id of present) {
    for (const peer of routedPeers(snapshot, id)) if (!present.includes(peer)) routed.add(peer);
    for (const r of routersOf(snapshot, id)) routers.add(r.id);
  }
  for (const id of [...routed].sort()) {
    for (const [name, flows] of compileNetworkPartitions(snapshot, host, id, 'routed')) out.set(name, flows);
  }
  for (const id of [...routers].sort()) {
    const router = snapshot.routers?.get(id);
    if (router) out.set(routerPartition(id), compileRouter(snapshot, router));
    if (router) out.set(externalPartition(id), compileRouterExternal(snapshot, host, router));
  }
  return out;
}

/** The meters one endpoint's partition references on a host (its QoS, where it is attached). */
export function compileEndpointMeters(snapshot: Snapshot, host: HostContext, p: Placed | undefined): MeterSpec[] {
  return p && p.host === host.id ? metersOf(portQosOf(snapshot, p.endpoint)) : [];
}
