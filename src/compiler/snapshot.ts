/**
 * The compiler's input: the model as plain read-only data, plus what only the
 * host's master knows (its tunnel port). Built by the model cache; never
 * fetched by the compiler itself (compileHost does no I/O).
 */
import type { Action } from '../../protocols/openflow/actions';
import { setField } from '../pipeline/fields';
import type { Endpoint } from '../store/model';
import type { ModelView } from '../store/model-view';

/** The model the compiler reads: the store's read-only view (store/model-view.ts). */
export type Snapshot = ModelView;

export interface HostContext {
  readonly id: string;
  /** OpenFlow port of the host's one flow-based VXLAN port (`plexus-vxlan`), once it has one. */
  readonly tunnelPort: number | undefined;
  /** Encap IP of every known host by id: tun_dst toward it, tun_src of what it sends. */
  readonly encapIps: ReadonlyMap<string, string>;
  /**
   * Per-peer VXLAN ports an earlier Plexus created, by peer id: used only until
   * `plexus-vxlan` has an OpenFlow port, so that migrating a host leaves no
   * forwarding gap (the host manager removes them once the flows stopped using them).
   */
  readonly legacyTunnelPorts?: ReadonlyMap<string, number>;
}

/** The actions that send a packet (tun_id already set) to `peer`, or undefined while there is no way there yet. */
export function tunnelActionsTo(host: HostContext, peer: string): Action[] | undefined {
  const ip = host.encapIps.get(peer);
  if (host.tunnelPort !== undefined && ip !== undefined) return [setField('tun_dst', ip), { type: 'output', port: host.tunnelPort }];
  const legacy = host.legacyTunnelPorts?.get(peer);
  return legacy === undefined ? undefined : [{ type: 'output', port: legacy }];
}

/** An endpoint placed on a host's port. */
export interface Placed {
  readonly endpoint: Endpoint;
  readonly host: string;
  readonly ofport: number;
}

/** An endpoint placed somewhere, or undefined (not attached, down, or unknown). */
export function placementOf(snapshot: Snapshot, endpoint: Endpoint | undefined): Placed | undefined {
  const b = endpoint ? snapshot.bindings.get(endpoint.id) : undefined;
  if (!endpoint || !b || b.host === null || b.ofport === null || b.ofport <= 0 || b.status === 'down') return undefined;
  return { endpoint, host: b.host, ofport: b.ofport };
}

/** Endpoints of a network that are attached somewhere (sorted by id). */
export function placedEndpoints(snapshot: Snapshot, networkId: string): Placed[] {
  const out: Placed[] = [];
  for (const endpoint of snapshot.endpointsByNetwork.get(networkId) ?? []) {
    const p = placementOf(snapshot, endpoint);
    if (p) out.push(p);
  }
  return out.sort((a, b) => (a.endpoint.id < b.endpoint.id ? -1 : a.endpoint.id > b.endpoint.id ? 1 : 0));
}

/** Networks with at least one endpoint attached on `hostId` (sorted). */
export function networksOnHost(snapshot: Snapshot, hostId: string): string[] {
  const out: string[] = [];
  for (const id of snapshot.networks.keys()) {
    if (placedEndpoints(snapshot, id).some((p) => p.host === hostId)) out.push(id);
  }
  return out.sort();
}
