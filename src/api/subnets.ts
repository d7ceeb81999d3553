/** /v1/subnets (SPEC §3, §6, §11): address ranges of a network, with IPAM pools. */
import type { FastifyInstance } from 'fastify';
import type { Versioned } from '../store/collection';
import type { Subnet } from '../store/model';
import type { CreateSubnetInput, SubnetPatch } from '../store/model-store';
import { paginate } from './pagination';
import { ifMatchOf, setEtag } from './preconditions';
import { createSubnetBody, idParams, listOf, networkFilterQuery, patchSubnetBody, problemResponses, writeProblemResponses } from './schemas';
import type { ApiDeps } from './server';

const view = (s: Versioned<Subnet>) => ({ ...s.value, revision: s.revision });

export function registerSubnetRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { model } = deps;

  app.get<{ Querystring: { limit: number; next?: string; network?: string } }>(
    '/v1/subnets',
    {
      schema: {
        summary: 'List subnets (?network= id or name filters)',
        tags: ['subnets'],
        querystring: networkFilterQuery,
        response: { 200: listOf('Subnet'), ...problemResponses },
      },
    },
    async (req) => {
      const filter = req.query.network === undefined ? {} : { network: req.query.network };
      return paginate((await model.listSubnets(filter)).map(view), req.query.limit, req.query.next);
    },
  );

  app.post<{ Body: CreateSubnetInput }>(
    '/v1/subnets',
    {
      schema: {
        summary: 'Create a subnet: gateway defaults to the first host address, pools to the rest',
        tags: ['subnets'],
        body: createSubnetBody,
        response: { 201: { $ref: 'Subnet#' }, ...writeProblemResponses },
      },
    },
    async (req, reply) => {
      const s = await model.createSubnet(req.body);
      setEtag(reply, s.revision);
      return reply.status(201).header('location', `/v1/subnets/${s.value.id}`).send(view(s));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/subnets/:id',
    { schema: { summary: 'Show one subnet', tags: ['subnets'], params: idParams, response: { 200: { $ref: 'Subnet#' }, ...problemResponses } } },
    async (req, reply) => {
      const s = await model.getSubnet(req.params.id);
      setEtag(reply, s.revision);
      return view(s);
    },
  );

  app.patch<{ Params: { id: string }; Body: SubnetPatch }>(
    '/v1/subnets/:id',
    {
      schema: {
        summary: 'Change DHCP, DNS servers or routes (If-Match: revision)',
        tags: ['subnets'],
        params: idParams,
        body: patchSubnetBody,
        response: { 200: { $ref: 'Subnet#' }, ...writeProblemResponses },
      },
    },
    async (req, reply) => {
      const s = await model.updateSubnet(req.params.id, req.body, ifMatchOf(req));
      setEtag(reply, s.revision);
      return view(s);
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/subnets/:id',
    {
      schema: {
        summary: 'Delete a subnet none of whose addresses is allocated (If-Match: revision)',
        tags: ['subnets'],
        params: idParams,
        response: { 204: { type: 'null' }, ...writeProblemResponses },
      },
    },
    async (req, reply) => {
      await model.deleteSubnet(req.params.id, ifMatchOf(req));
      return reply.status(204).send();
    },
  );
}
