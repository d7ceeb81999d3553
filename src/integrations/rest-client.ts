/**
 * The part of the Plexus REST API (SPEC §6, §11) the integrations use: create
 * and delete networks, subnets and endpoints, read an endpoint's status.
 * Problem+json answers become {@link PlexusApiError} with the server's detail;
 * a Plexus that cannot be reached is `unreachable` (CNI code 11, SPEC §7).
 */
import { readFileSync } from 'node:fs';
import { PlexusError } from '../../protocols/common/errors';
import type { Endpoint, EndpointStatus, Network, Subnet } from '../store/model';

export class PlexusApiError extends PlexusError {
  override readonly name = 'PlexusApiError';
  constructor(
    message: string,
    /** HTTP status; undefined when no answer came. */
    readonly status: number | undefined,
    options: { cause?: unknown } = {},
  ) {
    super(message, { ...options, recoverable: status === undefined || status >= 500 });
  }
  get isUnreachable(): boolean {
    return this.status === undefined;
  }
  get isNotFound(): boolean {
    return this.status === 404;
  }
  get isConflict(): boolean {
    return this.status === 409;
  }
}

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

export interface PlexusApiOptions {
  readonly url: string;
  /** Bearer token (SPEC §6), or a file holding it. */
  readonly token?: string;
  readonly tokenFile?: string;
  readonly timeoutMs?: number;
}

/** Reads a token file: the first line, trimmed. */
export function readTokenFile(path: string): string {
  return (readFileSync(path, 'utf8').split('\n')[0] ?? '').trim();
}

export class PlexusApi {
  private readonly token: string | undefined;
  readonly url: string;
  private readonly timeoutMs: number;

  constructor(options: PlexusApiOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.token = options.token ?? (options.tokenFile ? readTokenFile(options.tokenFile) : undefined);
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.token) headers['authorization'] = `Bearer ${this.token}`;
    let res: Response;
    try {
      res = await fetch(`${this.url}${path}`, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const code = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
      throw new PlexusApiError(`Plexus at ${this.url} is unreachable (${code})`, undefined, { cause: err });
    }
    const text = await res.text();
    let data: unknown;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch {
      data = text;
    }
    if (!res.ok) {
      const p = data as { title?: string; detail?: string } | undefined;
      const why = typeof p === 'object' && p ? (p.detail ?? p.title ?? res.statusText) : String(text || res.statusText);
      throw new PlexusApiError(`Plexus ${method} ${path}: ${res.status} ${why}`, res.status);
    }
    return data as T;
  }

  async listAll<T>(path: string): Promise<T[]> {
    const items: T[] = [];
    let next: string | undefined;
    do {
      const sep = path.includes('?') ? '&' : '?';
      const page = await this.call<{ items: T[]; next?: string }>('GET', next ? `${path}${sep}next=${encodeURIComponent(next)}` : path);
      items.push(...page.items);
      next = page.next;
    } while (next);
    return items;
  }

  getNetwork(idOrName: string): Promise<Network> {
    return this.call('GET', `/v1/networks/${encodeURIComponent(idOrName)}`);
  }
  /** The network, or undefined when Plexus has none by that id or name. */
  async findNetwork(idOrName: string): Promise<Network | undefined> {
    try {
      return await this.getNetwork(idOrName);
    } catch (err) {
      if (err instanceof PlexusApiError && err.isNotFound) return undefined;
      throw err;
    }
  }
  createNetwork(body: { name: string; mtu?: number }): Promise<Network> {
    return this.call('POST', '/v1/networks', body);
  }
  renameNetwork(id: string, name: string): Promise<Network> {
    return this.call('PATCH', `/v1/networks/${encodeURIComponent(id)}`, { name });
  }
  async deleteNetwork(id: string): Promise<void> {
    await this.ignoreNotFound(this.call('DELETE', `/v1/networks/${encodeURIComponent(id)}`));
  }
  listSubnets(network: string): Promise<Subnet[]> {
    return this.listAll(`/v1/subnets?network=${encodeURIComponent(network)}`);
  }
  createSubnet(body: { network: string; cidr: string; gateway?: string | null }): Promise<Subnet> {
    return this.call('POST', '/v1/subnets', body);
  }
  createEndpoint(body: CreateEndpointRequest): Promise<EndpointView> {
    return this.call('POST', '/v1/endpoints', body);
  }
  getEndpoint(id: string): Promise<EndpointView> {
    return this.call('GET', `/v1/endpoints/${encodeURIComponent(id)}`);
  }
  async findEndpoint(id: string): Promise<EndpointView | undefined> {
    try {
      return await this.getEndpoint(id);
    } catch (err) {
      if (err instanceof PlexusApiError && err.isNotFound) return undefined;
      throw err;
    }
  }
  listEndpoints(network: string): Promise<EndpointView[]> {
    return this.listAll(`/v1/endpoints?network=${encodeURIComponent(network)}`);
  }
  patchEndpoint(id: string, patch: { name?: string; labels?: Record<string, string>; securityGroups?: readonly string[] }): Promise<EndpointView> {
    return this.call('PATCH', `/v1/endpoints/${encodeURIComponent(id)}`, patch);
  }
  /** Deletes an endpoint; one already gone is not an error (idempotent DEL, SPEC §7). */
  async deleteEndpoint(id: string): Promise<void> {
    await this.ignoreNotFound(this.call('DELETE', `/v1/endpoints/${encodeURIComponent(id)}`));
  }
  /** Resolves when Plexus answers /v1/ready with 200. */
  async checkReady(): Promise<void> {
    await this.call('GET', '/v1/ready');
  }

  private async ignoreNotFound(p: Promise<unknown>): Promise<void> {
    try {
      await p;
    } catch (err) {
      if (err instanceof PlexusApiError && err.isNotFound) return;
      throw err;
    }
  }
}
