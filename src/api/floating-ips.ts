/**
 * /v1/floating-ips (SPEC §3, §6): an external network's address for one
 * endpoint's fixed IPv4 address, 1:1 (DNAT in, SNAT out, on the endpoint's
 * host). PATCH (re)assigns it, `"endpoint": null` releases it; a tenant token
 * sees only its tenant's floating IPs and assigns them only to its endpoints.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Versioned } from '../store/collection';
import type { CreateFloatingIpInput, FloatingIpPatch } from '../store/floating-ip-store';
import { DEFAULT_TENANT, type FloatingIp } from '../store/model';
import { ResourceNotFoundError } from '../store/model-errors';
import { isVisible, requireTenant, scopeOf } from './auth';
import { paginate } from './pagination';
import { ifMatchOf, setEtag } from './preconditions';
import { findEndpoint } from './scope';
import { idParams, listOf, problemResponses, tenantFilterQuery, writeProblemResponses } from './schemas';
import type { ApiDeps } from './server';

const ref = { type: 'string', minLength: 1, maxLength: 253 } as const;
const address = { type: 'string', minLength: 7, maxLength: 15, description: 'IPv4 address' } as const;

export const floatingIpSchema = {
  $id: 'FloatingIp',
  type: 'object',
  properties: {
    id: { type: 'string' },
    tenant: { type: 'string' },
    network: { type: 'string', description: 'the external network' },
    subnet: { type: 'string' },
    address: { type: 'string' },
    endpoint: { type: ['string', 'null'] },
    fixedIp: { type: ['string', 'null'], description: "the endpoint's address the floating IP maps to" },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
    revision: { type: 'string' },
  },
  required: ['id', 'tenant', 'network', 'subnet', 'address', 'endpoint', 'fixedIp'],
} as const;

const createBody = {
  type: 'object',
  properties: { network: ref, tenant: ref, address, endpoint: { ...ref, type: ['string', 'null'] }, fixedIp: address },
  required: ['network'],
  additionalProperties: false,
} as const;
const patchBody = {
  type: 'object',
  properties: { endpoint: { ...ref, type: ['string', 'null'], description: 'endpoint id or name; null releases the floating IP' }, fixedIp: address },
  required: ['endpoint'],
  additionalProperties: false,
} as const;

const view = (f: Versioned<FloatingIp>) => ({ ...f.value, revision: f.revision });

export function registerFloatingIpRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const store = deps.model.floatingIps;
  app.addSchema(floatingIpSchema);

  async function findFloatingIp(req: FastifyRequest, id: string): Promise<Versioned<FloatingIp>> {
    const f = await store.get(id);
    if (!isVisible(req, f.value.tenant)) throw new ResourceNotFoundError('floating IP', id);
    return f;
  }
  /** An endpoint reference (id or name) as the caller sees it, to its id. */
  async function endpointId(req: FastifyRequest, refText: string | null | undefined): Promise<string | null | undefined> {
    if (refText === undefined || refText === null) return refText;
    return (await findEndpoint(req, deps.model, refText)).value.id;
  }

  app.get<{ Querystring: { limit: number; next?: string; tenant?: string } }>(
    '/v1/floating-ips',
    { schema: { operationId: 'listFloatingIps', summary: 'List floating IPs, sorted by address', tags: ['floating-ips'], querystring: tenantFilterQuery, response: { 200: listOf('FloatingIp'), ...problemResponses } } },
    async (req) => {
      const tenant = req.query.tenant ?? scopeOf(req);
      const items = (await store.list(tenant === undefined ? {} : { tenant })).filter((f) => isVisible(req, f.value.tenant)).map(view);
      return paginate(items, req.query.limit, req.query.next, (f) => `${f.address}/${f.id}`);
    },
  );

  app.post<{ Body: CreateFloatingIpInput }>(
    '/v1/floating-ips',
    {
      schema: {
        operationId: 'createFloatingIp',
        summary: 'Take an address of an external network (given or the first free), optionally for an endpoint',
        tags: ['floating-ips'],
        body: createBody,
        response: { 201: { $ref: 'FloatingIp#' }, ...writeProblemResponses },
      },
    },
    async (req, reply) => {
      const tenant = req.body.tenant ?? scopeOf(req) ?? DEFAULT_TENANT;
      requireTenant(req, tenant);
      const endpoint = await endpointId(req, req.body.endpoint);
      const f = await store.create({ ...req.body, tenant, ...(endpoint !== undefined ? { endpoint } : {}) });
      setEtag(reply, f.revision);
      return reply.status(201).header('location', `/v1/floating-ips/${f.value.id}`).send(view(f));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/floating-ips/:id',
    { schema: { operationId: 'getFloatingIp', summary: 'Show one floating IP', tags: ['floating-ips'], params: idParams, response: { 200: { $ref: 'FloatingIp#' }, ...problemResponses } } },
    async (req, reply) => {
      const f = await findFloatingIp(req, req.params.id);
      setEtag(reply, f.revision);
      return view(f);
    },
  );

  app.patch<{ Params: { id: string }; Body: FloatingIpPatch }>(
    '/v1/floating-ips/:id',
    {
      schema: {
        operationId: 'updateFloatingIp',
        summary: 'Assign the floating IP to an endpoint, move it, or release it ("endpoint": null) (If-Match: revision)',
        tags: ['floating-ips'],
        params: idParams,
        body: { content: { 'application/json': { schema: patchBody }, 'application/merge-patch+json': { schema: patchBody } } },
        response: { 200: { $ref: 'FloatingIp#' }, ...writeProblemResponses },
      },
    },
    async (req, reply) => {
      const cur = await findFloatingIp(req, req.params.id);
      const endpoint = (await endpointId(req, req.body.endpoint)) ?? null;
      const f = await store.update(cur.value.id, { ...req.body, endpoint }, ifMatchOf(req));
      setEtag(reply, f.revision);
      return view(f);
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/floating-ips/:id',
    { schema: { operationId: 'deleteFloatingIp', summary: 'Give the address back (If-Match: revision)', tags: ['floating-ips'], params: idParams, response: { 204: { description: 'deleted', type: 'null' }, ...writeProblemResponses } } },
    async (req, reply) => {
      const cur = await findFloatingIp(req, req.params.id);
      await store.delete(cur.value.id, ifMatchOf(req));
      return reply.status(204).send();
    },
  );
}
