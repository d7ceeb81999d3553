/**
 * /v1/qos-policies (SPEC §3, §6, §11): rate limits and DSCP marking of a
 * tenant, referenced by endpoints and networks (the endpoint's wins). A policy
 * in use cannot be deleted (409).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Versioned } from '../store/collection';
import { DEFAULT_TENANT, type QosPolicy } from '../store/model';
import { ResourceNotFoundError } from '../store/model-errors';
import type { CreateQosPolicyInput, QosPolicyPatch } from '../store/qos-policy-store';
import { isVisible, requireTenant, scopeOf } from './auth';
import { byNameThenId, paginate } from './pagination';
import { createQosPolicyBody, patchQosPolicyBody } from './policy-schemas';
import { ifMatchOf, setEtag } from './preconditions';
import { idParams, listOf, problemResponses, tenantFilterQuery, writeProblemResponses } from './schemas';
import type { ApiDeps } from './server';

const view = (p: Versioned<QosPolicy>) => ({ ...p.value, revision: p.revision });

/** A QoS policy by id or name within `tenant` (the caller's by default), visible to the caller. */
export async function findQosPolicy(req: FastifyRequest, deps: ApiDeps, ref: string, tenant?: string): Promise<Versioned<QosPolicy>> {
  const p = await deps.model.qosPolicies.resolve(ref, tenant ?? scopeOf(req)).catch((err: unknown) => {
    if (err instanceof ResourceNotFoundError) {
      const e = new ResourceNotFoundError('QoS policy', ref);
      if (tenant !== undefined) e.message = `qosPolicy: QoS policy "${ref}" does not exist in tenant "${tenant}"`;
      throw e;
    }
    throw err;
  });
  if (!isVisible(req, p.value.tenant)) throw new ResourceNotFoundError('QoS policy', ref);
  return p;
}

export function registerQosPolicyRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const policies = deps.model.qosPolicies;

  app.get<{ Querystring: { limit: number; next?: string; tenant?: string } }>(
    '/v1/qos-policies',
    {
      schema: { operationId: 'listQosPolicies', summary: 'List QoS policies, sorted by name', tags: ['qos-policies'], querystring: tenantFilterQuery, response: { 200: listOf('QosPolicy'), ...problemResponses } },
    },
    async (req) => {
      const tenant = req.query.tenant ?? scopeOf(req);
      const items = (await policies.list(tenant === undefined ? {} : { tenant })).filter((p) => isVisible(req, p.value.tenant)).map(view);
      return paginate(items, req.query.limit, req.query.next, byNameThenId);
    },
  );

  app.post<{ Body: CreateQosPolicyInput }>(
    '/v1/qos-policies',
    {
      schema: {
        operationId: 'createQosPolicy',
        summary: 'Create a QoS policy: egress/ingress rate limits (OpenFlow meters), DSCP marking',
        tags: ['qos-policies'],
        body: createQosPolicyBody,
        response: { 201: { $ref: 'QosPolicy#' }, ...writeProblemResponses },
      },
    },
    async (req, reply) => {
      const tenant = req.body.tenant ?? scopeOf(req) ?? DEFAULT_TENANT;
      requireTenant(req, tenant);
      const p = await policies.create({ ...req.body, tenant });
      setEtag(reply, p.revision);
      return reply.status(201).header('location', `/v1/qos-policies/${encodeURIComponent(p.value.id)}`).send(view(p));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/qos-policies/:id',
    { schema: { operationId: 'getQosPolicy', summary: 'Show one QoS policy (by id or name)', tags: ['qos-policies'], params: idParams, response: { 200: { $ref: 'QosPolicy#' }, ...problemResponses } } },
    async (req, reply) => {
      const p = await findQosPolicy(req, deps, req.params.id);
      setEtag(reply, p.revision);
      return view(p);
    },
  );

  app.patch<{ Params: { id: string }; Body: QosPolicyPatch }>(
    '/v1/qos-policies/:id',
    {
      schema: {
        operationId: 'updateQosPolicy',
        summary: 'Change a QoS policy (null removes a part; If-Match: revision); endpoints using it follow at once',
        tags: ['qos-policies'],
        params: idParams,
        body: { content: { 'application/json': { schema: patchQosPolicyBody }, 'application/merge-patch+json': { schema: patchQosPolicyBody } } },
        response: { 200: { $ref: 'QosPolicy#' }, ...writeProblemResponses },
      },
    },
    async (req, reply) => {
      const cur = await findQosPolicy(req, deps, req.params.id);
      const p = await policies.update(cur.value.id, req.body, ifMatchOf(req));
      setEtag(reply, p.revision);
      return view(p);
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/qos-policies/:id',
    {
      schema: {
        operationId: 'deleteQosPolicy',
        summary: 'Delete a QoS policy no endpoint or network uses (409 otherwise)',
        tags: ['qos-policies'],
        params: idParams,
        response: { 204: { description: 'deleted', type: 'null' }, ...writeProblemResponses },
      },
    },
    async (req, reply) => {
      const cur = await findQosPolicy(req, deps, req.params.id);
      await policies.delete(cur.value.id, ifMatchOf(req));
      return reply.status(204).send();
    },
  );
}
