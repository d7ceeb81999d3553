/**
 * compileHost: the desired flows of one host, from a model snapshot. Pure — no
 * I/O, no clock, no randomness — and partitioned: the pipeline skeleton, then one
 * partition per network present on the host, so that a change to one network
 * recompiles only that network's partition on the hosts where it is present.
 */
import type { Flow } from '../pipeline/flow';
import { compileArpResponder, compileNdResponder } from './arp';
import { compileDhcp } from './dhcp';
import { compileL2 } from './l2';
import { compilePipeline } from './pipeline';
import { compileLocalPort } from './port';
import { networksOnHost, placedEndpoints, type HostContext, type Snapshot } from './snapshot';

export const PIPELINE_PARTITION = 'pipeline';
export const networkPartition = (networkId: string): string => `network:${networkId}`;

/** Flows of one network on one host; empty when no endpoint of it is attached there. */
export function compileNetwork(snapshot: Snapshot, host: HostContext, networkId: string): Flow[] {
  const network = snapshot.networks.get(networkId);
  if (!network) return [];
  const placed = placedEndpoints(snapshot, networkId);
  if (!placed.some((p) => p.host === host.id)) return [];
  const flows: Flow[] = [];
  for (const p of placed) {
    if (p.host === host.id) flows.push(...compileLocalPort(network, p));
    flows.push(...compileArpResponder(network, p), ...compileNdResponder(network, p));
  }
  flows.push(...compileDhcp(network, snapshot.subnetsByNetwork.get(networkId) ?? []));
  flows.push(...compileL2(network, host, placed));
  return flows;
}

/** Every partition of a host's desired flows. */
export function compileHost(snapshot: Snapshot, host: HostContext): Map<string, Flow[]> {
  const out = new Map<string, Flow[]>([[PIPELINE_PARTITION, compilePipeline()]]);
  for (const id of networksOnHost(snapshot, host.id)) out.set(networkPartition(id), compileNetwork(snapshot, host, id));
  return out;
}
