/** /v1/subnets (SPEC §3, §6, §11): address ranges of a network, with IPAM pools. */
import type { FastifyInstance } from 'fastify';
import type { Versioned } from '../store/collection';
import { parseCidr, parseIp } from '../store/ipam';
import type { Subnet } from '../store/model';
import type { CreateSubnetInput, SubnetPatch } from '../store/model-store';
import { paginate } from './pagination';
import { ifMatchOf, setEtag } from './preconditions';
import { FieldError } from './problems';
import { findNetwork, findSubnet, visibleNetworks } from './scope';
import { createSubnetBody, idParams, listOf, networkFilterQuery, patchSubnetBody, problemResponses, writeProblemResponses } from './schemas';
import type { ApiDeps } from './server';

const view = (s: Versioned<Subnet>) => ({ ...s.value, revision: s.revision });

/**
 * A CIDR must name a network: `10.1.0.5/24` is refused (it used to become
 * 10.1.0.0/24 silently), with the CIDR the user probably meant.
 */
export function checkNetworkCidr(field: string, text: string): void {
  let parsed;
  try {
    parsed = parseCidr(text);
  } catch (err) {
    throw new FieldError(field, (err as Error).message);
  }
  const addr = parseIp(text.trim().slice(0, text.trim().indexOf('/')));
  if (addr.value !== parsed.network) throw new FieldError(field, `"${text}" has host bits set: did you mean ${parsed.cidr}?`);
}

export function registerSubnetRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { model } = deps;

  app.get<{ Querystring: { limit: number; next?: string; network?: string } }>(
    '/v1/subnets',
    {
      schema: {
        operationId: 'listSubnets',
        summary: 'List subnets, sorted by network name then CIDR (?network= id or name filters)',
        tags: ['subnets'],
        querystring: networkFilterQuery,
        response: { 200: listOf('Subnet'), ...problemResponses },
      },
    },
    async (req) => {
      const networks = new Map((await visibleNetworks(req, model)).map((n) => [n.value.id, n.value.name]));
      const subnets =
        req.query.network === undefined
          ? (await model.listSubnets()).filter((s) => networks.has(s.value.network))
          : await model.listSubnets({ network: (await findNetwork(req, model, req.query.network)).value.id });
      const key = (s: ReturnType<typeof view>): string => `${networks.get(s.network) ?? ''}/${s.ipVersion}/${s.cidr}/${s.id}`;
      return paginate(subnets.map(view), req.query.limit, req.query.next, key);
    },
  );

  app.post<{ Body: CreateSubnetInput }>(
    '/v1/subnets',
    {
      schema: {
        operationId: 'createSubnet',
        summary: 'Create a subnet: gateway defaults to the first host address, pools to the rest',
        tags: ['subnets'],
        body: createSubnetBody,
        response: { 201: { $ref: 'Subnet#' }, ...writeProblemResponses },
      },
    },
    async (req, reply) => {
      checkNetworkCidr('body.cidr', req.body.cidr);
      (req.body.routes ?? []).forEach((r, i) => checkNetworkCidr(`body.routes[${i}].destination`, r.destination));
      const network = await findNetwork(req, model, req.body.network);
      const s = await model.createSubnet({ ...req.body, network: network.value.id });
      setEtag(reply, s.revision);
      return reply.status(201).header('location', `/v1/subnets/${s.value.id}`).send(view(s));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/subnets/:id',
    {
      schema: { operationId: 'getSubnet', summary: 'Show one subnet', tags: ['subnets'], params: idParams, response: { 200: { $ref: 'Subnet#' }, ...problemResponses } },
    },
    async (req, reply) => {
      const s = await findSubnet(req, model, req.params.id);
      setEtag(reply, s.revision);
      return view(s);
    },
  );

  app.patch<{ Params: { id: string }; Body: SubnetPatch }>(
    '/v1/subnets/:id',
    {
      schema: {
        operationId: 'updateSubnet',
        summary: 'Change DHCP, DNS servers or routes (If-Match: revision; JSON or merge patch)',
        tags: ['subnets'],
        params: idParams,
        body: { content: { 'application/json': { schema: patchSubnetBody }, 'application/merge-patch+json': { schema: patchSubnetBody } } },
        response: { 200: { $ref: 'Subnet#' }, ...writeProblemResponses },
      },
    },
    async (req, reply) => {
      (req.body.routes ?? []).forEach((r, i) => checkNetworkCidr(`body.routes[${i}].destination`, r.destination));
      await findSubnet(req, model, req.params.id);
      const s = await model.updateSubnet(req.params.id, req.body, ifMatchOf(req));
      setEtag(reply, s.revision);
      return view(s);
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/subnets/:id',
    {
      schema: {
        operationId: 'deleteSubnet',
        summary: 'Delete a subnet none of whose addresses is allocated (If-Match: revision)',
        tags: ['subnets'],
        params: idParams,
        response: { 204: { description: 'deleted', type: 'null' }, ...writeProblemResponses },
      },
    },
    async (req, reply) => {
      await findSubnet(req, model, req.params.id);
      await model.deleteSubnet(req.params.id, ifMatchOf(req));
      return reply.status(204).send();
    },
  );
}
