/**
 * Subnets (SPEC §3): CIDR, gateway, allocation pools, DHCP options. A subnet
 * is created only if no subnet of its network appeared since the overlap check
 * (a range compare on create revisions), and deleted only while none of its
 * addresses is allocated.
 */
import { randomUUID } from 'node:crypto';
import { Collection, ConflictError, type Versioned } from './collection';
import {
  AddressError,
  canonicalCidr,
  canonicalIp,
  cidrsOverlap,
  defaultAllocationPools,
  defaultGateway,
  parseCidr,
  validateAllocationPools,
  validateGateway,
} from './ipam';
import { compareIds, isoNow } from './model-checks';
import { ResourceConflictError, ResourceNotFoundError } from './model-errors';
import { addressHolder, findSubnet, resolveNetwork, subnetsOf } from './model-reads';
import type { AllocationPool, Route, Subnet } from './model';
import { absent, del, emptyPrefix, MAX_ATTEMPTS, modifyRecord, noneCreatedSince, present, put, rangeAt, removeRecord, runTxn, type StoreContext } from './txn';

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

export class SubnetStore {
  constructor(private readonly ctx: StoreContext) {}

  /** Subnets, of one network (id or name) or all, sorted by id. */
  async list(filter: { network?: string } = {}): Promise<Versioned<Subnet>[]> {
    if (filter.network !== undefined) return subnetsOf(this.ctx, (await resolveNetwork(this.ctx, filter.network)).value.id);
    return (await new Collection<Subnet>(this.ctx.client, this.ctx.keys.subnets()).list()).sort((x, y) => compareIds(x.value.id, y.value.id));
  }

  async get(id: string): Promise<Versioned<Subnet>> {
    const found = await findSubnet(this.ctx, id);
    if (!found) throw new ResourceNotFoundError('subnet', id);
    return found;
  }

  async create(input: CreateSubnetInput): Promise<Versioned<Subnet>> {
    const { keys } = this.ctx;
    const network = (await resolveNetwork(this.ctx, input.network)).value;
    const parsed = parseCidr(input.cidr);
    const cidr = parsed.cidr;
    const gateway = input.gateway === undefined ? defaultGateway(cidr) : input.gateway === null ? null : validateGateway(cidr, input.gateway);
    const allocationPools = input.allocationPools ? validateAllocationPools(cidr, gateway, input.allocationPools) : defaultAllocationPools(cidr, gateway);
    const at = isoNow();
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
    const prefix = keys.subnets(network.id);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const { kvs, revision } = await rangeAt(this.ctx, prefix);
      for (const kv of kvs) {
        const other = JSON.parse(kv.value.toString()) as Subnet;
        if (cidrsOverlap(other.cidr, cidr)) {
          throw new ResourceConflictError('overlap', `${cidr} overlaps subnet ${other.id} (${other.cidr}) of network "${network.name}"`, {
            subnet: other.id,
            cidr: other.cidr,
          });
        }
      }
      const res = await runTxn(this.ctx, [present(keys.network(network.id)), noneCreatedSince(prefix, revision)], [put(keys.subnet(network.id, subnet.id), subnet)]);
      if (res.succeeded) return { value: subnet, revision: res.revision };
      if (!res.found[0]) throw new ResourceNotFoundError('network', input.network);
      // Another subnet appeared meanwhile: check overlap again.
    }
    throw new ConflictError(`subnets of network ${network.id} kept changing during ${MAX_ATTEMPTS} attempts`, { recoverable: true });
  }

  async update(id: string, patch: SubnetPatch, ifMatch?: string): Promise<Versioned<Subnet>> {
    const first = await this.get(id);
    const key = this.ctx.keys.subnet(first.value.network, id);
    const dnsServers = patch.dnsServers?.map(canonicalIp);
    const routes = patch.routes?.map(canonicalRoute);
    return modifyRecord(this.ctx, key, () => this.get(id), ifMatch, async (cur) => ({
      value: {
        ...cur,
        ...(patch.dhcp !== undefined ? { dhcp: patch.dhcp } : {}),
        ...(dnsServers ? { dnsServers } : {}),
        ...(routes ? { routes } : {}),
        updatedAt: isoNow(),
      },
    }));
  }

  /** Deletes a subnet none of whose addresses is allocated. */
  async delete(id: string, ifMatch?: string): Promise<void> {
    const { keys } = this.ctx;
    const first = await this.get(id);
    const key = keys.subnet(first.value.network, id);
    await removeRecord(this.ctx, key, () => this.get(id), ifMatch, async (cur) => ({
      guards: [emptyPrefix(keys.ips(id)), absent(keys.routerSubnet(id))],
      ops: [del(key), del(keys.ipamCursor(id))],
      explain: async (found) => {
        const router = found[2];
        if (router) throw new ResourceConflictError('in-use', `subnet ${id} (${cur.cidr}) is on router ${router.value.toString()}: remove the router interface first`, { subnet: id, router: router.value.toString() });
        const ip = found[1];
        if (ip) {
          const address = keys.ipOf(ip.key.toString());
          const holder = await addressHolder(this.ctx, cur.network, address, ip.value.toString());
          throw new ResourceConflictError('in-use', `subnet ${id} (${cur.cidr}) still has allocated addresses (e.g. ${address} of endpoint ${holder})`, {
            subnet: id,
          });
        }
      },
    }));
  }
}

function canonicalRoute(r: Route): Route {
  try {
    return { destination: canonicalCidr(r.destination), nexthop: canonicalIp(r.nexthop) };
  } catch (err) {
    throw new AddressError(`route ${r.destination} via ${r.nexthop}: ${(err as Error).message}`);
  }
}
