/**
 * QoS (issue 12 item 5): what an endpoint's policy (its own, else its network's)
 * makes of its port flows on the host where it is attached.
 *
 * - egress rate: OpenFlow meter on the classify flow (`in_port=P`: everything the
 *   endpoint sends passes `meter:N` before port security);
 * - ingress rate: meter on the output flow (`reg2=P`, table 70), before the packet
 *   leaves to the port;
 * - DSCP: `set_field:ip_dscp` on the endpoint's IPv4/IPv6 port-security flows (the
 *   field needs an IP match, so it cannot go on classify).
 *
 * Meter ids are stable (derived from policy, endpoint and direction), so a
 * restarted daemon computes the same ones and a read-back diff sends nothing.
 */
import { createHash } from 'node:crypto';
import type { MeterSpec } from '../pipeline/meter';
import type { Endpoint, QosPolicy } from '../store/model';
import type { Snapshot } from './snapshot';

export type { MeterSpec };

export type QosDirection = 'egress' | 'ingress';

/** What the port flows of one endpoint carry for its QoS policy. */
export interface PortQos {
  readonly policy: QosPolicy;
  readonly egressMeter?: MeterSpec;
  readonly ingressMeter?: MeterSpec;
  readonly dscp?: number;
}

/** Meter id in 1..2^31-1 from (policy, endpoint, direction). */
export function meterIdOf(policyId: string, endpointId: string, direction: QosDirection): number {
  const h = createHash('sha256').update(`${policyId}/${endpointId}/${direction}`).digest();
  return (h.readUInt32BE(0) & 0x7fffffff) || 1;
}

/** The policy in force for an endpoint: its own, else its network's (undefined: none, or not found). */
export function qosPolicyOf(snapshot: Snapshot, endpoint: Endpoint): QosPolicy | undefined {
  const id = endpoint.qosPolicy ?? snapshot.networks.get(endpoint.network)?.qosPolicy;
  return id ? snapshot.qosPolicies?.get(id) : undefined;
}

export function portQosOf(snapshot: Snapshot, endpoint: Endpoint): PortQos | undefined {
  const policy = qosPolicyOf(snapshot, endpoint);
  if (!policy) return undefined;
  const meter = (direction: QosDirection): MeterSpec | undefined => {
    const limit = policy[direction];
    if (!limit) return undefined;
    return { meterId: meterIdOf(policy.id, endpoint.id, direction), rateKbps: limit.rateKbps, burstKb: limit.burstKb, owner: `${policy.id}/${endpoint.id}/${direction}` };
  };
  const egressMeter = meter('egress');
  const ingressMeter = meter('ingress');
  return {
    policy,
    ...(egressMeter ? { egressMeter } : {}),
    ...(ingressMeter ? { ingressMeter } : {}),
    ...(policy.dscp !== undefined ? { dscp: policy.dscp } : {}),
  };
}

/** The meters an endpoint's port flows reference (only where it is attached). */
export function metersOf(q: PortQos | undefined): MeterSpec[] {
  return q ? [q.egressMeter, q.ingressMeter].filter((x): x is MeterSpec => x !== undefined) : [];
}
