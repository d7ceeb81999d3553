/**
 * Writes and reads the intent half of the model (SPEC §3): tenants, networks,
 * subnets and endpoints, with etcd transactions so that any number of members
 * writing at once never hand out one VNI, one address or one MAC twice and
 * never lose an update.
 *
 * Every write is one transaction whose compares state what the write assumed:
 *
 *   create network   vnis/<vni>, network-names/<tenant>/<name> absent; tenant present
 *   create subnet    network present; no subnet of the network created since the overlap check
 *   create endpoint  network and subnets present; endpoint-networks/<id>, macs/<mac>,
 *                    ips/<subnet>/<ip> absent (a lost race on a generated MAC or an
 *                    allocated address is retried with another one)
 *   update, delete   the record's mod revision (If-Match, or the one just read)
 *   delete network   no key under endpoints/<network>/ nor ips/<subnet>/ (range compares)
 *   delete subnet    no key under ips/<subnet>/
 *   delete tenant    no key under network-names/<tenant>/
 *
 * "Absent" is `version == 0`; over a key range a compare holds only if it holds
 * for every key in it (an empty range compares as an absent key).
 */
import { randomInt, randomUUID } from 'node:crypto';
import { CompareResult, CompareTarget, type Etcd3, type ICompare, type IKeyValue, type IRequestOp } from 'etcd3';
import { Collection, ConflictError, prefixEnd, type Versioned } from './collection';
import {
  AddressError,
  AddressExhaustedError,
  canonicalCidr,
  canonicalIp,
  canonicalMac,
  cidrContains,
  cidrsOverlap,
  defaultAllocationPools,
  defaultGateway,
  generateMac,
  nextFreeAddress,
  parseCidr,
  reservedReason,
  validateAllocationPools,
  validateGateway,
} from './ipam';
import type { Keys } from './keys';
import { InvalidRequestError, ResourceConflictError, ResourceNotFoundError } from './model-errors';
import {
  DEFAULT_TENANT,
  type AllocationPool,
  type Binding,
  type Endpoint,
  type EndpointKind,
  type Network,
  type Route,
  type Subnet,
  type Tenant,
} from './model';

/** Default MTU of a network: 1500 minus the 50 bytes of VXLAN over IPv4. */
export const DEFAULT_MTU = 1450;
export const MIN_VNI = 1;
export const MAX_VNI = 16_777_215;
/** Attempts of one write before giving up on a key that keeps changing or candidates that keep colliding. */
const MAX_ATTEMPTS = 32;
/** Names and ids end up in etcd keys: no '/', no whitespace. */
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$/;
const ID_RE = /^[^/\s]{1,253}$/;

export interface CreateTenantInput {
  readonly name: string;
  /** Defaults to the name. */
  readonly id?: string;
}
export interface TenantPatch {
  readonly name?: string;
}

export interface CreateNetworkInput {
  readonly name: string;
  readonly tenant?: string;
  readonly mtu?: number;
}
export interface NetworkPatch {
  readonly name?: string;
  readonly mtu?: number;
}

export interface CreateSubnetInput {
  /** Network id or name. */
  readonly network: string;
  readonly cidr: string;
  /** Omitted: the first host address; null: no gateway. */
  readonly gateway?: string | null;
  readonly dhcp?: boolean;
  readonly allocationPools?: readonly AllocationPool[];
  readonly dnsServers?: readonly string[];
  readonly routes?: readonly Route[];
}
export interface SubnetPatch {
  readonly dhcp?: boolean;
  readonly dnsServers?: readonly string[];
  readonly routes?: readonly Route[];
}

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
  readonly labels?: Readonly<Record<string, string>>;
}
export interface EndpointPatch {
  readonly name?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly securityGroups?: readonly string[];
}

/** An endpoint with where it is attached (undefined until a host reports it). */
export type EndpointDetail = Versioned<Endpoint> & { readonly binding: Binding | undefined };

/** A compare plus the key to read back when the transaction fails, to tell why. */
interface Guard {
  readonly compare: ICompare;
  readonly key: string;
  readonly rangeEnd?: string;
}

interface TxnOutcome {
  readonly succeeded: boolean;
  readonly revision: string;
  /** For a failed transaction: the first key found at each guard's key or range (undefined = absent). */
  readonly found: readonly (IKeyValue | undefined)[];
}

const b = (s: string): Buffer => Buffer.from(s);
const now = (): string => new Date().toISOString();

