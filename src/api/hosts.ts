/** /v1/hosts: read-only view of learned hosts, plus decommission (SPEC §2, §6). Admin tokens only. */
import type { FastifyInstance } from 'fastify';
import { requireAdmin } from './auth';
import { byId, paginate } from './pagination';
import { NotFoundError } from './problems';
import { idParams, listOf, listQuery, problemResponses } from './schemas';
import type { ApiDeps } from './server';

export function registerHostRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get<{ Querystring: { limit: number; next?: string } }>(
    '/v1/hosts',
    {
      schema: { operationId: 'listHosts', summary: 'List hosts (admin token)', tags: ['hosts'], querystring: listQuery, response: { 200: listOf('Host'), ...problemResponses } },
    },
    async (req) => {
      requireAdmin(req, 'listing hosts');
      const hosts = (await deps.hosts.list()).map((h) => ({ ...h.value, revision: h.revision }));
      return paginate(hosts, req.query.limit, req.query.next, byId);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/hosts/:id',
    { schema: { operationId: 'getHost', summary: 'Show one host (admin token)', tags: ['hosts'], params: idParams, response: { 200: { $ref: 'Host#' }, ...problemResponses } } },
    async (req, reply) => {
      requireAdmin(req, 'reading hosts');
      const host = await deps.hosts.get(req.params.id);
      if (!host) throw new NotFoundError('host', req.params.id);
      void reply.header('etag', `"${host.revision}"`);
      return { ...host.value, revision: host.revision };
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/hosts/:id',
    {
      schema: {
        operationId: 'deleteHost',
        summary: 'Decommission a host: remove it from the model and its tunnels from every other host (admin token)',
        tags: ['hosts'],
        params: idParams,
        response: { 204: { description: 'decommissioned', type: 'null' }, ...problemResponses, 409: problemResponses[400] },
      },
    },
    async (req, reply) => {
      requireAdmin(req, 'decommissioning a host');
      if (!(await deps.hosts.decommission(req.params.id))) throw new NotFoundError('host', req.params.id);
      return reply.status(204).send();
    },
  );
}
