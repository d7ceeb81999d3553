/**
 * The API's policy drill-down of an endpoint (GET /v1/endpoints/{id}: `policy`):
 * its effective security rules (remote groups resolved to their members'
 * addresses), the QoS policy in force (its own or its network's) with its
 * meters, and the flows each produced on its host — recognised by cookie owner
 * (pipeline/cookies.ts: a rule's flows carry the rule id, the QoS flows are the
 * endpoint's port flows carrying a meter or a DSCP mark). Flows are listed only
 * where this member programs the endpoint's host.
 */
import type { Instruction } from '../../protocols/openflow/instructions';
import type { Mastery } from '../cluster/ownership';
import { rulesOfEndpoint } from '../compiler/policy';
import { portQosOf, qosPolicyOf } from '../compiler/qos';
import { cookie, FEATURE, OBJECT_ID_MASK, objectIdOf } from '../pipeline/cookies';
import { formatFlow } from '../reconciler/format';
import type { HostFlows } from '../reconciler/host-flows';
import type { ModelCache } from '../store/model-cache';
import type { SecurityGroupRule } from '../store/model';

export interface EffectiveRule extends SecurityGroupRule {
  readonly group: { readonly id: string; readonly name: string };
  /** For a remote-group rule: the addresses of the group's members now. */
  readonly remoteAddresses?: readonly string[];
  readonly flows?: readonly string[];
}

export interface EffectiveQos {
  readonly policy: { readonly id: string; readonly name: string; readonly egress?: unknown; readonly ingress?: unknown; readonly dscp?: number };
  readonly source: 'endpoint' | 'network';
  readonly meters: readonly { direction: 'egress' | 'ingress'; meterId: number; rateKbps: number; burstKb: number; installed?: boolean; error?: string }[];
  readonly flows?: readonly string[];
}

export interface EndpointPolicy {
  readonly rules: readonly EffectiveRule[];
  readonly qos: EffectiveQos | null;
}

const marksQos = (ins: readonly Instruction[]): boolean =>
  ins.some((i) => i.type === 'meter' || (i.type === 'apply_actions' && i.actions.some((a) => a.type === 'set_field' && JSON.stringify(a).includes('ip_dscp'))));

export function queryEndpointPolicy(
  endpointId: string,
  cache: ModelCache,
  mastery: Mastery,
  flowsOf: (hostId: string) => HostFlows | undefined,
): EndpointPolicy | undefined {
  const e = cache.endpoint(endpointId);
  if (!e) return undefined;
  const host = cache.bindings.get(endpointId)?.host;
  const flows = host && mastery.isMaster(host) ? flowsOf(host) : undefined;
  const flowsWith = (owner: bigint, extra: (ins: readonly Instruction[]) => boolean = () => true): string[] | undefined =>
    flows?.installedFlows((c) => c === owner).filter((f) => extra(f.instructions)).map(formatFlow);

  const membersOf = (groupId: string): string[] => {
    const out: string[] = [];
    for (const n of cache.networks.keys()) for (const m of cache.endpointsByNetwork.get(n) ?? []) if (m.securityGroups.includes(groupId)) out.push(...m.ips);
    return out.sort();
  };
  const rules: EffectiveRule[] = rulesOfEndpoint(cache, e.securityGroups).map(({ group, rule }) => {
    const ruleFlows = flowsWith(cookie(FEATURE.POLICY_RULE, rule.id));
    return {
      ...rule,
      group: { id: group.id, name: group.name },
      ...(rule.remoteGroup !== undefined ? { remoteAddresses: membersOf(rule.remoteGroup) } : {}),
      ...(ruleFlows ? { flows: ruleFlows } : {}),
    };
  });

  const policy = qosPolicyOf(cache, e);
  const q = portQosOf(cache, e);
  let qos: EffectiveQos | null = null;
  if (policy && q) {
    const owner = objectIdOf(endpointId);
    const qosFlows = flows?.installedFlows((c) => (c & OBJECT_ID_MASK) === owner && c === cookie(FEATURE.PORT, endpointId)).filter((f) => marksQos(f.instructions)).map(formatFlow);
    const meters = (['egress', 'ingress'] as const).flatMap((direction) => {
      const m = direction === 'egress' ? q.egressMeter : q.ingressMeter;
      if (!m) return [];
      const error = flows?.meterError(m.meterId);
      return [{ direction, meterId: m.meterId, rateKbps: m.rateKbps, burstKb: m.burstKb, ...(flows ? { installed: flows.installedMeterIds().includes(m.meterId) } : {}), ...(error ? { error } : {}) }];
    });
    qos = {
      policy: { id: policy.id, name: policy.name, ...(policy.egress ? { egress: policy.egress } : {}), ...(policy.ingress ? { ingress: policy.ingress } : {}), ...(policy.dscp !== undefined ? { dscp: policy.dscp } : {}) },
      source: e.qosPolicy ? 'endpoint' : 'network',
      meters,
      ...(qosFlows ? { flows: qosFlows } : {}),
    };
  }
  return { rules, qos };
}
