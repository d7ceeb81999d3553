/**
 * Lookups the model stores share: a network by id or name, a network's
 * subnets, a subnet or an endpoint by id alone. Reads only; every write goes
 * through txn.ts.
 */
import { Collection, type Versioned } from './collection';
import { compareIds, ID_RE, NAME_RE } from './model-checks';
import { ResourceConflictError, ResourceNotFoundError } from './model-errors';
import { DEFAULT_TENANT, type Endpoint, type Network, type Subnet } from './model';
import { endpointCollection } from './stored-form';
import { getString, rangeKvs, type StoreContext } from './txn';

/**
 * A network by id or by name: the id first, then the name in `tenant` when
 * given, else in the default tenant, else in whichever single tenant has it
 * (several → 409 ambiguous).
 */
export async function resolveNetwork(ctx: StoreContext, idOrName: string, tenant?: string): Promise<Versioned<Network>> {
  const networks = new Collection<Network>(ctx.client, ctx.keys.networks());
  const byId = ID_RE.test(idOrName) ? await networks.get(idOrName) : undefined;
  if (byId) return byId;
  if (!NAME_RE.test(idOrName)) throw new ResourceNotFoundError('network', idOrName);
  const id = await getString(ctx, ctx.keys.networkName(tenant ?? DEFAULT_TENANT, idOrName));
  if (id !== undefined) {
    const n = await networks.get(id);
    if (n) return n;
  }
  if (tenant === undefined) {
    const matches = (await rangeKvs(ctx, ctx.keys.networkNames(), false)).filter((kv) => ctx.keys.networkNameOf(kv.key.toString()).name === idOrName);
    if (matches.length > 1) {
      const owners = matches.map((kv) => ctx.keys.networkNameOf(kv.key.toString()).tenant);
      throw new ResourceConflictError('ambiguous', `network name "${idOrName}" exists in tenants ${owners.join(', ')}: use the network id`, { tenants: owners });
    }
    if (matches.length === 1) {
      const n = await networks.get(matches[0]!.value.toString());
      if (n) return n;
    }
  }
  throw new ResourceNotFoundError('network', idOrName);
}

/** A network's subnets, sorted by id. */
export async function subnetsOf(ctx: StoreContext, networkId: string): Promise<Versioned<Subnet>[]> {
  return (await new Collection<Subnet>(ctx.client, ctx.keys.subnets(networkId)).list()).sort((x, y) => compareIds(x.value.id, y.value.id));
}

/** A subnet by id alone: the key holds its network, so scan subnet keys (few) for the id. */
export async function findSubnet(ctx: StoreContext, id: string): Promise<Versioned<Subnet> | undefined> {
  if (!ID_RE.test(id)) return undefined;
  const kv = (await rangeKvs(ctx, ctx.keys.subnets(), true)).find((k) => ctx.keys.subnetOf(k.key.toString()).id === id);
  if (!kv) return undefined;
  const network = ctx.keys.subnetOf(kv.key.toString()).network;
  return new Collection<Subnet>(ctx.client, ctx.keys.subnets(network)).get(id);
}

/**
 * Who holds an address, from the value of its ips/<subnet>/<ip> key: a
 * router's or floating IP's claim as it is, an endpoint's id as the previous
 * version wrote it, or (an endpoint claims with an empty value: the key alone
 * says "taken", SPEC §12 ≤ 1 KiB per endpoint) the endpoint of the network
 * holding the address. Read only to explain a refusal.
 */
export async function addressHolder(ctx: StoreContext, networkId: string, ip: string, value: string): Promise<string> {
  if (value !== '') return value;
  const holder = (await endpointCollection(ctx.client, ctx.keys, networkId).list()).find((e) => e.value.ips.includes(ip));
  return holder?.value.id ?? '(deleted since)';
}

/** An endpoint by id alone, through endpoint-networks/<id>. */
export async function findEndpoint(ctx: StoreContext, id: string): Promise<Versioned<Endpoint> | undefined> {
  if (!ID_RE.test(id)) return undefined;
  const network = await getString(ctx, ctx.keys.endpointNetwork(id));
  if (network === undefined) return undefined;
  return endpointCollection(ctx.client, ctx.keys, network).get(id);
}