function absent(key: string): Guard {
  return { key, compare: { key: b(key), target: CompareTarget.Version, result: CompareResult.Equal, version: 0 } };
}
function present(key: string): Guard {
  return { key, compare: { key: b(key), target: CompareTarget.Version, result: CompareResult.Greater, version: 0 } };
}
function atRevision(key: string, revision: string): Guard {
  return { key, compare: { key: b(key), target: CompareTarget.Mod, result: CompareResult.Equal, mod_revision: revision } };
}
/** No key under `prefix`. */
function emptyPrefix(prefix: string): Guard {
  const end = prefixEnd(prefix);
  return { key: prefix, rangeEnd: end, compare: { key: b(prefix), range_end: b(end), target: CompareTarget.Version, result: CompareResult.Equal, version: 0 } };
}
/** No key under `prefix` created after `revision`. */
function noneCreatedSince(prefix: string, revision: string): Guard {
  const end = prefixEnd(prefix);
  return {
    key: prefix,
    rangeEnd: end,
    compare: { key: b(prefix), range_end: b(end), target: CompareTarget.Create, result: CompareResult.Less, create_revision: String(BigInt(revision) + 1n) },
  };
}
const put = (key: string, value: unknown): IRequestOp => ({
  request_put: { key: b(key), value: b(typeof value === 'string' ? value : JSON.stringify(value)) },
});
const del = (key: string): IRequestOp => ({ request_delete_range: { key: b(key) } });
const delPrefix = (prefix: string): IRequestOp => ({ request_delete_range: { key: b(prefix), range_end: b(prefixEnd(prefix)) } });

export class ModelStore {
  private readonly tenantRecords: Collection<Tenant>;
  private readonly networkRecords: Collection<Network>;
  private readonly bindingRecords: Collection<Binding>;
  /** Addresses this member is committing right now (`<subnet>/<ip>`): its own concurrent creates never pick the same. */
  private readonly pendingIps = new Set<string>();

  constructor(
    private readonly client: Etcd3,
    private readonly keys: Keys,
  ) {
    this.tenantRecords = new Collection<Tenant>(client, keys.tenants());
    this.networkRecords = new Collection<Network>(client, keys.networks());
    this.bindingRecords = new Collection<Binding>(client, keys.bindings());
  }

  // ---------------------------------------------------------------- tenants

  /** Every tenant, sorted by id; the default tenant is always there (implicitly until written). */
  async listTenants(): Promise<Versioned<Tenant>[]> {
    const list = await this.tenantRecords.list();
    if (!list.some((t) => t.value.id === DEFAULT_TENANT)) list.unshift(implicitDefaultTenant());
    return list.sort((x, y) => cmp(x.value.id, y.value.id));
  }

  async getTenant(id: string): Promise<Versioned<Tenant>> {
    const t = await this.tenantRecords.get(id);
    if (t) return t;
    if (id === DEFAULT_TENANT) return implicitDefaultTenant();
    throw new ResourceNotFoundError('tenant', id);
  }

  async createTenant(input: CreateTenantInput): Promise<Versioned<Tenant>> {
    const name = checkName('tenant name', input.name);
    const id = checkName('tenant id', input.id ?? input.name);
    const tenant: Tenant = { id, name, createdAt: now() };
    const key = this.keys.tenant(id);
    const res = await this.txn([absent(key)], [put(key, tenant)]);
    if (!res.succeeded) throw new ResourceConflictError('duplicate', `tenant "${id}" already exists`, { tenant: id });
    return { value: tenant, revision: res.revision };
  }

  async updateTenant(id: string, patch: TenantPatch, ifMatch?: string): Promise<Versioned<Tenant>> {
    return this.modify(this.keys.tenant(id), () => this.tenantRecords.get(id).then((t) => t ?? missing('tenant', id)), ifMatch, async (cur) => ({
      value: { ...cur, ...(patch.name !== undefined ? { name: checkName('tenant name', patch.name) } : {}) },
    }));
  }

