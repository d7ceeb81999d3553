/**
 * The compiler's input: the model as plain read-only data, plus what only the
 * host's master knows (its tunnel ports). Built by the model cache; never
 * fetched by the compiler itself (compileHost does no I/O).
 */
import type { Endpoint } from '../store/model';
import type { ModelView } from '../store/model-view';

/** The model the compiler reads: the store's read-only view (store/model-view.ts). */
export type Snapshot = ModelView;

export interface HostContext {
  readonly id: string;
  /** OpenFlow port of the VXLAN tunnel toward each peer host, by peer id. */
  readonly tunnelPorts: ReadonlyMap<string, number>;
  /** External networks: OpenFlow port of the patch port toward each mapped physical network. */
  readonly externalPorts?: ReadonlyMap<string, number>;
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
