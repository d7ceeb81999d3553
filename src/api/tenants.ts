/**
 * /v1/tenants (SPEC §3, §6): who owns networks. The "default" tenant always
 * exists. A tenant token sees its own tenant only; creating, renaming and
 * deleting tenants needs an admin token.
 */
import type { FastifyInstance } from 'fastify';
import type { Versioned } from '../store/collection';
import type { Tenant } from '../store/model';
import { ResourceNotFoundError } from '../store/model-errors';
import type { CreateTenantInput, TenantPatch } from '../store/model-store';
import { isVisible, requireAdmin } from './auth';
import { byNameThenId, paginate } from './pagination';
import { ifMatchOf, setEtag } from './preconditions';
import { createTenantBody, idParams, listOf, listQuery, patchTenantBody, problemResponses, writeProblemResponses } from './schemas';
import type { ApiDeps } from './server';

const view = (t: Versioned<Tenant>) => ({ ...t.value, revision: t.revision });

export function registerTenantRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { model } = deps;

  app.get<{ Querystring: { limit: number; next?: string } }>(
    '/v1/tenants',
    {
      schema: { operationId: 'listTenants', summary: 'List tenants, sorted by name', tags: ['tenants'], querystring: listQuery, response: { 200: listOf('Tenant'), ...problemResponses } },
    },
    async (req) => {
      const items = (await model.listTenants()).filter((t) => isVisible(req, t.value.id)).map(view);
      return paginate(items, req.query.limit, req.query.next, byNameThenId);
    },
  );

  app.post<{ Body: CreateTenantInput }>(
    '/v1/tenants',
    {
      schema: {
        operationId: 'createTenant',
        summary: 'Create a tenant (id defaults to the name; admin token)',
        tags: ['tenants'],
        body: createTenantBody,
        response: { 201: { $ref: 'Tenant#' }, ...writeProblemResponses },
      },
    },
    async (req, reply) => {
      requireAdmin(req, 'creating a tenant');
      const t = await model.createTenant(req.body);
      setEtag(reply, t.revision);
      return reply.status(201).header('location', `/v1/tenants/${encodeURIComponent(t.value.id)}`).send(view(t));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/tenants/:id',
    {
      schema: { operationId: 'getTenant', summary: 'Show one tenant', tags: ['tenants'], params: idParams, response: { 200: { $ref: 'Tenant#' }, ...problemResponses } },
    },
    async (req, reply) => {
      if (!isVisible(req, req.params.id)) throw new ResourceNotFoundError('tenant', req.params.id);
      const t = await model.getTenant(req.params.id);
      setEtag(reply, t.revision);
      return view(t);
    },
  );

  app.patch<{ Params: { id: string }; Body: TenantPatch }>(
    '/v1/tenants/:id',
    {
      schema: {
        operationId: 'updateTenant',
        summary: 'Rename a tenant (If-Match: revision; admin token)',
        tags: ['tenants'],
        params: idParams,
        body: { content: { 'application/json': { schema: patchTenantBody }, 'application/merge-patch+json': { schema: patchTenantBody } } },
        response: { 200: { $ref: 'Tenant#' }, ...writeProblemResponses },
      },
    },
    async (req, reply) => {
      if (!isVisible(req, req.params.id)) throw new ResourceNotFoundError('tenant', req.params.id);
      requireAdmin(req, 'renaming a tenant');
      const t = await model.updateTenant(req.params.id, req.body, ifMatchOf(req));
      setEtag(reply, t.revision);
      return view(t);
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/tenants/:id',
    {
      schema: {
        operationId: 'deleteTenant',
        summary: 'Delete a tenant that owns no network (If-Match: revision; admin token)',
        tags: ['tenants'],
        params: idParams,
        response: { 204: { description: 'deleted', type: 'null' }, ...writeProblemResponses },
      },
    },
    async (req, reply) => {
      if (!isVisible(req, req.params.id)) throw new ResourceNotFoundError('tenant', req.params.id);
      requireAdmin(req, 'deleting a tenant');
      await model.deleteTenant(req.params.id, ifMatchOf(req));
      return reply.status(204).send();
    },
  );
}
