/**
 * The change feed behind GET /v1/events (SPEC §6): one etcd watch over the
 * whole prefix, so events arrive in revision order, turned into typed events
 * (network, subnet, endpoint, endpoint-status, host, member) with the tenant
 * they belong to, kept in a bounded in-memory ring so a client reconnecting
 * with `Last-Event-ID` gets exactly what it missed.
 *
 * An event's id is `<etcd revision>.<index within that revision>`. A client
 * asking for events older than the ring holds (evicted, or before this member
 * started watching) gets `reset`: it must re-list, then follow from now.
 */
import type { Etcd3, Watcher } from 'etcd3';
import { EventEmitter } from 'node:events';
import type { Logger } from '../log';
import { Collection } from './collection';
import type { Keys } from './keys';
import type { Network } from './model';
import { decodeBinding, decodeEndpoint, endpointCollection } from './stored-form';

export type FeedResource = 'network' | 'subnet' | 'endpoint' | 'endpoint-status' | 'host' | 'member';

export interface FeedEvent {
  /** `<revision>.<index>`: the SSE id. */
  readonly id: string;
  readonly revision: string;
  readonly resource: FeedResource;
  readonly kind: 'put' | 'delete';
  /** The object's id (endpoint id for endpoint-status). */
  readonly object: string;
  /** The tenant it belongs to; null for hosts and members (admin only). */
  readonly tenant: string | null;
  readonly value?: unknown;
}

export interface EventFeedEvents {
  event: [FeedEvent];
}

export type FeedState = 'stopped' | 'starting' | 'watching';

/** Where a resuming client stands: events after its id, or reset. */
export type Replay = { readonly kind: 'events'; readonly events: readonly FeedEvent[] } | { readonly kind: 'reset'; readonly reason: string };

interface Position {
  readonly revision: bigint;
  readonly index: number;
}

/** Parses `<revision>.<index>` (or a bare revision); undefined when malformed. */
export function parseEventId(id: string): Position | undefined {
  const m = /^(\d{1,20})(?:\.(\d{1,6}))?$/.exec(id.trim());
  return m ? { revision: BigInt(m[1]!), index: m[2] === undefined ? Number.MAX_SAFE_INTEGER : Number(m[2]) } : undefined;
}

function after(e: FeedEvent, p: Position): boolean {
  const [rev, idx] = e.id.split('.') as [string, string];
  const r = BigInt(rev);
  return r > p.revision || (r === p.revision && Number(idx) > p.index);
}

export class EventFeed extends EventEmitter<EventFeedEvents> {
  private state: FeedState = 'stopped';
  private readonly ring: FeedEvent[] = [];
  /** Events at or before this revision are not all in the ring. */
  private coveredAfter = 0n;
  private watcher: Watcher | undefined;
  /** Tenant of every live network and network of every live endpoint: what classifies the next event. */
  private readonly networkTenant = new Map<string, string>();
  private readonly endpointNetwork = new Map<string, string>();
  /**
   * Networks and endpoints deleted in the current revision, forgotten once the
   * next revision arrives: one transaction deletes a network with its subnets
   * and an endpoint with its binding, and those later keys of the same revision
   * still need the tenant. Events already in the ring carry theirs, so nothing
   * else needs the maps, and they hold only what exists (not every id ever seen).
   */
  private readonly forgetNetworks: string[] = [];
  private readonly forgetEndpoints: string[] = [];
  private lastRevision = '';
  private indexInRevision = 0;

  constructor(
    private readonly client: Etcd3,
    private readonly keys: Keys,
    private readonly log: Logger,
    private readonly capacity = 10_000,
  ) {
    super();
    this.setMaxListeners(0);
  }

  private setState(state: FeedState, extra: Record<string, unknown> = {}): void {
    if (state === this.state) return;
    this.log.info('event feed', { from: this.state, to: state, ...extra });
    this.state = state;
  }

  async start(): Promise<void> {
    this.setState('starting');
    const revision = (await this.client.get(this.keys.probe()).exec()).header.revision;
    for (const n of await new Collection<Network>(this.client, this.keys.networks()).list()) this.networkTenant.set(n.value.id, n.value.tenant);
    for (const e of await endpointCollection(this.client, this.keys).list()) this.endpointNetwork.set(e.value.id, e.value.network);
    this.coveredAfter = BigInt(revision);
    this.watcher = await this.client.watch().prefix(this.keys.prefix).startRevision(String(BigInt(revision) + 1n)).create();
    this.watcher.on('put', (kv) => this.onChange('put', kv.key.toString(), kv.value.toString(), kv.mod_revision));
    this.watcher.on('delete', (kv) => this.onChange('delete', kv.key.toString(), '', kv.mod_revision));
    this.watcher.on('error', (err: Error) => this.log.warn('event feed watch error (etcd3 resumes it)', { error: err.message }));
    this.setState('watching', { revision });
  }

