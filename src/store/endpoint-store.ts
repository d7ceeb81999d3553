/**
 * Endpoints (SPEC §3): one transaction claims the endpoint id
 * (endpoint-networks/<id>), its MAC (macs/<mac>) and one address per subnet
 * (ips/<subnet>/<ip>), with the network and the subnets used still present. A
 * lost race on a generated MAC or an allocated address is retried with
 * another; deleting an endpoint frees all of them and drops its binding in the
 * same transaction. Its name, if any, is claimed, moved and freed in the same
 * transactions too (endpoint-names.ts).
 */
import { randomInt, randomUUID } from 'node:crypto';
import { Collection, ConflictError, type Versioned } from './collection';
import { canonicalIp, canonicalMac, cidrContains, generateMac, nextFitOrder, reservedReason } from './ipam';
import { checkId, compareIds, isoNow, throwNotFound } from './model-checks';
import { InvalidRequestError, ResourceConflictError, ResourceNotFoundError } from './model-errors';
import { addressHolder, findEndpoint, resolveNetwork, subnetsOf } from './model-reads';
import type { Binding, Endpoint, EndpointKind, Network, Subnet } from './model';
import { bindingCollection, encodeEndpoint, endpointCollection } from './stored-form';
import { EndpointNameIndex, nameTaken } from './endpoint-names';
import { StoredFormGate } from './stored-form-gate';
import type { IRequestOp } from 'etcd3';
import { absent, del, getString, MAX_ATTEMPTS, modifyRecord, present, put, rangeKvs, removeRecord, runTxn, type Guard, type StoreContext, type TxnOutcome } from './txn';

/** Candidate addresses probed per request (etcd allows 128 operations per transaction). */
const PROBE_WINDOW = 64;
/** Windows probed before falling back to reading the subnet's whole ips/ prefix. */
const PROBE_ROUNDS = 4;

export interface CreateEndpointInput {
  /** Network id or name. */
  readonly network: string;
  /** Client-chosen id (Neutron port style, or an OVS iface-id); generated when omitted. */
  readonly id?: string;
  readonly name?: string;
  /** Generated (locally administered) when omitted. */
  readonly mac?: string;
  /** Omitted: one address allocated per subnet; given (even empty): exactly these. */
  readonly ips?: readonly string[];
  readonly kind?: EndpointKind;
  readonly securityGroups?: readonly string[];
  /** QoS policy id (the API resolves names). */
  readonly qosPolicy?: string | null;
  readonly labels?: Readonly<Record<string, string>>;
}
export interface EndpointPatch {
  readonly name?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly securityGroups?: readonly string[];
  /** QoS policy id; null removes it. */
  readonly qosPolicy?: string | null;
}

/** An endpoint with where it is attached (undefined until a host reports it). */
export type EndpointDetail = Versioned<Endpoint> & { readonly binding: Binding | undefined };

interface Claim {
  readonly subnet: string;
  readonly ip: string;
}

export class EndpointStore {
  private readonly bindings: Collection<Binding>;
  /** Names unique per tenant, by one key per name. */
  readonly names: EndpointNameIndex;
  /** Whether records may be written in the short form yet. */
  private readonly form: StoredFormGate;
  /** Addresses this member is committing right now (`<subnet>/<ip>`): its own concurrent creates never pick the same. */
  private readonly pendingIps = new Set<string>();

  constructor(private readonly ctx: StoreContext) {
    this.bindings = bindingCollection(ctx.client, ctx.keys);
    this.names = new EndpointNameIndex(ctx);
    this.form = new StoredFormGate(ctx);
  }

  /** Endpoints, of one network (id or name) or all, sorted by id. */
  async list(filter: { network?: string } = {}): Promise<Versioned<Endpoint>[]> {
    const { keys } = this.ctx;
    const network = filter.network === undefined ? undefined : (await resolveNetwork(this.ctx, filter.network)).value.id;
    return (await endpointCollection(this.ctx.client, keys, network).list()).sort((x, y) => compareIds(x.value.id, y.value.id));
  }

  /** Every binding, by endpoint id (for list views). */
  async listBindings(): Promise<Map<string, Binding>> {
    return new Map((await this.bindings.list()).map((x) => [x.value.endpoint, x.value]));
  }

  /** The endpoint and its binding (where a host reported it attached), if any. */
  async get(id: string): Promise<EndpointDetail> {
    const [endpoint, binding] = await Promise.all([findEndpoint(this.ctx, id), this.bindings.get(id)]);
    if (!endpoint) throw new ResourceNotFoundError('endpoint', id);
    return { ...endpoint, binding: binding?.value };
  }

