/**
 * The REST calls (SPEC §6, §11) the integrations make, as functions over
 * plexusctl's {@link ApiClient} (base URL check, bearer token or token file,
 * HTTPS with a private CA and client certificate, problem+json errors as
 * {@link ClientError}): networks, subnets and endpoints, and /v1/ready. A 404 is
 * `undefined` from the `find*` functions; deletes of something already gone
 * succeed (idempotent DEL, SPEC §7).
 */
import { ApiClient, ClientError, EXIT, type ClientOptions } from '../cli/client';
import type { Endpoint, EndpointStatus, Network, Subnet } from '../store/model';

export { ApiClient, ClientError, EXIT, type ClientOptions };

/** An endpoint as the API returns it: the intent joined with where it is bound. */
export interface EndpointView extends Endpoint {
  readonly status: EndpointStatus;
  readonly host: string | null;
  readonly ofport: number | null;
}

export interface CreateEndpointRequest {
  readonly network: string;
  readonly id?: string;
  readonly name?: string;
  readonly mac?: string;
  readonly ips?: readonly string[];
  readonly kind?: 'vm' | 'container' | 'other';
  readonly securityGroups?: readonly string[];
  readonly labels?: Readonly<Record<string, string>>;
  readonly qosPolicy?: string;
}

export interface CreateNetworkRequest {
  readonly name: string;
  /** Client-chosen id (plexus-docker: `docker-<Docker network id>`). */
  readonly id?: string;
  readonly mtu?: number;
}

export interface EndpointPatch {
  readonly name?: string;
  readonly labels?: Record<string, string>;
  readonly securityGroups?: readonly string[];
}

/** Plexus answered, and the answer was 404. */
export function isNotFound(err: unknown): boolean {
  return err instanceof ClientError && err.status === 404;
}

/** No answer came: refused, timed out, TLS failed (CNI code 11, SPEC §7). */
export function isUnreachable(err: unknown): boolean {
  return err instanceof ClientError && err.isUnreachable;
}

async function orUndefined<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

const seg = encodeURIComponent;

export function getNetwork(api: ApiClient, idOrName: string): Promise<Network> {
  return api.call('GET', `v1/networks/${seg(idOrName)}`);
}
/** The network, or undefined when Plexus has none by that id or name. */
export function findNetwork(api: ApiClient, idOrName: string): Promise<Network | undefined> {
  return orUndefined(getNetwork(api, idOrName));
}
export function listNetworks(api: ApiClient): Promise<Network[]> {
  return api.listAll('v1/networks');
}
export function createNetwork(api: ApiClient, body: CreateNetworkRequest): Promise<Network> {
  return api.call('POST', 'v1/networks', body);
}
export function renameNetwork(api: ApiClient, id: string, name: string): Promise<Network> {
  return api.call('PATCH', `v1/networks/${seg(id)}`, { name });
}
export async function deleteNetwork(api: ApiClient, id: string): Promise<void> {
  await orUndefined(api.call('DELETE', `v1/networks/${seg(id)}`));
}
export function listSubnets(api: ApiClient, network: string): Promise<Subnet[]> {
  return api.listAll(`v1/subnets?network=${seg(network)}`);
}
export function createSubnet(api: ApiClient, body: { network: string; cidr: string; gateway?: string | null }): Promise<Subnet> {
  return api.call('POST', 'v1/subnets', body);
}
export function createEndpoint(api: ApiClient, body: CreateEndpointRequest): Promise<EndpointView> {
  return api.call('POST', 'v1/endpoints', body);
}
export function getEndpoint(api: ApiClient, id: string): Promise<EndpointView> {
  return api.call('GET', `v1/endpoints/${seg(id)}`);
}
export function findEndpoint(api: ApiClient, id: string): Promise<EndpointView | undefined> {
  return orUndefined(getEndpoint(api, id));
}
export function listEndpoints(api: ApiClient, network: string): Promise<EndpointView[]> {
  return api.listAll(`v1/endpoints?network=${seg(network)}`);
}
export function patchEndpoint(api: ApiClient, id: string, patch: EndpointPatch): Promise<EndpointView> {
  return api.call('PATCH', `v1/endpoints/${seg(id)}`, patch);
}
/** Deletes an endpoint; one already gone is not an error (idempotent DEL, SPEC §7). */
export async function deleteEndpoint(api: ApiClient, id: string): Promise<void> {
  await orUndefined(api.call('DELETE', `v1/endpoints/${seg(id)}`));
}
/** Resolves when Plexus answers /v1/ready with 200. */
export async function checkReady(api: ApiClient): Promise<void> {
  await api.call('GET', 'v1/ready');
}
