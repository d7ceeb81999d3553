/**
 * Floating IPs (SPEC §3): an address of an external network's subnet, claimed
 * in IPAM as `fip:<id>` (ips/<subnet>/<ip>) in the transaction that creates the
 * record, optionally assigned to one endpoint's fixed IPv4 address. Refused
 * with a precise problem: a network that is not external, an address outside
 * its subnets or taken, an endpoint without an IPv4 address or of another tenant,
 * or one whose subnet's router has no external gateway on that network.
 */
import { randomUUID } from 'node:crypto';
import { Collection, ConflictError, type Versioned } from './collection';
import { AddressExhaustedError, canonicalIp, cidrContains, nextFreeAddress, reservedReason } from './ipam';
import { compareIds, isoNow, throwNotFound } from './model-checks';
import { InvalidRequestError, ResourceConflictError, ResourceNotFoundError } from './model-errors';
import { addressHolder, findEndpoint, resolveNetwork, subnetsOf } from './model-reads';
import { DEFAULT_TENANT, type Endpoint, type FloatingIp, type Network, type Router, type Subnet } from './model';
import { absent, atRevision, del, getString, MAX_ATTEMPTS, put, rangeKvs, removeRecord, runTxn, type StoreContext } from './txn';

export interface CreateFloatingIpInput {
  /** External network id or name. */
  readonly network: string;
  readonly tenant?: string;
  readonly address?: string;
  readonly endpoint?: string | null;
  /** Which of the endpoint's IPv4 addresses (default: its first). */
  readonly fixedIp?: string;
}
export interface FloatingIpPatch {
  /** null releases it. */
  readonly endpoint: string | null;
  readonly fixedIp?: string;
}

export const floatingIpClaim = (id: string): string => `fip:${id}`;

export class FloatingIpStore {
  private readonly records: Collection<FloatingIp>;

  constructor(private readonly ctx: StoreContext) {
    this.records = new Collection<FloatingIp>(ctx.client, ctx.keys.floatingIps());
  }

  async list(filter: { tenant?: string; endpoint?: string } = {}): Promise<Versioned<FloatingIp>[]> {
    const all = (await this.records.list()).sort((x, y) => compareIds(x.value.address, y.value.address) || compareIds(x.value.id, y.value.id));
    return all.filter((f) => (filter.tenant === undefined || f.value.tenant === filter.tenant) && (filter.endpoint === undefined || f.value.endpoint === filter.endpoint));
  }

  async get(id: string): Promise<Versioned<FloatingIp>> {
    return (await this.records.get(id)) ?? throwNotFound('floating IP', id);
  }

