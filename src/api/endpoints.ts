/**
 * /v1/endpoints (SPEC §3, §6, §11): workload NICs. The intent (what the API
 * was told) is joined with the binding (where a host reported it attached):
 * `status` is `pending` until a host reports it. GET one is the drill-down.
 * Every `{id}` also takes the endpoint's name (unique in its tenant).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Versioned } from '../store/collection';
import type { Binding, Endpoint } from '../store/model';
import { ResourceConflictError } from '../store/model-errors';
import type { CreateEndpointInput, EndpointPatch, ModelStore } from '../store/model-store';
import { cidrContains } from '../store/ipam';
import { matchesLabels, parseLabelSelector } from './label-selector';
import { byNameThenId, paginate } from './pagination';
import { ifMatchOf, setEtag } from './preconditions';
import { checkEndpointNameFree, findEndpoint, findNetwork, visibleNetworks } from './scope';
import {
  createEndpointBody,
  endpointListQuery,
  idParams,
  listOf,
  mergePatchEndpointBody,
  patchEndpointBody,
  problemResponses,
  writeProblemResponses,
} from './schemas';
import type { ApiDeps } from './server';
import { resolveEndpointPolicyRefs } from './policy-refs';

function view(e: Versioned<Endpoint>, b: Binding | undefined) {
  return { ...e.value, revision: e.revision, status: b?.status ?? 'pending', host: b?.host ?? null, ofport: b?.ofport ?? null };
}

/** A JSON merge patch (RFC 7386) of an endpoint: null removes, labels merge key by key. */
interface EndpointMergePatch {
  readonly name?: string | null;
  readonly labels?: Readonly<Record<string, string | null>>;
  readonly securityGroups?: readonly string[] | null;
  readonly qosPolicy?: string | null;
}

function isMergePatch(req: FastifyRequest): boolean {
  return (req.headers['content-type'] ?? '').toLowerCase().startsWith('application/merge-patch+json');
}

/** Applies a merge patch to the current record: the result is an ordinary (replacing) patch. */
export function applyEndpointMergePatch(cur: Endpoint, patch: EndpointMergePatch): EndpointPatch {
  const out: { name?: string; labels?: Record<string, string>; securityGroups?: string[]; qosPolicy?: string | null } = {};
  if (patch.qosPolicy !== undefined) out.qosPolicy = patch.qosPolicy;
  if (patch.name !== undefined) out.name = patch.name ?? '';
  if (patch.securityGroups !== undefined) out.securityGroups = [...(patch.securityGroups ?? [])];
  if (patch.labels !== undefined) {
    const labels: Record<string, string> = { ...cur.labels };
    for (const [k, v] of Object.entries(patch.labels)) {
      if (v === null) delete labels[k];
      else labels[k] = v;
    }
    out.labels = labels;
  }
  return out;
}

