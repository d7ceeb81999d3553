/**
 * compileHost: the desired flows of one host, from a model snapshot. Pure — no
 * I/O, no clock, no randomness — and partitioned so that a change recompiles
 * only what it touches:
 *
 *   pipeline          table-miss flows, the same everywhere
 *   network:<id>      per network present on the host: tunnel classify, DHCP, flooding
 *   endpoint:<id>     per endpoint of a network present on the host: its port flows
 *                     (if local), ARP/ND replies, its L2 flow
 *
 * An attach therefore costs a handful of flows on each host where its network is
 * present, whatever the size of the network.
 */
import type { Flow } from '../pipeline/flow';
import { compileArpResponder, compileNdResponder } from './arp';
import { compileDhcp } from './dhcp';
import { compileL2Endpoint, compileL2Network } from './l2';
import { compilePipeline } from './pipeline';
import { compileEndpointPolicy, compileMemberFlows } from './policy';
import { compileLocalPort } from './port';
import { networksOnHost, placedEndpoints, type HostContext, type Placed, type Snapshot } from './snapshot';

export const PIPELINE_PARTITION = 'pipeline';
export const networkPartition = (networkId: string): string => `network:${networkId}`;
export const endpointPartition = (endpointId: string): string => `endpoint:${endpointId}`;

/** Whether any endpoint of the network is attached on the host (the network is "present" there). */
export function isPresent(placed: readonly Placed[], hostId: string): boolean {
  return placed.some((p) => p.host === hostId);
}

/** The network partition: empty when the network is not present on the host. */
export function compileNetworkBase(snapshot: Snapshot, host: HostContext, networkId: string, placed: readonly Placed[] = placedEndpoints(snapshot, networkId)): Flow[] {
  const network = snapshot.networks.get(networkId);
  if (!network || !isPresent(placed, host.id)) return [];
  return [...compileDhcp(network, snapshot.subnetsByNetwork.get(networkId) ?? []), ...compileL2Network(network, host, placed)];
}

/** One endpoint's partition on a host where its network is present (else empty). */
export function compileEndpoint(snapshot: Snapshot, host: HostContext, p: Placed | undefined, present: boolean): Flow[] {
  const network = p ? snapshot.networks.get(p.endpoint.network) : undefined;
  if (!p || !network || !present) return [];
  return [
    ...(p.host === host.id ? compileLocalPort(network, p) : []),
    ...compileArpResponder(network, p),
    ...compileNdResponder(network, p),
    ...compileL2Endpoint(network, host, p),
    // Security policy (policy.ts): the endpoint's own rules where it is attached, its address in remote groups everywhere.
    ...(p.host === host.id ? compileEndpointPolicy(snapshot, p) : []),
    ...compileMemberFlows(snapshot, network, p),
  ];
}

/** Every partition of one network on one host: the base and each placed endpoint's. */
export function compileNetworkPartitions(snapshot: Snapshot, host: HostContext, networkId: string): Map<string, Flow[]> {
  const placed = placedEndpoints(snapshot, networkId);
  const present = isPresent(placed, host.id);
  const out = new Map<string, Flow[]>([[networkPartition(networkId), compileNetworkBase(snapshot, host, networkId, placed)]]);
  for (const p of placed) out.set(endpointPartition(p.endpoint.id), compileEndpoint(snapshot, host, p, present));
  return out;
}

/** All flows of one network on one host (the partitions above, flattened). */
export function compileNetwork(snapshot: Snapshot, host: HostContext, networkId: string): Flow[] {
  return [...compileNetworkPartitions(snapshot, host, networkId).values()].flat();
}

/** Every partition of a host's desired flows. */
export function compileHost(snapshot: Snapshot, host: HostContext): Map<string, Flow[]> {
  const out = new Map<string, Flow[]>([[PIPELINE_PARTITION, compilePipeline()]]);
  for (const id of networksOnHost(snapshot, host.id)) {
    for (const [name, flows] of compileNetworkPartitions(snapshot, host, id)) out.set(name, flows);
  }
  return out;
}
