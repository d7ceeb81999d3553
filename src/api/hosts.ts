/** /v1/hosts: read-only view of learned hosts, plus decommission (SPEC §2, §6). */
import type { FastifyInstance } from 'fastify';
import { paginate } from './pagination';
import { NotFoundError } from './problems';
import { idParams, listOf, listQuery, problemResponses } from './schemas';
import type { ApiDeps } from './server';

export function registerHostRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get<{ Querystring: { limit: number; next?: string } }>(
    '/v1/hosts',
    { schema: { summary: 'List hosts', querystring: listQuery, response: { 200: listOf('Host'), ...problemResponses } } },
    async (req) => {
      const hosts = (await deps.hosts.list()).map((h) => ({ ...h.value, revision: h.revision }));
      return paginate(hosts, req.query.limit, req.query.next);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/hosts/:id',
    { schema: { summary: 'Show one host', params: idParams, response: { 200: { $ref: 'Host#' }, ...problemResponses } } },
    async (req, reply) => {
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
        summary: 'Decommission a host: remove it from the model and its tunnels from every other host',
        params: idParams,
        response: { 204: { type: 'null' }, ...problemResponses },
      },
    },
    async (req, reply) => {
      if (!(await deps.hosts.decommission(req.params.id))) throw new NotFoundError('host', req.params.id);
      return reply.status(204).send();
    },
  );
}