  /**
   * Creates an endpoint: the MAC given or generated, the addresses given (each
   * inside a subnet of the network) or one allocated per subnet, all claimed in
   * one transaction. A generated MAC or an allocated address that another member
   * took meanwhile is replaced and the transaction retried.
   */
  async create(input: CreateEndpointInput): Promise<Versioned<Endpoint>> {
    const { keys } = this.ctx;
    const id = input.id === undefined ? randomUUID() : checkId('endpoint id', input.id);
    const network = (await resolveNetwork(this.ctx, input.network)).value;
    const givenMac = input.mac === undefined ? undefined : canonicalMac(input.mac);
    const name = input.name ?? '';
    if (name.length > 253) throw new InvalidRequestError('endpoint name is longer than 253 characters');
    const kind = input.kind ?? 'other';
    const labels = { ...(input.labels ?? {}) };
    const securityGroups = [...new Set(input.securityGroups ?? [])];
    if (name) await this.names.ready();
    const nameClaim = this.names.claim(network.tenant, name, id);
    /** Addresses other members took while we tried, by subnet: never offered again. */
    const lost = new Map<string, Set<string>>();
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const subnets = (await subnetsOf(this.ctx, network.id)).map((s) => s.value).sort(bySubnetOrder);
      /** `<subnet>/<ip>` this attempt holds in pendingIps, released once the transaction is decided. */
      const pending: string[] = [];
      let res: TxnOutcome;
      let claims: Claim[];
      let endpoint: Endpoint;
      const short = await this.form.isShort();
      try {
        claims = input.ips === undefined ? await this.allocate(subnets, lost, attempt, pending) : claimGiven(network, subnets, input.ips);
        const mac = givenMac ?? generateMac();
        const at = isoNow();
        endpoint = { id, name, network: network.id, mac, ips: claims.map((c) => c.ip), kind, labels, securityGroups, ...(input.qosPolicy ? { qosPolicy: input.qosPolicy } : {}), createdAt: at, updatedAt: at };
        const usedSubnets = [...new Set(claims.map((c) => c.subnet))];
        res = await runTxn(
          this.ctx,
          [
            absent(keys.endpointNetwork(id)),
            absent(keys.mac(mac)),
            present(keys.network(network.id)),
            ...claims.map((c) => absent(keys.ip(c.subnet, c.ip))),
            ...usedSubnets.map((s) => present(keys.subnet(network.id, s))),
            ...nameClaim.guards,
          ],
          [
            put(keys.endpoint(network.id, id), short ? encodeEndpoint(endpoint) : endpoint),
            put(keys.endpointNetwork(id), network.id),
            put(keys.mac(mac), id),
            // Short: empty, the key says the address is taken, the endpoint record says by whom (addressHolder()).
            ...claims.map((c) => put(keys.ip(c.subnet, c.ip), short ? '' : id)),
            // The cursor is a hint, not guarded: the absent() guard on the address is what makes it
            // unique; comparing the cursor too would make every concurrent create of a subnet collide.
            ...(input.ips === undefined ? claims.map((c) => put(keys.ipamCursor(c.subnet), c.ip)) : []),
            ...nameClaim.ops,
          ],
        );
      } finally {
        pending.forEach((p) => this.pendingIps.delete(p));
      }
      if (res.succeeded) return { value: endpoint, revision: res.revision };
      const mac = endpoint.mac;
      const [idTaken, macTaken, networkFound, ...rest] = res.found;
      if (idTaken) throw new ResourceConflictError('duplicate', `endpoint "${id}" already exists (in network ${idTaken.value.toString()})`, { endpoint: id });
      if (!networkFound) throw new ResourceNotFoundError('network', input.network);
      const nameHolder = nameClaim.guards.length ? res.found[res.found.length - 1]?.value.toString() : undefined;
      if (nameHolder !== undefined) {
        if (await this.names.freeIfStale(network.tenant, name, nameHolder)) continue;
        throw nameTaken(network.tenant, name, nameHolder);
      }
      if (macTaken && givenMac !== undefined) {
        throw new ResourceConflictError('duplicate', `MAC ${mac} is already used by endpoint ${macTaken.value.toString()}`, { mac, endpoint: macTaken.value.toString() });
      }
      for (const [i, c] of claims.entries()) {
        const found = rest[i];
        if (!found) continue;
        if (input.ips !== undefined) {
          const holder = await addressHolder(this.ctx, network.id, c.ip, found.value.toString());
          throw new ResourceConflictError('duplicate', `address ${c.ip} is already used by endpoint ${holder}`, { ip: c.ip, endpoint: holder });
        }
        const set = lost.get(c.subnet) ?? new Set<string>();
        set.add(c.ip);
        lost.set(c.subnet, set);
      }
      // A generated MAC, an allocated address or a subnet changed under us: try again.
    }
    throw new ConflictError(`could not claim addresses for endpoint ${id} in ${MAX_ATTEMPTS} attempts (heavy contention)`, { recoverable: true });
  }

  async update(id: string, patch: EndpointPatch, ifMatch?: string): Promise<Versioned<Endpoint>> {
    const first = await findEndpoint(this.ctx, id);
    if (!first) throw new ResourceNotFoundError('endpoint', id);
    const key = this.ctx.keys.endpoint(first.value.network, id);
    if (patch.name !== undefined && patch.name.length > 253) throw new InvalidRequestError('endpoint name is longer than 253 characters');
    const short = await this.form.isShort();
    return modifyRecord(
      this.ctx,
      key,
      () => this.load(id),
      ifMatch,
      async (cur) => ({
        value: {
          ...cur,
          ...(patch.name !== undefined ? { name: patch.name } : {}),
          ...(patch.labels !== undefined ? { labels: { ...patch.labels } } : {}),
          ...(patch.securityGroups !== undefined ? { securityGroups: [...new Set(patch.securityGroups)] } : {}),
          ...(patch.qosPolicy !== undefined ? { qosPolicy: patch.qosPolicy } : {}),
          updatedAt: isoNow(),
        },
        ...(patch.name !== undefined && patch.name !== cur.name ? await this.rename(cur, patch.name) : {}),
      }),
      short ? encodeEndpoint : undefined,
    );
  }

  /** The name key moves with a rename: the new one claimed (refused when another endpoint holds it), the old one freed. */
  private async rename(cur: Endpoint, name: string): Promise<{ guards: Guard[]; ops: IRequestOp[] }> {
    const tenant = (await resolveNetwork(this.ctx, cur.network)).value.tenant;
    await this.names.checkFree(tenant, name, cur.id);
    const claim = this.names.claim(tenant, name, cur.id);
    const release = await this.names.release(tenant, cur.name, cur.id);
    return { guards: [...claim.guards, ...release.guards], ops: [...claim.ops, ...release.ops] };
  }

  /** Deletes an endpoint and, in the same transaction, frees its addresses and MAC and drops its binding. */
  async delete(id: string, ifMatch?: string): Promise<void> {
    const { keys } = this.ctx;
    const first = await findEndpoint(this.ctx, id);
    if (!first) throw new ResourceNotFoundError('endpoint', id);
    const key = keys.endpoint(first.value.network, id);
    await removeRecord(this.ctx, key, () => this.load(id), ifMatch, async (cur) => {
      const subnets = (await subnetsOf(this.ctx, cur.network)).map((s) => s.value);
      const ipKeys = cur.ips.flatMap((ip) => subnets.filter((s) => cidrContains(s.cidr, ip)).map((s) => keys.ip(s.id, ip)));
      const name = cur.name ? await this.names.release((await resolveNetwork(this.ctx, cur.network)).value.tenant, cur.name, id) : { guards: [], ops: [] };
      return {
        guards: name.guards,
        ops: [del(key), del(keys.endpointNetwork(id)), del(keys.mac(cur.mac)), ...ipKeys.map(del), del(keys.binding(id)), ...name.ops],
      };
    });
  }

  private async load(id: string): Promise<Versioned<Endpoint>> {
    return (await findEndpoint(this.ctx, id)) ?? throwNotFound('endpoint', id);
  }

  /**
   * One free address per IP family, next fit: each subnet resumes after the
   * address it handed out last (its ipam-cursors key), so a create reads the
   * cursor and probes a window of PROBE_WINDOW candidate keys in one request,
   * however many addresses are allocated. Next fit also keeps a freed address
   * out of circulation until the pool has wrapped: handing it straight back out
   * would give the new endpoint an address that peers' ARP caches still map to
   * the old MAC (~45 s unreachable). Only when PROBE_ROUNDS windows find nothing
   * free (a nearly full pool) is the subnet's whole ips/ prefix read, which
   * finds the last holes or proves exhaustion. After a lost race a random skip
   * spreads contenders.
   */
  private async allocate(subnets: readonly Subnet[], lost: ReadonlyMap<string, ReadonlySet<string>>, attempt: number, pending: string[]): Promise<Claim[]> {
    const out: Claim[] = [];
    // One address per IP family, from the first subnet of that family with room (subnets come in bySubnetOrder).
    const served = new Set<number>();
    const full: Subnet[] = [];
    for (const s of subnets) {
      if (served.has(s.ipVersion)) continue;
      const skip = attempt === 0 ? 0 : randomInt(0, Math.min(2 ** attempt, 16));
      const ip = await this.findFree(s, lost.get(s.id) ?? new Set(), skip);
      if (ip === undefined) {
        full.push(s);
        continue;
      }
      out.push({ subnet: s.id, ip });
      served.add(s.ipVersion);
      // Held before the next await, so this member's concurrent creates pass over it.
      pending.push(`${s.id}/${ip}`);
      this.pendingIps.add(`${s.id}/${ip}`);
    }
    const exhausted = full.filter((s) => !served.has(s.ipVersion));
    if (exhausted.length) {
      const cidrs = exhausted.map((s) => s.cidr);
      throw new ResourceConflictError('exhausted', `no free IPv${exhausted[0]!.ipVersion} address left in any subnet of the network (${cidrs.join(', ')})`, { cidrs });
    }
    return out;
  }

  /** A free address of the subnet in next-fit order after passing over `skip` free ones, or undefined when its pools are full. */
  private async findFree(s: Subnet, lost: ReadonlySet<string>, skip: number): Promise<string | undefined> {
    const { keys } = this.ctx;
    const unusable = (ip: string): boolean => lost.has(ip) || this.pendingIps.has(`${s.id}/${ip}`);
    const cursor = await getString(this.ctx, keys.ipamCursor(s.id));
    const order = nextFitOrder(s, cursor);
    let lastFree: string | undefined;
    for (let round = 0; round < PROBE_ROUNDS; round++) {
      const window: string[] = [];
      while (window.length < PROBE_WINDOW) {
        const next = order.next();
        if (next.done) break;
        if (!unusable(next.value)) window.push(next.value);
      }
      if (window.length === 0) break;
      const held = await this.probeHeld(window.map((ip) => keys.ip(s.id, ip)));
      for (let i = 0; i < window.length; i++) {
        if (held[i]) continue;
        lastFree = window[i];
        if (skip-- <= 0) return lastFree;
      }
      if (lastFree !== undefined) return lastFree;
    }
    // Nearly full (or wrapped round): read every holder once to find the holes or prove there are none.
    const taken = new Set((await rangeKvs(this.ctx, keys.ips(s.id), true)).map((kv) => keys.ipOf(kv.key.toString())));
    for (const ip of nextFitOrder(s, cursor)) {
      if (!taken.has(ip) && !unusable(ip)) return ip;
    }
    return undefined;
  }

  /** Whether each key exists, in one request. */
  private async probeHeld(keyList: readonly string[]): Promise<boolean[]> {
    const res = await this.ctx.client.kv.txn({ compare: [], success: keyList.map((k) => ({ request_range: { key: Buffer.from(k), keys_only: true, count_only: true } })), failure: [] });
    return res.responses.map((r) => Number(r.response_range?.count ?? 0) > 0);
  }
}

