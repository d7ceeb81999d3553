/**
 * /v1/networks (SPEC §3, §6, §11): L2 segments with an allocated VNI. Every
 * `{id}` also takes the network's name.
 */
import type { FastifyInstance } from 'fastify';
import type { Versioned } from '../store/collection';
import type { Network } from '../store/model';
import type { CreateNetworkInput, NetworkPatch } from '../store/model-store';
import { paginate } from './pagination';
import { ifMatchOf, setEtag } from './preconditions';
import { createNetworkBody, idParams, listOf, patchNetworkBody, problemResponses, tenantFilterQuery, writeProblemResponses } from './schemas';
import type { ApiDeps } from './server';

const view = (n: Versioned<Network>) => ({ ...n.value, revision: n.revision });

export function registerNetworkRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { model } = deps;

  app.get<{ Querystring: { limit: number; next?: string; tenant?: string } }>(
    '/v1/networks',
    {
      schema: { summary: 'List networks (?tenant= filters)', tags: ['networks'], querystring: tenantFilterQuery, response: { 200: listOf('Network'), ...problemResponses } },
    },
    async (req) => {
      const filter = req.query.tenant === undefined ? {} : { tenant: req.query.tenant };
      return paginate((await model.listNetworks(filter)).map(view), req.query.limit, req.query.next);
    },
  );

  app.post<{ Body: CreateNetworkInput }>(
    '/v1/networks',
    {
      schema: {
        summary: 'Create a network; its VNI is allocated, unique across the cluster',
        tags: ['networks'],
        body: createNetworkBody,
        response: { 201: { $ref: 'Network#' }, ...writeProblemResponses },
      },
    },
    async (req, reply) => {
      const n = await model.createNetwork(req.body);
      setEtag(reply, n.revision);
      return reply.status(201).header('location', `/v1/networks/${n.value.id}`).send(view(n));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/networks/:id',
    { schema: { summary: 'Show one network (by id or name)', tags: ['networks'], params: idParams, response: { 200: { $ref: 'Network#' }, ...problemResponses } } },
    async (req, reply) => {
      const n = await model.resolveNetwork(req.params.id);
      setEtag(reply, n.revision);
      return view(n);
    },
  );

  app.patch<{ Params: { id: string }; Body: NetworkPatch }>(
    '/v1/networks/:id',
    {
      schema: {
        summary: 'Rename a network or change its MTU (If-Match: revision)',
        tags: ['networks'],
        params: idParams,
        body: patchNetworkBody,
        response: { 200: { $ref: 'Network#' }, ...writeProblemResponses },
      },
    },
    async (req, reply) => {
      const n = await model.updateNetwork(req.params.id, req.body, ifMatchOf(req));
      setEtag(reply, n.revision);
      return view(n);
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/networks/:id',
    {
      schema: {
        summary: 'Delete a network and its subnets; refused while it has endpoints (If-Match: revision)',
        tags: ['networks'],
        params: idParams,
        response: { 204: { type: 'null' }, ...writeProblemResponses },
      },
    },
    async (req, reply) => {
      await model.deleteNetwork(req.params.id, ifMatchOf(req));
      return reply.status(204).send();
    },
  );
}
