/**
 * /v1/endpoints (SPEC §3, §6, §11): workload NICs. The intent (what the API
 * was told) is joined with the binding (where a host reported it attached):
 * `status` is `pending` until a host reports it. GET one is the drill-down.
 */
import type { FastifyInstance } from 'fastify';
import type { Versioned } from '../store/collection';
import type { Binding, Endpoint } from '../store/model';
import type { CreateEndpointInput, EndpointPatch } from '../store/model-store';
import { paginate } from './pagination';
import { ifMatchOf, setEtag } from './preconditions';
import { createEndpointBody, idParams, listOf, networkFilterQuery, patchEndpointBody, problemResponses, writeProblemResponses } from './schemas';
import type { ApiDeps } from './server';

function view(e: Versioned<Endpoint>, b: Binding | undefined) {
  return { ...e.value, revision: e.revision, status: b?.status ?? 'pending', host: b?.host ?? null, ofport: b?.ofport ?? null };
}

export function registerEndpointRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { model } = deps;

  app.get<{ Querystring: { limit: number; next?: string; network?: string } }>(
    '/v1/endpoints',
    {
      schema: {
        summary: 'List endpoints with their status (?network= id or name filters)',
        tags: ['endpoints'],
        querystring: networkFilterQuery,
        response: { 200: listOf('Endpoint'), ...problemResponses },
      },
    },
    async (req) => {
      const filter = req.query.network === undefined ? {} : { network: req.query.network };
      const [endpoints, bindings] = await Promise.all([model.listEndpoints(filter), model.listBindings()]);
      const page = paginate(endpoints.map((e) => ({ id: e.value.id, e })), req.query.limit, req.query.next);
      return { ...page, items: page.items.map(({ e }) => view(e, bindings.get(e.value.id))) };
    },
  );

  app.post<{ Body: CreateEndpointInput }>(
    '/v1/endpoints',
    {
      schema: {
        summary: 'Create an endpoint: MAC generated and one address per subnet allocated unless given',
        tags: ['endpoints'],
        body: createEndpointBody,
        response: { 201: { $ref: 'Endpoint#' }, ...writeProblemResponses },
      },
    },
    async (req, reply) => {
      const e = await model.createEndpoint(req.body);
      setEtag(reply, e.revision);
      return reply.status(201).header('location', `/v1/endpoints/${encodeURIComponent(e.value.id)}`).send(view(e, undefined));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/endpoints/:id',
    {
      schema: {
        summary: 'Drill-down: the endpoint, where it is attached, its status history and its flows',
        tags: ['endpoints'],
        params: idParams,
        response: { 200: { $ref: 'EndpointDetail#' }, ...problemResponses },
      },
    },
    async (req, reply) => {
      const e = await model.getEndpoint(req.params.id);
      setEtag(reply, e.revision);
      const b = e.binding;
      const flows = deps.flowsOf ? await deps.flowsOf(e.value.id) : undefined;
      return {
        ...view(e, b),
        ifaceName: b?.ifaceName ?? null,
        statusHistory: b?.history ?? [],
        ...(flows !== undefined ? { flows } : {}),
      };
    },
  );

  app.patch<{ Params: { id: string }; Body: EndpointPatch }>(
    '/v1/endpoints/:id',
    {
      schema: {
        summary: 'Change name, labels or security groups (If-Match: revision)',
        tags: ['endpoints'],
        params: idParams,
        body: patchEndpointBody,
        response: { 200: { $ref: 'Endpoint#' }, ...writeProblemResponses },
      },
    },
    async (req, reply) => {
      const e = await model.updateEndpoint(req.params.id, req.body, ifMatchOf(req));
      setEtag(reply, e.revision);
      return view(e, (await model.getEndpoint(e.value.id).catch(() => undefined))?.binding);
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/endpoints/:id',
    {
      schema: {
        summary: 'Delete an endpoint; frees its addresses and MAC (If-Match: revision)',
        tags: ['endpoints'],
        params: idParams,
        response: { 204: { type: 'null' }, ...writeProblemResponses },
      },
    },
    async (req, reply) => {
      await model.deleteEndpoint(req.params.id, ifMatchOf(req));
      return reply.status(204).send();
    },
  );
}