  /** Deletes a tenant that owns no network. */
  async deleteTenant(id: string, ifMatch?: string): Promise<void> {
    if (id === DEFAULT_TENANT) throw new ResourceConflictError('in-use', `the default tenant "${DEFAULT_TENANT}" cannot be deleted`);
    const key = this.keys.tenant(id);
    const names = this.keys.networkNames(id);
    await this.remove(key, () => this.tenantRecords.get(id).then((t) => t ?? missing('tenant', id)), ifMatch, async () => ({
      guards: [emptyPrefix(names)],
      ops: [del(key)],
      explain: (found) => {
        if (found[1]) throw new ResourceConflictError('in-use', `tenant "${id}" still has networks (delete them first)`, { tenant: id });
      },
    }));
  }

  // ---------------------------------------------------------------- networks

  async listNetworks(filter: { tenant?: string } = {}): Promise<Versioned<Network>[]> {
    const all = await this.networkRecords.list();
    return filter.tenant === undefined ? all : all.filter((n) => n.value.tenant === filter.tenant);
  }

  /**
   * A network by id or by name: the id first, then the name in `tenant` when
   * given, else in the default tenant, else in whichever single tenant has it
   * (several → 409 ambiguous).
   */
  async resolveNetwork(idOrName: string, tenant?: string): Promise<Versioned<Network>> {
    const byId = ID_RE.test(idOrName) ? await this.networkRecords.get(idOrName) : undefined;
    if (byId) return byId;
    if (!NAME_RE.test(idOrName)) throw new ResourceNotFoundError('network', idOrName);
    const tenants = tenant !== undefined ? [tenant] : [DEFAULT_TENANT];
    for (const t of tenants) {
      const id = await this.getString(this.keys.networkName(t, idOrName));
      if (id !== undefined) {
        const n = await this.networkRecords.get(id);
        if (n) return n;
      }
    }
    if (tenant === undefined) {
      const prefix = this.keys.networkNames();
      const matches = (await this.rangeKvs(prefix, false)).filter((kv) => kv.key.toString().slice(prefix.length).split('/')[1] === idOrName);
      if (matches.length > 1) {
        const owners = matches.map((kv) => kv.key.toString().slice(prefix.length).split('/')[0]);
        throw new ResourceConflictError('ambiguous', `network name "${idOrName}" exists in tenants ${owners.join(', ')}: use the network id`, { tenants: owners });
      }
      if (matches.length === 1) {
        const n = await this.networkRecords.get(matches[0]!.value.toString());
        if (n) return n;
      }
    }
    throw new ResourceNotFoundError('network', idOrName);
  }