/** Maps requested addresses to the subnets holding them. */
function claimGiven(network: Network, subnets: readonly Subnet[], ips: readonly string[]): Claim[] {
  const out: Claim[] = [];
  for (const raw of ips) {
    const ip = canonicalIp(raw);
    const subnet = subnets.find((s) => cidrContains(s.cidr, ip));
    if (!subnet) {
      const cidrs = subnets.map((s) => s.cidr).join(', ') || 'none';
      throw new ResourceConflictError('outside', `address ${ip} is outside every subnet of network "${network.name}" (subnets: ${cidrs})`, { ip });
    }
    const reserved = reservedReason(subnet, ip);
    if (reserved) throw new ResourceConflictError('reserved', `address ${ip} is ${reserved}`, { ip, subnet: subnet.id });
    if (out.some((c) => c.subnet === subnet.id)) {
      throw new InvalidRequestError(`addresses ${out.find((c) => c.subnet === subnet.id)!.ip} and ${ip} are both in subnet ${subnet.cidr}: one address per subnet`);
    }
    out.push({ subnet: subnet.id, ip });
  }
  return out;
}

/** IPv4 subnets first, then by creation: an endpoint's ips[0] is its first IPv4 address. */
function bySubnetOrder(x: Subnet, y: Subnet): number {
  return x.ipVersion - y.ipVersion || compareIds(x.createdAt, y.createdAt) || compareIds(x.id, y.id);
}