  async stop(): Promise<void> {
    await this.watcher?.cancel();
    this.setState('stopped');
  }

  /** The events after `lastId`, or reset when some of them are no longer held. */
  replaySince(lastId: string): Replay {
    const p = parseEventId(lastId);
    if (!p) return { kind: 'reset', reason: `Last-Event-ID ${JSON.stringify(lastId)} is not an event id` };
    if (p.revision < this.coveredAfter) {
      return { kind: 'reset', reason: `events after ${lastId} are no longer held by this member (it holds those after revision ${this.coveredAfter}): re-list, then follow` };
    }
    return { kind: 'events', events: this.ring.filter((e) => after(e, p)) };
  }

  /** How many networks and endpoints the feed remembers (their tenant / network), for tests and metrics. */
  trackedCounts(): { readonly networks: number; readonly endpoints: number } {
    return { networks: this.networkTenant.size, endpoints: this.endpointNetwork.size };
  }

  private onChange(kind: 'put' | 'delete', key: string, text: string, revision: string): void {
    if (revision !== this.lastRevision) {
      this.lastRevision = revision;
      this.indexInRevision = 0;
      for (const id of this.forgetNetworks.splice(0)) this.networkTenant.delete(id);
      for (const id of this.forgetEndpoints.splice(0)) this.endpointNetwork.delete(id);
    }
    const parsed = this.classify(key, kind, text);
    if (!parsed) return;
    const event: FeedEvent = { id: `${revision}.${this.indexInRevision++}`, revision, kind, ...parsed };
    this.ring.push(event);
    if (this.ring.length > this.capacity) {
      const evicted = this.ring.shift()!;
      this.coveredAfter = BigInt(evicted.revision);
    }
    this.emit('event', event);
  }

  /** Resource, object id, tenant and value of a key under the prefix; undefined for keys no client follows. */
  private classify(key: string, kind: 'put' | 'delete', text: string): Omit<FeedEvent, 'id' | 'revision' | 'kind'> | undefined {
    const k = this.keys;
    const value = kind === 'put' ? this.parse(key, text) : undefined;
    if (kind === 'put' && value === undefined) return undefined;
    const v = value as Record<string, unknown> | undefined;
    if (key.startsWith(k.networks())) {
      const id = key.slice(k.networks().length);
      if (v && typeof v.tenant === 'string') this.networkTenant.set(id, v.tenant);
      const tenant = this.networkTenant.get(id) ?? null;
      if (kind === 'delete') this.forgetNetworks.push(id);
      return { resource: 'network', object: id, tenant, ...(v ? { value: v } : {}) };
    }
    if (key.startsWith(k.subnets())) {
      const { network, id } = k.subnetOf(key);
      return { resource: 'subnet', object: id, tenant: this.networkTenant.get(network) ?? null, ...(v ? { value: v } : {}) };
    }
    if (key.startsWith(k.endpoints())) {
      const id = k.endpointOf(key);
      const network = key.slice(k.endpoints().length).split('/')[0]!;
      if (kind === 'put') this.endpointNetwork.set(id, network);
      else this.forgetEndpoints.push(id);
      const tenant = this.networkTenant.get(network) ?? null;
      return { resource: 'endpoint', object: id, tenant, ...(v ? { value: v } : {}) };
    }
    if (key.startsWith(k.bindings())) {
      const id = key.slice(k.bindings().length);
      const network = this.endpointNetwork.get(id);
      return { resource: 'endpoint-status', object: id, tenant: network ? (this.networkTenant.get(network) ?? null) : null, ...(v ? { value: v } : {}) };
    }
    if (key.startsWith(k.hosts())) return { resource: 'host', object: key.slice(k.hosts().length), tenant: null, ...(v ? { value: v } : {}) };
    if (key.startsWith(k.members())) return { resource: 'member', object: key.slice(k.members().length), tenant: null, ...(v ? { value: v } : {}) };
    return undefined;
  }

  /** A record as the API shows it: endpoints and bindings from their stored form (stored-form.ts), the rest plain JSON. */
  private parse(key: string, text: string): unknown {
    const k = this.keys;
    try {
      if (key.startsWith(k.endpoints())) {
        const { network, id } = k.endpointKeyOf(key);
        return decodeEndpoint(network, id, text);
      }
      if (key.startsWith(k.bindings())) return decodeBinding(k.bindingOf(key), text);
    } catch {
      return undefined;
    }
    return parseJson(text);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