  /** Creates a network with a VNI no other network has. */
  async createNetwork(input: CreateNetworkInput): Promise<Versioned<Network>> {
    const name = checkName('network name', input.name);
    const tenant = input.tenant ?? DEFAULT_TENANT;
    checkName('tenant', tenant);
    const mtu = checkMtu(input.mtu ?? DEFAULT_MTU);
    const nameKey = this.keys.networkName(tenant, name);
    const tenantGuard = tenant === DEFAULT_TENANT ? [] : [present(this.keys.tenant(tenant))];
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const vni = randomInt(MIN_VNI, MAX_VNI + 1);
      const at = now();
      const network: Network = { id: randomUUID(), name, tenant, vni, mtu, createdAt: at, updatedAt: at };
      const vniKey = this.keys.vni(vni);
      const res = await this.txn(
        [absent(nameKey), absent(vniKey), ...tenantGuard],
        [put(this.keys.network(network.id), network), put(nameKey, network.id), put(vniKey, network.id)],
      );
      if (res.succeeded) return { value: network, revision: res.revision };
      const [nameTaken, , tenantFound] = res.found;
      if (nameTaken) {
        throw new ResourceConflictError('duplicate', `network "${name}" already exists in tenant "${tenant}" (id ${nameTaken.value.toString()})`, {
          network: nameTaken.value.toString(),
        });
      }
      if (tenantGuard.length && !tenantFound) throw new ResourceNotFoundError('tenant', tenant);
      // The random VNI was taken: draw another.
    }
    throw new ResourceConflictError('exhausted', `no free VNI found in ${MAX_ATTEMPTS} attempts`);
  }

  async updateNetwork(idOrName: string, patch: NetworkPatch, ifMatch?: string): Promise<Versioned<Network>> {
    const first = await this.resolveNetwork(idOrName);
    const id = first.value.id;
    const newName = patch.name === undefined ? undefined : checkName('network name', patch.name);
    const mtu = patch.mtu === undefined ? undefined : checkMtu(patch.mtu);
    return this.modify(this.keys.network(id), () => this.networkRecords.get(id).then((n) => n ?? missing('network', idOrName)), ifMatch, async (cur) => {
      const value: Network = { ...cur, ...(newName !== undefined ? { name: newName } : {}), ...(mtu !== undefined ? { mtu } : {}), updatedAt: now() };
      if (newName === undefined || newName === cur.name) return { value };
      const newKey = this.keys.networkName(cur.tenant, newName);
      const holder = await this.getString(newKey);
      if (holder !== undefined) throw new ResourceConflictError('duplicate', `network "${newName}" already exists in tenant "${cur.tenant}" (id ${holder})`, { network: holder });
      return { value, guards: [absent(newKey)], ops: [del(this.keys.networkName(cur.tenant, cur.name)), put(newKey, id)] };
    });
  }

  /**
   * Deletes a network and its subnets. Refused (409) while it has endpoints or
   * any of its subnets has an allocated address.
   */
  async deleteNetwork(idOrName: string, ifMatch?: string): Promise<void> {
    const id = (await this.resolveNetwork(idOrName)).value.id;
    await this.remove(this.keys.network(id), () => this.networkRecords.get(id).then((n) => n ?? missing('network', idOrName)), ifMatch, async (cur) => {
      const subnets = await this.subnetsOf(id);
      return {
        guards: [emptyPrefix(this.keys.endpoints(id)), ...subnets.map((s) => emptyPrefix(this.keys.ips(s.value.id)))],
        ops: [del(this.keys.network(id)), del(this.keys.networkName(cur.tenant, cur.name)), del(this.keys.vni(cur.vni)), delPrefix(this.keys.subnets(id))],
        explain: (found) => {
          const ep = found[1];
          if (ep) throw new ResourceConflictError('in-use', `network "${cur.name}" still has endpoints (e.g. ${lastSegment(ep.key)}): delete them first`, { network: id });
          const i = found.slice(2).findIndex((kv) => kv !== undefined);
          if (i >= 0) {
            const s = subnets[i]!.value;
            throw new ResourceConflictError('in-use', `subnet ${s.id} (${s.cidr}) of network "${cur.name}" still has allocated addresses`, { subnet: s.id });
          }
        },
      };
    });
  }

  // ---------------------------------------------------------------- subnets

  /** Subnets, of one network (id or name) or all, sorted by id. */
  async listSubnets(filter: { network?: string } = {}): Promise<Versioned<Subnet>[]> {
    if (filter.network !== undefined) return this.subnetsOf((await this.resolveNetwork(filter.network)).value.id);
    return (await new Collection<Subnet>(this.client, this.keys.subnets()).list()).sort((x, y) => cmp(x.value.id, y.value.id));
  }

  async getSubnet(id: string): Promise<Versioned<Subnet>> {
    const found = await this.findSubnet(id);
    if (!found) throw new ResourceNotFoundError('subnet', id);
    return found;
  }

  async createSubnet(input: CreateSubnetInput): Promise<Versioned<Subnet>> {
    const network = (await this.resolveNetwork(input.network)).value;
    const parsed = parseCidr(input.cidr);
    const cidr = parsed.cidr;
    const gateway = input.gateway === undefined ? defaultGateway(cidr) : input.gateway === null ? null : validateGateway(cidr, input.gateway);
    const allocationPools = input.allocationPools ? validateAllocationPools(cidr, gateway, input.allocationPools) : defaultAllocationPools(cidr, gateway);
    const at = now();
    const subnet: Subnet = {
      id: randomUUID(),
      network: network.id,
      cidr,
      ipVersion: parsed.version,
      gateway,
      allocationPools,
      dhcp: input.dhcp ?? true,
      dnsServers: (input.dnsServers ?? []).map(canonicalIp),
      routes: (input.routes ?? []).map(canonicalRoute),
      createdAt: at,
      updatedAt: at,
    };
    const prefix = this.keys.subnets(network.id);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const { kvs, revision } = await this.rangeAt(prefix);
      for (const kv of kvs) {
        const other = JSON.parse(kv.value.toString()) as Subnet;
        if (cidrsOverlap(other.cidr, cidr)) {
          throw new ResourceConflictError('overlap', `${cidr} overlaps subnet ${other.id} (${other.cidr}) of network "${network.name}"`, {
            subnet: other.id,
            cidr: other.cidr,
          });
        }
      }
      const res = await this.txn(
        [present(this.keys.network(network.id)), noneCreatedSince(prefix, revision)],
        [put(this.keys.subnet(network.id, subnet.id), subnet)],
      );
      if (res.succeeded) return { value: subnet, revision: res.revision };
      if (!res.found[0]) throw new ResourceNotFoundError('network', input.network);
      // Another subnet appeared meanwhile: check overlap again.
    }
    throw new ConflictError(`subnets of network ${network.id} kept changing during ${MAX_ATTEMPTS} attempts`, { recoverable: true });
  }

  async updateSubnet(id: string, patch: SubnetPatch, ifMatch?: string): Promise<Versioned<Subnet>> {
    const first = await this.getSubnet(id);
    const key = this.keys.subnet(first.value.network, id);
    const dnsServers = patch.dnsServers?.map(canonicalIp);
    const routes = patch.routes?.map(canonicalRoute);
    return this.modify(key, () => this.getSubnet(id), ifMatch, async (cur) => ({
      value: {
        ...cur,
        ...(patch.dhcp !== undefined ? { dhcp: patch.dhcp } : {}),
        ...(dnsServers ? { dnsServers } : {}),
        ...(routes ? { routes } : {}),
        updatedAt: now(),
      },
    }));
  }

  /** Deletes a subnet none of whose addresses is allocated. */
  async deleteSubnet(id: string, ifMatch?: string): Promise<void> {
    const first = await this.getSubnet(id);
    const key = this.keys.subnet(first.value.network, id);
    await this.remove(key, () => this.getSubnet(id), ifMatch, async (cur) => ({
      guards: [emptyPrefix(this.keys.ips(id))],
      ops: [del(key)],
      explain: (found) => {
        const ip = found[1];
        if (ip) {
          throw new ResourceConflictError('in-use', `subnet ${id} (${cur.cidr}) still has allocated addresses (e.g. ${lastSegment(ip.key)} of endpoint ${ip.value.toString()})`, {
            subnet: id,
          });
        }
      },
    }));
  }

  // ---------------------------------------------------------------- endpoints

  /** Endpoints, of one network (id or name) or all, sorted by id. */
  async listEndpoints(filter: { network?: string } = {}): Promise<Versioned<Endpoint>[]> {
    const prefix = filter.network === undefined ? this.keys.endpoints() : this.keys.endpoints((await this.resolveNetwork(filter.network)).value.id);
    return (await new Collection<Endpoint>(this.client, prefix).list()).sort((x, y) => cmp(x.value.id, y.value.id));
  }

  /** Every binding, by endpoint id (for list views). */
  async listBindings(): Promise<Map<string, Binding>> {
    return new Map((await this.bindingRecords.list()).map((x) => [x.value.endpoint, x.value]));
  }

  /** The endpoint and its binding (where a host reported it attached), if any. */
  async getEndpoint(id: string): Promise<EndpointDetail> {
    const [endpoint, binding] = await Promise.all([this.findEndpoint(id), this.bindingRecords.get(id)]);
    if (!endpoint) throw new ResourceNotFoundError('endpoint', id);
    return { ...endpoint, binding: binding?.value };
  }

  /**
   * Creates an endpoint: the MAC given or generated, the addresses given (each
   * inside a subnet of the network) or one allocated per subnet, all claimed in
   * one transaction. A generated MAC or an allocated address that another member
   * took meanwhile is replaced and the transaction retried.
   */
  async createEndpoint(input: CreateEndpointInput): Promise<Versioned<Endpoint>> {
    const id = input.id === undefined ? randomUUID() : checkId('endpoint id', input.id);
    const network = (await this.resolveNetwork(input.network)).value;
    const givenMac = input.mac === undefined ? undefined : canonicalMac(input.mac);
    const name = input.name ?? '';
    if (name.length > 253) throw new InvalidRequestError('endpoint name is longer than 253 characters');
    const kind = input.kind ?? 'other';
    const labels = { ...(input.labels ?? {}) };
    const securityGroups = [...new Set(input.securityGroups ?? [])];
    /** Addresses other members took while we tried, by subnet: never offered again. */
    const lost = new Map<string, Set<string>>();
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const subnets = (await this.subnetsOf(network.id)).map((s) => s.value).sort(bySubnetOrder);
      /** `<subnet>/<ip>` this attempt holds in pendingIps, released once the transaction is decided. */
      const pending: string[] = [];
      let res: TxnOutcome;
      let claims: { subnet: string; ip: string }[];
      let endpoint: Endpoint;
      try {
        claims = input.ips === undefined ? await this.allocate(subnets, lost, attempt, pending) : this.claimGiven(network, subnets, input.ips);
        const mac = givenMac ?? generateMac();
        const at = now();
        endpoint = { id, name, network: network.id, mac, ips: claims.map((c) => c.ip), kind, labels, securityGroups, createdAt: at, updatedAt: at };
        const usedSubnets = [...new Set(claims.map((c) => c.subnet))];
        res = await this.txn(
          [
            absent(this.keys.endpointNetwork(id)),
            absent(this.keys.mac(mac)),
            present(this.keys.network(network.id)),
            ...claims.map((c) => absent(this.keys.ip(c.subnet, c.ip))),
            ...usedSubnets.map((s) => present(this.keys.subnet(network.id, s))),
          ],
          [
            put(this.keys.endpoint(network.id, id), endpoint),
            put(this.keys.endpointNetwork(id), network.id),
            put(this.keys.mac(mac), id),
            ...claims.map((c) => put(this.keys.ip(c.subnet, c.ip), id)),
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
      if (macTaken && givenMac !== undefined) {
        throw new ResourceConflictError('duplicate', `MAC ${mac} is already used by endpoint ${macTaken.value.toString()}`, { mac, endpoint: macTaken.value.toString() });
      }
      claims.forEach((c, i) => {
        const holder = rest[i];
        if (!holder) return;
        if (input.ips !== undefined) {
          throw new ResourceConflictError('duplicate', `address ${c.ip} is already used by endpoint ${holder.value.toString()}`, { ip: c.ip, endpoint: holder.value.toString() });
        }
        const set = lost.get(c.subnet) ?? new Set<string>();
        set.add(c.ip);
        lost.set(c.subnet, set);
      });
      // A generated MAC, an allocated address or a subnet changed under us: try again.
    }
    throw new ConflictError(`could not claim addresses for endpoint ${id} in ${MAX_ATTEMPTS} attempts (heavy contention)`, { recoverable: true });
  }

  async updateEndpoint(id: string, patch: EndpointPatch, ifMatch?: string): Promise<Versioned<Endpoint>> {
    const first = await this.findEndpoint(id);
    if (!first) throw new ResourceNotFoundError('endpoint', id);
    const key = this.keys.endpoint(first.value.network, id);
    if (patch.name !== undefined && patch.name.length > 253) throw new InvalidRequestError('endpoint name is longer than 253 characters');
    return this.modify(key, () => this.findEndpoint(id).then((e) => e ?? missing('endpoint', id)), ifMatch, async (cur) => ({
      value: {
        ...cur,
        ...(patch.name !== undefined ? { name: patch.name } : {}),
        ...(patch.labels !== undefined ? { labels: { ...patch.labels } } : {}),
        ...(patch.securityGroups !== undefined ? { securityGroups: [...new Set(patch.securityGroups)] } : {}),
        updatedAt: now(),
      },
    }));
  }

  /** Deletes an endpoint and, in the same transaction, frees its addresses and MAC and drops its binding. */
  async deleteEndpoint(id: string, ifMatch?: string): Promise<void> {
    const first = await this.findEndpoint(id);
    if (!first) throw new ResourceNotFoundError('endpoint', id);
    const key = this.keys.endpoint(first.value.network, id);
    await this.remove(key, () => this.findEndpoint(id).then((e) => e ?? missing('endpoint', id)), ifMatch, async (cur) => {
      const subnets = (await this.subnetsOf(cur.network)).map((s) => s.value);
      const ipKeys = cur.ips.flatMap((ip) => subnets.filter((s) => cidrContains(s.cidr, ip)).map((s) => this.keys.ip(s.id, ip)));
      return {
        guards: [],
        ops: [del(key), del(this.keys.endpointNetwork(id)), del(this.keys.mac(cur.mac)), ...ipKeys.map(del), del(this.keys.binding(id))],
      };
    });
  }

  // ---------------------------------------------------------------- internals

  /** One free address per IP family (first fit; after a lost race, a random skip spreads contenders). */
  private async allocate(
    subnets: readonly Subnet[],
    lost: ReadonlyMap<string, ReadonlySet<string>>,
    attempt: number,
    pending: string[],
  ): Promise<{ subnet: string; ip: string }[]> {
    const out: { subnet: string; ip: string }[] = [];
    // One address per IP family, from the first subnet of that family with room (subnets come in bySubnetOrder).
    const served = new Set<number>();
    const full: Subnet[] = [];
    for (const s of subnets) {
      if (served.has(s.ipVersion)) continue;
      const prefix = this.keys.ips(s.id);
      const taken = new Set((await this.rangeKvs(prefix, true)).map((kv) => kv.key.toString().slice(prefix.length)));
      for (const p of this.pendingIps) if (p.startsWith(`${s.id}/`)) taken.add(p.slice(s.id.length + 1));
      for (const ip of lost.get(s.id) ?? []) taken.add(ip);
      const skip = attempt === 0 ? 0 : randomInt(0, Math.min(2 ** attempt, 16));
      try {
        const ip = nextFreeAddress(s, taken, { skip });
        out.push({ subnet: s.id, ip });
        served.add(s.ipVersion);
        // Held before the next await, so this member's concurrent creates pass over it.
        pending.push(`${s.id}/${ip}`);
        this.pendingIps.add(`${s.id}/${ip}`);
      } catch (err) {
        if (!(err instanceof AddressExhaustedError)) throw err;
        full.push(s);
      }
    }
    const exhausted = full.filter((s) => !served.has(s.ipVersion));
    if (exhausted.length) {
      const cidrs = exhausted.map((s) => s.cidr);
      throw new ResourceConflictError('exhausted', `no free IPv${exhausted[0]!.ipVersion} address left in any subnet of the network (${cidrs.join(', ')})`, { cidrs });
    }
    return out;
  }

  /** Maps requested addresses to the subnets holding them. */
  private claimGiven(network: Network, subnets: readonly Subnet[], ips: readonly string[]): { subnet: string; ip: string }[] {
    const out: { subnet: string; ip: string }[] = [];
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

  private async subnetsOf(networkId: string): Promise<Versioned<Subnet>[]> {
    return (await new Collection<Subnet>(this.client, this.keys.subnets(networkId)).list()).sort((x, y) => cmp(x.value.id, y.value.id));
  }

  /** A subnet by id alone: the key holds its network, so scan subnet keys (few) for the id. */
  private async findSubnet(id: string): Promise<Versioned<Subnet> | undefined> {
    if (!ID_RE.test(id)) return undefined;
    const prefix = this.keys.subnets();
    const kv = (await this.rangeKvs(prefix, true)).find((k) => k.key.toString().endsWith(`/${id}`));
    if (!kv) return undefined;
    const network = kv.key.toString().slice(prefix.length).split('/')[0]!;
    return new Collection<Subnet>(this.client, this.keys.subnets(network)).get(id);
  }

  private async findEndpoint(id: string): Promise<Versioned<Endpoint> | undefined> {
    if (!ID_RE.test(id)) return undefined;
    const network = await this.getString(this.keys.endpointNetwork(id));
    if (network === undefined) return undefined;
    return new Collection<Endpoint>(this.client, this.keys.endpoints(network)).get(id);
  }

  /**
   * Read-modify-write of one record, retried while it changes under us; with
   * `ifMatch`, a record at another revision fails at once (ConflictError → 412).
   */
  private async modify<T>(
    key: string,
    load: () => Promise<Versioned<T>>,
    ifMatch: string | undefined,
    change: (cur: T) => Promise<{ value: T; guards?: Guard[]; ops?: IRequestOp[] }>,
  ): Promise<Versioned<T>> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const cur = await load();
      if (ifMatch !== undefined && cur.revision !== ifMatch) throw revisionMismatch(key, ifMatch, cur.revision);
      const plan = await change(cur.value);
      const res = await this.txn([atRevision(key, cur.revision), ...(plan.guards ?? [])], [put(key, plan.value), ...(plan.ops ?? [])]);
      if (res.succeeded) return { value: plan.value, revision: res.revision };
    }
    throw new ConflictError(`${key} kept changing during ${MAX_ATTEMPTS} attempts`, { recoverable: true });
  }

  /** Delete of one record (plus what `plan` adds), guarded like modify(); `explain` turns a failed guard into an error. */
  private async remove<T>(
    key: string,
    load: () => Promise<Versioned<T>>,
    ifMatch: string | undefined,
    plan: (cur: T) => Promise<{ guards: Guard[]; ops: IRequestOp[]; explain?: (found: readonly (IKeyValue | undefined)[]) => void }>,
  ): Promise<void> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const cur = await load();
      if (ifMatch !== undefined && cur.revision !== ifMatch) throw revisionMismatch(key, ifMatch, cur.revision);
      const p = await plan(cur.value);
      const res = await this.txn([atRevision(key, cur.revision), ...p.guards], p.ops);
      if (res.succeeded) return;
      p.explain?.(res.found);
    }
    throw new ConflictError(`${key} kept changing during ${MAX_ATTEMPTS} attempts`, { recoverable: true });
  }

  /** One etcd transaction; when it fails, reads back the first key at each guard to say why. */
  private async txn(guards: readonly Guard[], success: readonly IRequestOp[]): Promise<TxnOutcome> {
    const failure: IRequestOp[] = guards.map((g) => ({
      request_range: { key: b(g.key), ...(g.rangeEnd ? { range_end: b(g.rangeEnd), limit: 1 } : {}) },
    }));
    const res = await this.client.kv.txn({ compare: guards.map((g) => g.compare), success: [...success], failure });
    const found = res.succeeded ? [] : res.responses.map((r) => r.response_range?.kvs[0]);
    return { succeeded: res.succeeded, revision: res.header.revision, found };
  }

  private async getString(key: string): Promise<string | undefined> {
    const v = await this.client.get(key).string();
    return v ?? undefined;
  }

  /** Every key (and value unless keysOnly) under a prefix, read in pages. */
  private async rangeKvs(prefix: string, keysOnly: boolean): Promise<IKeyValue[]> {
    const out: IKeyValue[] = [];
    const end = b(prefixEnd(prefix));
    let from = b(prefix);
    for (;;) {
      const res = await this.client.kv.range({ key: from, range_end: end, limit: 1000, keys_only: keysOnly });
      out.push(...res.kvs);
      if (!res.more || res.kvs.length === 0) return out;
      from = Buffer.concat([res.kvs[res.kvs.length - 1]!.key, Buffer.from([0])]);
    }
  }

  /** Every key-value under a prefix and the store revision they were read at (one request). */
  private async rangeAt(prefix: string): Promise<{ kvs: IKeyValue[]; revision: string }> {
    const res = await this.client.kv.range({ key: b(prefix), range_end: b(prefixEnd(prefix)) });
    return { kvs: res.kvs, revision: res.header.revision };
  }
}

