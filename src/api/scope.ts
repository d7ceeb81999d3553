/**
 * Resolving what a request names, within what its token may see (SPEC §6):
 * ids and names alike, another tenant's resources answering 404 as if they did
 * not exist. Names are unique per tenant, each by an etcd key the create and
 * rename transactions claim (endpoints: store/endpoint-names.ts); the check
 * here is the early, friendly refusal, the transaction the one that holds.
 */
import type { FastifyRequest } from 'fastify';
import type { Versioned } from '../store/collection';
import { DEFAULT_TENANT, type Network, type Subnet } from '../store/model';
import type { EndpointDetail, ModelStore } from '../store/model-store';
import { ResourceConflictError, ResourceNotFoundError } from '../store/model-errors';
import { isVisible, scopeOf } from './auth';

/** A network by id or name, visible to the caller; 404 otherwise. */
export async function findNetwork(req: FastifyRequest, model: ModelStore, ref: string): Promise<Versioned<Network>> {
  const scope = scopeOf(req);
  const n = await model.resolveNetwork(ref, scope).catch((err: unknown) => {
    if (err instanceof ResourceNotFoundError) throw new ResourceNotFoundError('network', ref);
    throw err;
  });
  if (!isVisible(req, n.value.tenant)) throw new ResourceNotFoundError('network', ref);
  return n;
}

/** Every network the caller may see. */
export async function visibleNetworks(req: FastifyRequest, model: ModelStore): Promise<Versioned<Network>[]> {
  const scope = scopeOf(req);
  return model.listNetworks(scope === undefined ? {} : { tenant: scope });
}

/** A subnet by id whose network the caller may see. */
export async function findSubnet(req: FastifyRequest, model: ModelStore, id: string): Promise<Versioned<Subnet>> {
  const s = await model.getSubnet(id);
  if (scopeOf(req) !== undefined) {
    const n = await model.resolveNetwork(s.value.network).catch(() => undefined);
    if (!n || !isVisible(req, n.value.tenant)) throw new ResourceNotFoundError('subnet', id);
  }
  return s;
}

/**
 * An endpoint by id, else by name within the caller's view (several endpoints
 * of that name in different tenants → 409 ambiguous, for an admin). Reads the
 * endpoint, its network and one name key per tenant in view, never every
 * network or endpoint.
 */
export async function findEndpoint(req: FastifyRequest, model: ModelStore, ref: string): Promise<EndpointDetail> {
  const byId = await model.getEndpoint(ref).catch((err: unknown) => {
    if (err instanceof ResourceNotFoundError) return undefined;
    throw err;
  });
  if (byId && (await isEndpointVisible(req, model, byId))) return byId;
  const scope = scopeOf(req);
  const tenants = scope !== undefined ? [scope] : [...new Set([DEFAULT_TENANT, ...(await model.listTenants()).map((t) => t.value.id)])];
  const found = await Promise.all((await model.endpoints.names.named(ref, tenants)).map(async (n) => ({ ...n, endpoint: await model.getEndpoint(n.id).catch(() => undefined) })));
  const named = found.filter((n) => n.endpoint !== undefined);
  if (named.length === 1) return named[0]!.endpoint!;
  if (named.length > 1) {
    const tenants = named.map((n) => n.tenant);
    throw new ResourceConflictError('ambiguous', `endpoint name "${ref}" is used in tenants ${tenants.join(', ')}: use the endpoint id`, { tenants });
  }
  throw new ResourceNotFoundError('endpoint', ref);
}

async function isEndpointVisible(req: FastifyRequest, model: ModelStore, e: EndpointDetail): Promise<boolean> {
  if (scopeOf(req) === undefined) return true;
  const n = await model.resolveNetwork(e.value.network).catch(() => undefined);
  return n !== undefined && isVisible(req, n.value.tenant);
}

/** Refuses a second endpoint of the same name in one tenant (409 duplicate). */
export async function checkEndpointNameFree(model: ModelStore, tenant: string, name: string, self?: string): Promise<void> {
  await model.endpoints.names.checkFree(tenant, name, self);
}
