/**
 * /v1/networks (SPEC §3, §6, §11): L2 segments with an allocated VNI. Every
 * `{id}` also takes the network's name (unique in its tenant).
 */
import type { FastifyInstance } from 'fastify';
import type { Versioned } from '../store/collection';
import { DEFAULT_TENANT, type Network } from '../store/model';
import type { CreateNetworkInput, NetworkPatch } from '../store/model-store';
import { requireTenant, scopeOf } from './auth';
import { byNameThenId, paginate } from './pagination';
import { ifMatchOf, setEtag } from './preconditions';
import { findNetwork, visibleNetworks } from './scope';
import { createNetworkBody, idParams, listOf, patchNetworkBody, problemResponses, tenantFilterQuery, writeProblemResponses } from './schemas';
import type { ApiDeps } from './server';
import { findQosPolicy } from './qos-policies';

const view = (n: Versioned<Network>) => ({ ...n.value, revision: n.revision });

export function registerNetworkRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { model } = deps;

  app.get<{ Querystring: { limit: number; next?: string; tenant?: string } }>(
    '/v1/networks',
    {
      schema: {
        operationId: 'listNetworks',
        summary: 'List networks, sorted by name (?tenant= filters)',
        tags: ['networks'],
        querystring: tenantFilterQuery,
        response: { 200: listOf('Network'), ...problemResponses },
      },
    },
    async (req) => {
      const all = (await visibleNetworks(req, model)).map(view);
      const items = req.query.tenant === undefined ? all : all.filter((n) => n.tenant === req.query.tenant);
      return paginate(items, req.query.limit, req.query.next, byNameThenId);
    },
  );

  app.post<{ Body: CreateNetworkInput }>(
    '/v1/networks',
    {
      schema: {
        operationId: 'createNetwork',
        summary: "Create a network; its VNI is allocated, unique across the cluster (tenant: the token's by default)",
        tags: ['networks'],
        body: createNetworkBody,
        response: { 201: { $ref: 'Network#' }, ...writeProblemResponses },
      },
    },
    async (req, reply) => {
      const tenant = req.body.tenant ?? scopeOf(req) ?? DEFAULT_TENANT;
      requireTenant(req, tenant);
      const n = await model.createNetwork({ ...req.body, tenant });
      setEtag(reply, n.revision);
      return reply.status(201).header('location', `/v1/networks/${n.value.id}`).send(view(n));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/networks/:id',
    {
      schema: {
        operationId: 'getNetwork',
        summary: 'Show one network (by id or name)',
        tags: ['networks'],
        params: idParams,
        response: { 200: { $ref: 'Network#' }, ...problemResponses },
      },
    },
    async (req, reply) => {
      const n = await findNetwork(req, model, req.params.id);
      setEtag(reply, n.revision);
      return view(n);
    },
  );

  app.patch<{ Params: { id: string }; Body: NetworkPatch }>(
    '/v1/networks/:id',
    {
      schema: {
        operationId: 'updateNetwork',
        summary: 'Rename a network or change its MTU (If-Match: revision; JSON or merge patch)',
        tags: ['networks'],
        params: idParams,
        body: { content: { 'application/json': { schema: patchNetworkBody }, 'application/merge-patch+json': { schema: patchNetworkBody } } },
        response: { 200: { $ref: 'Network#' }, ...writeProblemResponses },
      },
    },
    async (req, reply) => {
      const cur = await findNetwork(req, model, req.params.id);
      const qos = req.body.qosPolicy ? { qosPolicy: (await findQosPolicy(req, deps, req.body.qosPolicy, cur.value.tenant)).value.id } : {};
      const n = await model.updateNetwork(cur.value.id, { ...req.body, ...qos }, ifMatchOf(req));
      setEtag(reply, n.revision);
      return view(n);
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/networks/:id',
    {
      schema: {
        operationId: 'deleteNetwork',
        summary: 'Delete a network and its subnets; refused while it has endpoints (If-Match: revision)',
        tags: ['networks'],
        params: idParams,
        response: { 204: { description: 'deleted', type: 'null' }, ...writeProblemResponses },
      },
    },
    async (req, reply) => {
      const cur = await findNetwork(req, model, req.params.id);
      await model.deleteNetwork(cur.value.id, ifMatchOf(req));
      return reply.status(204).send();
    },
  );
}
