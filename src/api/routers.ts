/**
 * /v1/routers (SPEC §3, §6, §11): distributed routers, their interfaces on
 * subnets and their static routes. Every `{id}` also takes the router's name
 * (unique in its tenant); a tenant token sees only its tenant's routers and
 * subnets, so a router can only be put on its own tenant's subnets.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Versioned } from '../store/collection';
import { DEFAULT_TENANT, type Route, type Router } from '../store/model';
import { ResourceNotFoundError } from '../store/model-errors';
import type { AddInterfaceInput, CreateRouterInput, RouterPatch } from '../store/router-store';
import { isVisible, requireTenant, scopeOf } from './auth';
import { byNameThenId, paginate } from './pagination';
import { ifMatchOf, setEtag } from './preconditions';
import { findSubnet } from './scope';
import { idParams, listOf, problemResponses, tenantFilterQuery, writeProblemResponses } from './schemas';
import { checkNetworkCidr } from './subnets';
import type { ApiDeps } from './server';

const name = { type: 'string', minLength: 1, maxLength: 63, pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]*$' } as const;
const address = { type: 'string', minLength: 2, maxLength: 64, description: 'IPv4 or IPv6 address' } as const;
const route = {
  type: 'object',
  properties: { destination: { type: 'string', minLength: 3, maxLength: 64, description: 'CIDR' }, nexthop: address },
  required: ['destination', 'nexthop'],
  additionalProperties: false,
} as const;
const routes = { type: 'array', items: route, maxItems: 256 } as const;

export const routerSchema = {
  $id: 'Router',
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    tenant: { type: 'string' },
    mac: { type: 'string', description: 'the MAC the router answers for its gateway addresses with (derived from the id)' },
    interfaces: {
      type: 'array',
      items: {
        type: 'object',
        properties: { subnet: { type: 'string' }, network: { type: 'string' }, cidr: { type: 'string' }, ip: { type: 'string', description: "the router's address on the subnet" } },
        required: ['subnet', 'network', 'cidr', 'ip'],
      },
    },
    routes: { type: 'array', items: route },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
    revision: { type: 'string', description: 'etcd mod revision of the record: send it as If-Match' },
  },
  required: ['id', 'name', 'tenant', 'mac', 'interfaces', 'routes'],
} as const;

const createRouterBody = {
  type: 'object',
  properties: { name, tenant: name, routes },
  required: ['name'],
  additionalProperties: false,
} as const;
const patchRouterBody = { type: 'object', properties: { name, routes }, additionalProperties: false, minProperties: 1 } as const;
const addInterfaceBody = {
  type: 'object',
  properties: { subnet: { type: 'string', minLength: 1, maxLength: 253 }, ip: { ...address, description: "the router's address on the subnet (default: the subnet's gateway)" } },
  required: ['subnet'],
  additionalProperties: false,
} as const;
const interfaceParams = {
  type: 'object',
  properties: { id: idParams.properties.id, subnet: idParams.properties.id },
  required: ['id', 'subnet'],
  additionalProperties: false,
} as const;

const view = (r: Versioned<Router>) => ({ ...r.value, revision: r.revision });

function checkRoutes(list: readonly Route[] | undefined): void {
  (list ?? []).forEach((r, i) => checkNetworkCidr(`body.routes[${i}].destination`, r.destination));
}

export function registerRouterRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const routers = deps.model.routers;
  app.addSchema(routerSchema);

  /** A router visible to the caller, by id or name; 404 otherwise. */
  async function findRouter(req: FastifyRequest, ref: string): Promise<Versioned<Router>> {
    const r = await routers.resolve(ref, scopeOf(req)).catch((err: unknown) => {
      if (err instanceof ResourceNotFoundError) throw new ResourceNotFoundError('router', ref);
      throw err;
    });
    if (!isVisible(req, r.value.tenant)) throw new ResourceNotFoundError('router', ref);
    return r;
  }

  app.get<{ Querystring: { limit: number; next?: string; tenant?: string } }>(
    '/v1/routers',
    {
      schema: { operationId: 'listRouters', summary: 'List routers, sorted by name (?tenant= filters)', tags: ['routers'], querystring: tenantFilterQuery, response: { 200: listOf('Router'), ...problemResponses } },
    },
    async (req) => {
      const scope = scopeOf(req);
      const tenant = req.query.tenant ?? scope;
      const items = (await routers.list(tenant === undefined ? {} : { tenant })).filter((r) => isVisible(req, r.value.tenant)).map(view);
      return paginate(items, req.query.limit, req.query.next, byNameThenId);
    },
  );

  app.post<{ Body: CreateRouterInput }>(
    '/v1/routers',
    {
      schema: {
        operationId: 'createRouter',
        summary: "Create a router (tenant: the token's by default); interfaces are added with POST /v1/routers/{id}/interfaces",
        tags: ['routers'],
        body: createRouterBody,
        response: { 201: { $ref: 'Router#' }, ...writeProblemResponses },
      },
    },
    async (req, reply) => {
      checkRoutes(req.body.routes);
      const tenant = req.body.tenant ?? scopeOf(req) ?? DEFAULT_TENANT;
      requireTenant(req, tenant);
      const r = await routers.create({ ...req.body, tenant });
      setEtag(reply, r.revision);
      return reply.status(201).header('location', `/v1/routers/${r.value.id}`).send(view(r));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/routers/:id',
    { schema: { operationId: 'getRouter', summary: 'Show one router (by id or name)', tags: ['routers'], params: idParams, response: { 200: { $ref: 'Router#' }, ...problemResponses } } },
    async (req, reply) => {
      const r = await findRouter(req, req.params.id);
      setEtag(reply, r.revision);
      return view(r);
    },
  );

  app.patch<{ Params: { id: string }; Body: RouterPatch }>(
    '/v1/routers/:id',
    {
      schema: {
        operationId: 'updateRouter',
        summary: 'Rename a router or replace its static routes (If-Match: revision; JSON or merge patch)',
        tags: ['routers'],
        params: idParams,
        body: { content: { 'application/json': { schema: patchRouterBody }, 'application/merge-patch+json': { schema: patchRouterBody } } },
        response: { 200: { $ref: 'Router#' }, ...writeProblemResponses },
      },
    },
    async (req, reply) => {
      checkRoutes(req.body.routes);
      const cur = await findRouter(req, req.params.id);
      const r = await routers.update(cur.value.id, req.body, ifMatchOf(req));
      setEtag(reply, r.revision);
      return view(r);
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/routers/:id',
    {
      schema: {
        operationId: 'deleteRouter',
        summary: 'Delete a router without interfaces (If-Match: revision)',
        tags: ['routers'],
        params: idParams,
        response: { 204: { description: 'deleted', type: 'null' }, ...writeProblemResponses },
      },
    },
    async (req, reply) => {
      const cur = await findRouter(req, req.params.id);
      await routers.delete(cur.value.id, ifMatchOf(req));
      return reply.status(204).send();
    },
  );

  app.post<{ Params: { id: string }; Body: AddInterfaceInput }>(
    '/v1/routers/:id/interfaces',
    {
      schema: {
        operationId: 'addRouterInterface',
        summary: "Put the router on a subnet of its tenant: the subnet's gateway (or `ip`) becomes the router's address there",
        tags: ['routers'],
        params: idParams,
        body: addInterfaceBody,
        response: { 201: { $ref: 'Router#' }, ...writeProblemResponses },
      },
    },
    async (req, reply) => {
      const cur = await findRouter(req, req.params.id);
      const subnet = await findSubnet(req, deps.model, req.body.subnet);
      const r = await routers.addInterface(cur.value.id, { ...req.body, subnet: subnet.value.id }, ifMatchOf(req));
      setEtag(reply, r.revision);
      return reply.status(201).send(view(r));
    },
  );

  app.delete<{ Params: { id: string; subnet: string } }>(
    '/v1/routers/:id/interfaces/:subnet',
    {
      schema: {
        operationId: 'removeRouterInterface',
        summary: 'Take the router off a subnet (refused while a static route goes through it)',
        tags: ['routers'],
        params: interfaceParams,
        response: { 200: { $ref: 'Router#' }, ...writeProblemResponses },
      },
    },
    async (req, reply) => {
      const cur = await findRouter(req, req.params.id);
      const r = await routers.removeInterface(cur.value.id, req.params.subnet, ifMatchOf(req));
      setEtag(reply, r.revision);
      return view(r);
    },
  );
}
