/** /v1/tenants (SPEC §3, §6): who owns networks. The "default" tenant always exists. */
import type { FastifyInstance } from 'fastify';
import type { Versioned } from '../store/collection';
import type { Tenant } from '../store/model';
import type { CreateTenantInput, TenantPatch } from '../store/model-store';
import { paginate } from './pagination';
import { ifMatchOf, setEtag } from './preconditions';
import { createTenantBody, idParams, listOf, listQuery, patchTenantBody, problemResponses, writeProblemResponses } from './schemas';
import type { ApiDeps } from './server';

const view = (t: Versioned<Tenant>) => ({ ...t.value, revision: t.revision });

export function registerTenantRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { model } = deps;

  app.get<{ Querystring: { limit: number; next?: string } }>(
    '/v1/tenants',
    { schema: { summary: 'List tenants', tags: ['tenants'], querystring: listQuery, response: { 200: listOf('Tenant'), ...problemResponses } } },
    async (req) => paginate((await model.listTenants()).map(view), req.query.limit, req.query.next),
  );

  app.post<{ Body: CreateTenantInput }>(
    '/v1/tenants',
    { schema: { summary: 'Create a tenant (id defaults to the name)', tags: ['tenants'], body: createTenantBody, response: { 201: { $ref: 'Tenant#' }, ...writeProblemResponses } } },
    async (req, reply) => {
      const t = await model.createTenant(req.body);
      setEtag(reply, t.revision);
      return reply.status(201).header('location', `/v1/tenants/${encodeURIComponent(t.value.id)}`).send(view(t));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/tenants/:id',
    { schema: { summary: 'Show one tenant', tags: ['tenants'], params: idParams, response: { 200: { $ref: 'Tenant#' }, ...problemResponses } } },
    async (req, reply) => {
      const t = await model.getTenant(req.params.id);
      setEtag(reply, t.revision);
      return view(t);
    },
  );

  app.patch<{ Params: { id: string }; Body: TenantPatch }>(
    '/v1/tenants/:id',
    { schema: { summary: 'Rename a tenant (If-Match: revision)', tags: ['tenants'], params: idParams, body: patchTenantBody, response: { 200: { $ref: 'Tenant#' }, ...writeProblemResponses } } },
    async (req, reply) => {
      const t = await model.updateTenant(req.params.id, req.body, ifMatchOf(req));
      setEtag(reply, t.revision);
      return view(t);
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/tenants/:id',
    { schema: { summary: 'Delete a tenant that owns no network (If-Match: revision)', tags: ['tenants'], params: idParams, response: { 204: { type: 'null' }, ...writeProblemResponses } } },
    async (req, reply) => {
      await model.deleteTenant(req.params.id, ifMatchOf(req));
      return reply.status(204).send();
    },
  );
}
