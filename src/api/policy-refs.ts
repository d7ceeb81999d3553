/**
 * The security groups and QoS policy an endpoint write names, resolved to ids
 * in the endpoint's tenant (SPEC §3): a group or policy that does not exist
 * there — another tenant's included — is 404, naming the field.
 */
import type { FastifyRequest } from 'fastify';
import { findQosPolicy } from './qos-policies';
import type { ApiDeps } from './server';

export async function resolveEndpointPolicyRefs(
  req: FastifyRequest,
  deps: ApiDeps,
  tenant: string,
  body: { readonly securityGroups?: readonly string[]; readonly qosPolicy?: string | null },
): Promise<{ securityGroups?: string[]; qosPolicy?: string | null }> {
  const out: { securityGroups?: string[]; qosPolicy?: string | null } = {};
  if (body.securityGroups !== undefined) out.securityGroups = await deps.model.securityGroups.resolveAll(body.securityGroups, tenant);
  if (body.qosPolicy !== undefined) out.qosPolicy = body.qosPolicy === null ? null : (await findQosPolicy(req, deps, body.qosPolicy, tenant)).value.id;
  return out;
}