export function registerEndpointRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { model } = deps;

  app.get<{ Querystring: { limit: number; next?: string; network?: string; labelSelector?: string } }>(
    '/v1/endpoints',
    {
      schema: {
        operationId: 'listEndpoints',
        summary: 'List endpoints with their status, sorted by name (?network= id or name, ?labelSelector=app=web)',
        tags: ['endpoints'],
        querystring: endpointListQuery,
        response: { 200: listOf('Endpoint'), ...problemResponses },
      },
    },
    async (req) => {
      const selector = req.query.labelSelector === undefined ? [] : parseLabelSelector(req.query.labelSelector);
      const visible = new Set((await visibleNetworks(req, model)).map((n) => n.value.id));
      const filter = req.query.network === undefined ? {} : { network: (await findNetwork(req, model, req.query.network)).value.id };
      const [endpoints, bindings] = await Promise.all([model.listEndpoints(filter), model.listBindings()]);
      const items = endpoints.filter((e) => visible.has(e.value.network) && matchesLabels(e.value.labels, selector));
      const page = paginate(items, req.query.limit, req.query.next, (e) => byNameThenId(e.value));
      return { ...page, items: page.items.map((e) => view(e, bindings.get(e.value.id))) };
    },
  );

  app.post<{ Body: CreateEndpointInput }>(
    '/v1/endpoints',
    {
      schema: {
        operationId: 'createEndpoint',
        summary: 'Create an endpoint: MAC generated and one address per IP family allocated unless given',
        tags: ['endpoints'],
        body: createEndpointBody,
        response: { 201: { $ref: 'Endpoint#' }, ...writeProblemResponses },
      },
    },
    async (req, reply) => {
      const network = await findNetwork(req, model, req.body.network);
      // An id that exists is "already exists", whatever else the request would run into (e.g. a full subnet).
      if (req.body.id !== undefined) {
        const existing = await model.getEndpoint(req.body.id).catch(() => undefined);
        if (existing) throw new ResourceConflictError('duplicate', `endpoint "${req.body.id}" already exists`, { endpoint: req.body.id });
      }
      await checkEndpointNameFree(model, network.value.tenant, req.body.name ?? '');
      const refs = await resolveEndpointPolicyRefs(req, deps, network.value.tenant, req.body);
      const e = await model.createEndpoint({ ...req.body, ...refs, network: network.value.id });
      setEtag(reply, e.revision);
      return reply.status(201).header('location', `/v1/endpoints/${encodeURIComponent(e.value.id)}`).send(view(e, undefined));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/endpoints/:id',
    {
      schema: {
        operationId: 'getEndpoint',
        summary: 'Drill-down (by id or name): the endpoint, where it is attached, its status history and its flows',
        tags: ['endpoints'],
        params: idParams,
        response: { 200: { $ref: 'EndpointDetail#' }, ...problemResponses },
      },
    },
    async (req, reply) => {
      const e = await findEndpoint(req, model, req.params.id);
      setEtag(reply, e.revision);
      const b = e.binding;
      const flows = deps.flowsOf ? await deps.flowsOf(e.value.id) : undefined;
      const routers = await routersOfEndpoint(model, e.value);
      return {
        ...view(e, b),
        ifaceName: b?.ifaceName ?? null,
        statusHistory: b?.history ?? [],
        ...(routers.length ? { routers } : {}),
        ...(flows !== undefined ? { flows } : {}),
        ...(deps.policyOf ? { policy: await deps.policyOf(e.value.id) } : {}),
      };
    },
  );

  app.patch<{ Params: { id: string }; Body: EndpointPatch | EndpointMergePatch }>(
    '/v1/endpoints/:id',
    {
      schema: {
        operationId: 'updateEndpoint',
        summary: 'Change name, labels or security groups (If-Match: revision). application/json replaces the fields given; application/merge-patch+json merges labels, null removes',
        tags: ['endpoints'],
        params: idParams,
        body: { content: { 'application/json': { schema: patchEndpointBody }, 'application/merge-patch+json': { schema: mergePatchEndpointBody } } },
        response: { 200: { $ref: 'Endpoint#' }, ...writeProblemResponses },
      },
    },
    async (req, reply) => {
      const cur = await findEndpoint(req, model, req.params.id);
      const patch = isMergePatch(req) ? applyEndpointMergePatch(cur.value, req.body as EndpointMergePatch) : (req.body as EndpointPatch);
      if (patch.name !== undefined && patch.name !== cur.value.name) {
        const network = await findNetwork(req, model, cur.value.network);
        await checkEndpointNameFree(model, network.value.tenant, patch.name, cur.value.id);
      }
      // A merge is computed from the record just read: it must apply to exactly that revision.
      const ifMatch = ifMatchOf(req) ?? (isMergePatch(req) ? cur.revision : undefined);
      const tenant = (await findNetwork(req, model, cur.value.network)).value.tenant;
      const e = await model.updateEndpoint(cur.value.id, { ...patch, ...(await resolveEndpointPolicyRefs(req, deps, tenant, patch)) }, ifMatch);
      setEtag(reply, e.revision);
      return view(e, cur.binding);
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/endpoints/:id',
    {
      schema: {
        operationId: 'deleteEndpoint',
        summary: 'Delete an endpoint; frees its addresses and MAC (If-Match: revision)',
        tags: ['endpoints'],
        params: idParams,
        response: { 204: { description: 'deleted', type: 'null' }, ...writeProblemResponses },
      },
    },
    async (req, reply) => {
      const cur = await findEndpoint(req, model, req.params.id);
      await model.deleteEndpoint(cur.value.id, ifMatchOf(req));
      return reply.status(204).send();
    },
  );
}

/** Routing, for the drill-down: the routers on the endpoint's subnets, with the gateway address each has there. */
async function routersOfEndpoint(model: ModelStore, endpoint: Endpoint): Promise<{ id: string; name: string; mac: string; gateway: string; subnet: string }[]> {
  const out: { id: string; name: string; mac: string; gateway: string; subnet: string }[] = [];
  for (const s of await model.listSubnets({ network: endpoint.network })) {
    if (!endpoint.ips.some((ip) => cidrContains(s.value.cidr, ip))) continue;
    const r = await model.routers.ofSubnet(s.value.id);
    const leg = r?.value.interfaces.find((i) => i.subnet === s.value.id);
    if (r && leg) out.push({ id: r.value.id, name: r.value.name, mac: r.value.mac, gateway: leg.ip, subnet: s.value.id });
  }
  return out;
}