function implicitDefaultTenant(): Versioned<Tenant> {
  return { value: { id: DEFAULT_TENANT, name: DEFAULT_TENANT, createdAt: new Date(0).toISOString() }, revision: '0' };
}

function missing(kind: string, id: string): never {
  throw new ResourceNotFoundError(kind, id);
}

function revisionMismatch(key: string, expected: string, actual: string): ConflictError {
  return new ConflictError(`${key} is at revision ${actual}, not ${expected} (If-Match): read it again`);
}

function checkName(what: string, name: string): string {
  if (!NAME_RE.test(name)) {
    throw new InvalidRequestError(`${what} "${name}" is invalid: 1-63 characters, letters, digits, '_', '.', ':', '-', starting with a letter or digit`);
  }
  return name;
}

function checkId(what: string, id: string): string {
  if (!ID_RE.test(id)) throw new InvalidRequestError(`${what} "${id}" is invalid: 1-253 characters without '/' or whitespace`);
  return id;
}

function checkMtu(mtu: number): number {
  if (!Number.isInteger(mtu) || mtu < 576 || mtu > 9000) throw new InvalidRequestError(`mtu ${mtu} is out of range 576..9000`);
  return mtu;
}

function canonicalRoute(r: Route): Route {
  try {
    return { destination: canonicalCidr(r.destination), nexthop: canonicalIp(r.nexthop) };
  } catch (err) {
    throw new AddressError(`route ${r.destination} via ${r.nexthop}: ${(err as Error).message}`);
  }
}

/** IPv4 subnets first, then by creation: an endpoint's ips[0] is its first IPv4 address. */
function bySubnetOrder(x: Subnet, y: Subnet): number {
  return x.ipVersion - y.ipVersion || cmp(x.createdAt, y.createdAt) || cmp(x.id, y.id);
}

function cmp(x: string, y: string): number {
  return x < y ? -1 : x > y ? 1 : 0;
}

function lastSegment(key: Buffer): string {
  const s = key.toString();
  return s.slice(s.lastIndexOf('/') + 1);
}