  async create(input: CreateFloatingIpInput): Promise<Versioned<FloatingIp>> {
    const { keys } = this.ctx;
    const tenant = input.tenant ?? DEFAULT_TENANT;
    const network = (await resolveNetwork(this.ctx, input.network)).value;
    checkExternal(network);
    const subnets = (await subnetsOf(this.ctx, network.id)).map((s) => s.value).filter((s) => s.ipVersion === 4);
    if (!subnets.length) throw new ResourceConflictError('outside', `external network "${network.name}" has no IPv4 subnet to take a floating IP from`, { network: network.id });
    const assignment = input.endpoint ? await this.assignmentOf(input.endpoint, input.fixedIp, tenant, network) : { endpoint: null, fixedIp: null };
    const id = randomUUID();
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const { subnet, address } = input.address !== undefined ? givenAddress(network, subnets, input.address) : await this.freeAddress(network, subnets);
      const at = isoNow();
      const value: FloatingIp = { id, tenant, network: network.id, subnet: subnet.id, address, ...assignment, createdAt: at, updatedAt: at };
      const ipKey = keys.ip(subnet.id, address);
      const res = await runTxn(this.ctx, [absent(ipKey)], [put(keys.floatingIp(id), value), put(ipKey, floatingIpClaim(id))]);
      if (res.succeeded) return { value, revision: res.revision };
      if (input.address !== undefined) {
        const holder = await addressHolder(this.ctx, network.id, address, res.found[0]?.value.toString() ?? '');
        throw new ResourceConflictError('duplicate', `address ${address} of external network "${network.name}" is already used (by ${holder})`, { address, holder });
      }
    }
    throw new ResourceConflictError('exhausted', `no free address found in external network "${network.name}" in ${MAX_ATTEMPTS} attempts`);
  }

  /** (Re)assigns or releases (endpoint null) a floating IP. */
  async update(id: string, patch: FloatingIpPatch, ifMatch?: string): Promise<Versioned<FloatingIp>> {
    const { keys } = this.ctx;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const cur = await this.get(id);
      if (ifMatch !== undefined && cur.revision !== ifMatch) throw new ConflictError(`floating IP ${id} is at revision ${cur.revision}, not ${ifMatch} (If-Match): read it again`);
      const external = (await resolveNetwork(this.ctx, cur.value.network)).value;
      const assignment = patch.endpoint ? await this.assignmentOf(patch.endpoint, patch.fixedIp, cur.value.tenant, external) : { endpoint: null, fixedIp: null };
      const value: FloatingIp = { ...cur.value, ...assignment, updatedAt: isoNow() };
      const res = await runTxn(this.ctx, [atRevision(keys.floatingIp(id), cur.revision)], [put(keys.floatingIp(id), value)]);
      if (res.succeeded) return { value, revision: res.revision };
    }
    throw new ResourceConflictError('in-use', `floating IP ${id} kept changing during ${MAX_ATTEMPTS} attempts`);
  }

  async delete(id: string, ifMatch?: string): Promise<void> {
    const { keys } = this.ctx;
    await removeRecord(this.ctx, keys.floatingIp(id), () => this.get(id), ifMatch, async (cur) => ({
      guards: [],
      ops: [del(keys.floatingIp(id)), del(keys.ip(cur.subnet, cur.address))],
    }));
  }

  private async assignmentOf(endpointId: string, fixedIp: string | undefined, tenant: string, externalNetwork: Network): Promise<{ endpoint: string; fixedIp: string }> {
    const endpoint: Endpoint = (await findEndpoint(this.ctx, endpointId))?.value ?? throwNotFound('endpoint', endpointId);
    const network = (await resolveNetwork(this.ctx, endpoint.network)).value;
    if (network.tenant !== tenant) throw new ResourceNotFoundError('endpoint', endpointId);
    if (network.external) throw new InvalidRequestError(`endpoint ${endpoint.id} is on external network "${network.name}" itself: a floating IP is for an endpoint behind a router`);
    const v4 = endpoint.ips.filter((ip) => !ip.includes(':'));
    const ip = fixedIp === undefined ? v4[0] : canonicalIp(fixedIp);
    if (ip === undefined) throw new InvalidRequestError(`endpoint ${endpoint.id} has no IPv4 address for a floating IP (floating IPs are IPv4)`);
    if (!v4.includes(ip)) throw new InvalidRequestError(`fixedIp ${ip} is not an IPv4 address of endpoint ${endpoint.id} (${endpoint.ips.join(', ') || 'none'})`);
    await this.checkReachable(endpoint, network, ip, externalNetwork);
    return { endpoint: endpoint.id, fixedIp: ip };
  }

  /** The fixed IP's subnet must be on a router whose external gateway is the floating IP's network (else nothing carries it). */
  private async checkReachable(endpoint: Endpoint, network: Network, ip: string, external: Network): Promise<void> {
    const subnet = (await subnetsOf(this.ctx, network.id)).map((s) => s.value).find((s) => cidrContains(s.cidr, ip));
    const routerId = subnet ? await getString(this.ctx, this.ctx.keys.routerSubnet(subnet.id)) : undefined;
    const router = routerId === undefined ? undefined : await new Collection<Router>(this.ctx.client, this.ctx.keys.routers()).get(routerId);
    if (!router || router.value.externalGateway?.network !== external.id) {
      const where = router ? `router "${router.value.name}" of subnet ${subnet!.cidr} has no external gateway on "${external.name}"` : `subnet ${subnet?.cidr ?? ip} is on no router`;
      throw new ResourceConflictError('outside', `external network "${external.name}" is not reachable from endpoint ${endpoint.id} (${ip}): ${where}; set the router's externalGateway first`, {
        endpoint: endpoint.id,
        network: external.id,
      });
    }
  }

  private async freeAddress(network: Network, subnets: readonly Subnet[]): Promise<{ subnet: Subnet; address: string }> {
    for (const s of subnets) {
      const taken = new Set((await rangeKvs(this.ctx, this.ctx.keys.ips(s.id), true)).map((kv) => this.ctx.keys.ipOf(kv.key.toString())));
      try {
        return { subnet: s, address: nextFreeAddress(s, taken) };
      } catch (err) {
        if (!(err instanceof AddressExhaustedError)) throw err;
      }
    }
    throw new ResourceConflictError('exhausted', `no free address left in external network "${network.name}" (${subnets.map((s) => s.cidr).join(', ')})`);
  }
}

/** Floating IPs come only from external networks: the refusal names the network and how to make one. */
export function checkExternal(network: Network): void {
  if (!network.external) {
    throw new InvalidRequestError(
      `network "${network.name}" (${network.id}) is not external: floating IPs and router gateways take addresses from a network created with "external": true and a "physicalNetwork"`,
    );
  }
}

function givenAddress(network: Network, subnets: readonly Subnet[], given: string): { subnet: Subnet; address: string } {
  const address = canonicalIp(given);
  const subnet = subnets.find((s) => cidrContains(s.cidr, address));
  if (!subnet) throw new InvalidRequestError(`address ${address} is in no subnet of external network "${network.name}" (${subnets.map((s) => s.cidr).join(', ')})`);
  const reserved = reservedReason(subnet, address);
  if (reserved) throw new InvalidRequestError(`address ${address} is ${reserved}`);
  if (address === subnet.gateway) throw new InvalidRequestError(`address ${address} is the gateway of ${subnet.cidr}`);
  return { subnet, address };
}
