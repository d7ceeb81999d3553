/**
 * The API's drill-down of an endpoint (GET /v1/endpoints/{id}: `flows`): the
 * flows installed on its host that belong to it, recognised by the object id in
 * their cookies (pipeline/cookies.ts), in ovs-ofctl-like text.
 */
import type { Mastery } from '../cluster/ownership';
import { OBJECT_ID_MASK, objectIdOf } from '../pipeline/cookies';
import { formatFlow } from '../reconciler/format';
import type { HostFlows } from '../reconciler/host-flows';
import type { ModelCache } from '../store/model-cache';

/** Undefined when this member does not program the endpoint's host (the API then asks nothing more). */
export function queryEndpointFlows(
  endpointId: string,
  cache: ModelCache,
  mastery: Mastery,
  flowsOf: (hostId: string) => HostFlows | undefined,
): string[] | undefined {
  const b = cache.bindings.get(endpointId);
  const e = cache.endpoint(endpointId);
  const flows = b?.host ? flowsOf(b.host) : undefined;
  if (!flows || !e || !mastery.isMaster(b!.host!)) return undefined;
  // Port and L2 flows carry the endpoint id in their cookie; ARP/ND replies `<endpoint>/<ip>`.
  const ids = new Set([endpointId, ...e.ips.map((ip) => `${endpointId}/${ip}`)].map(objectIdOf));
  return flows.installedFlows((c) => ids.has(c & OBJECT_ID_MASK)).map(formatFlow);
}
