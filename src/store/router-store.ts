/**
 * Routers (SPEC §3, §11): a name unique per tenant (router-names/<tenant>/<name>),
 * interfaces on subnets of the router's own tenant, static routes whose next
 * hop lies in one of its subnets. A subnet is on one router at most
 * (router-subnets/<subnet>, claimed in the transaction that adds the
 * interface); a gateway address other than the subnet's reserved gateway is
 * claimed in IPAM (ips/<subnet>/<ip> = `router:<id>`), so no endpoint holds it
 * and none is given it later. A router is deleted only without interfaces.
 */
import { createHash, randomUUID } from 'node:crypto';
import { formatMac } from '../../protocols/packet/address';
import { Collection, ConflictError, type Versioned } from './collection';
import { AddressError, AddressExhaustedError, canonicalCidr, nextFreeAddress, canonicalIp, cidrContains, cidrsOverlap, parseCidr, parseIp } from './ipam';
import { checkName, compareIds, isoNow, throwNotFound } from './model-checks';
import { InvalidRequestError, ResourceConflictError, ResourceNotFoundError } from './model-errors';
import { checkExternal } from './floating-ip-store';
import { addressHolder, findSubnet, resolveNetwork, subnetsOf } from './model-reads';
import { DEFAULT_TENANT, type ExternalGateway, type Route, type Router, type Subnet } from './model';
import type { IRequestOp } from 'etcd3';
import { absent, atRevision, del, getString, MAX_ATTEMPTS, modifyRecord, present, put, rangeKvs, removeRecord, runTxn, type Guard, type StoreContext } from './txn';

export interface CreateRouterInput {
  readonly name: string;
  readonly tenant?: string;
  readonly routes?: readonly Route[];
}
export interface RouterPatch {
  readonly name?: string;
  readonly routes?: readonly Route[];
  /** External networks: set (SNAT on by default) or remove (null) the router's way out. */
  readonly externalGateway?: { readonly network: string; readonly snat?: boolean } | null;
}
export interface AddInterfaceInput {
  /** Subnet id. */
  readonly subnet: string;
  /** The router's address on the subnet; default the subnet's gateway. */
  readonly ip?: string;
}

/** What an address claimed by a router holds under ips/<subnet>/<ip>. */
export const routerClaim = (routerId: string): string => `router:${routerId}`;

/**
 * The router's MAC: locally administered unicast (first octet 0x0e, apart from the DHCP server's 0a:...), the
 * other five octets from SHA-256 of the id, so every member and every restart
 * compute the same one.
 */
export function routerMacOf(routerId: string): string {
  const h = createHash('sha256').update(`router:${routerId}`).digest();
  return formatMac(Buffer.from([0x0e, h[0]!, h[1]!, h[2]!, h[3]!, h[4]!]));
}

export class RouterStore {
  private readonly records: Collection<Router>;

  constructor(private readonly ctx: StoreContext) {
    this.records = new Collection<Router>(ctx.client, ctx.keys.routers());
  }

  async list(filter: { tenant?: string } = {}): Promise<Versioned<Router>[]> {
    const all = (await this.records.list()).sort((x, y) => compareIds(x.value.name, y.value.name) || compareIds(x.value.id, y.value.id));
    return filter.tenant === undefined ? all : all.filter((r) => r.value.tenant === filter.tenant);
  }

  /** A router by id, else by name in `tenant` (default tenant when not given, else the only tenant that has it). */
  async resolve(idOrName: string, tenant?: string): Promise<Versioned<Router>> {
    const byId = await this.records.get(idOrName).catch(() => undefined);
    if (byId) return byId;
    const id = await getString(this.ctx, this.ctx.keys.routerName(tenant ?? DEFAULT_TENANT, idOrName));
    const named = id === undefined ? undefined : await this.records.get(id);
    if (named) return named;
    if (tenant === undefined) {
      const matches = (await this.records.list()).filter((r) => r.value.name === idOrName);
      if (matches.length === 1) return matches[0]!;
      if (matches.length > 1) {
        const tenants = matches.map((r) => r.value.tenant);
        throw new ResourceConflictError('ambiguous', `router name "${idOrName}" exists in tenants ${tenants.join(', ')}: use the router id`, { tenants });
      }
    }
    throw new ResourceNotFoundError('router', idOrName);
  }

  /** The router holding a subnet, if any. */
  async ofSubnet(subnetId: string): Promise<Versioned<Router> | undefined> {
    const id = await getString(this.ctx, this.ctx.keys.routerSubnet(subnetId));
    return id === undefined ? undefined : this.records.get(id);
  }

  async create(input: CreateRouterInput): Promise<Versioned<Router>> {
    const { keys } = this.ctx;
    const name = checkName('router name', input.name);
    const tenant = input.tenant ?? DEFAULT_TENANT;
    checkName('tenant', tenant);
    const id = randomUUID();
    const at = isoNow();
    const router: Router = { id, name, tenant, mac: routerMacOf(id), interfaces: [], routes: [], createdAt: at, updatedAt: at };
    const routes = checkRoutes(router, input.routes ?? []);
    const value = { ...router, routes };
    const nameKey = keys.routerName(tenant, name);
    const tenantGuard = tenant === DEFAULT_TENANT ? [] : [present(keys.tenant(tenant))];
    const res = await runTxn(this.ctx, [absent(nameKey), ...tenantGuard], [put(keys.router(id), value), put(nameKey, id)]);
    if (res.succeeded) return { value, revision: res.revision };
    const [nameTaken] = res.found;
    if (nameTaken) {
      throw new ResourceConflictError('duplicate', `router "${name}" already exists in tenant "${tenant}" (id ${nameTaken.value.toString()})`, { router: nameTaken.value.toString() });
    }
    throw new ResourceNotFoundError('tenant', tenant);
  }

  async update(idOrName: string, patch: RouterPatch, ifMatch?: string): Promise<Versioned<Router>> {
    const { keys } = this.ctx;
    const id = (await this.resolve(idOrName)).value.id;
    const newName = patch.name === undefined ? undefined : checkName('router name', patch.name);
    return modifyRecord(this.ctx, keys.router(id), () => this.load(id, idOrName), ifMatch, async (cur) => {
      const routes = patch.routes === undefined ? cur.routes : checkRoutes(cur, patch.routes);
      const gateway = patch.externalGateway === undefined ? undefined : await planExternalGateway(this.ctx, cur, patch.externalGateway);
      const base: Router = { ...cur, ...(newName !== undefined ? { name: newName } : {}), routes, updatedAt: isoNow() };
      const value: Router = gateway === undefined ? base : withGateway(base, gateway.value);
      if (newName === undefined || newName === cur.name) return { value, ...(gateway ? { guards: gateway.guards, ops: gateway.ops } : {}) };
      if (gateway) throw new InvalidRequestError('rename a router and change its externalGateway in two requests');
      const newKey = keys.routerName(cur.tenant, newName);
      const holder = await getString(this.ctx, newKey);
      if (holder !== undefined) throw new ResourceConflictError('duplicate', `router "${newName}" already exists in tenant "${cur.tenant}" (id ${holder})`, { router: holder });
      return { value, guards: [absent(newKey)], ops: [del(keys.routerName(cur.tenant, cur.name)), put(newKey, id)] };
    });
  }

  /**
   * Puts the router on a subnet. Refused: a subnet of another tenant's network
   * (404 to a tenant, 409 to an admin), a subnet already on a router, a subnet
   * overlapping one the router already has, no address (a subnet without
   * gateway and no `ip`), an address outside the subnet or used by an endpoint.
   */
  async addInterface(idOrName: string, input: AddInterfaceInput, ifMatch?: string): Promise<Versioned<Router>> {
    const { keys } = this.ctx;
    const id = (await this.resolve(idOrName)).value.id;
    const subnet = (await findSubnet(this.ctx, input.subnet))?.value ?? throwNotFound('subnet', input.subnet);
    const network = (await resolveNetwork(this.ctx, subnet.network)).value;
    const ip = gatewayOf(subnet, input.ip);
    const claimsIp = ip !== subnet.gateway;
    const ipKey = keys.ip(subnet.id, ip);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const cur = await this.load(id, idOrName);
      if (ifMatch !== undefined && cur.revision !== ifMatch) throw new ConflictError(`${keys.router(id)} is at revision ${cur.revision}, not ${ifMatch} (If-Match): read it again`);
      const router = cur.value;
      if (network.tenant !== router.tenant) {
        throw new ResourceConflictError('tenant', `subnet ${subnet.id} belongs to network "${network.name}" of tenant "${network.tenant}", router "${router.name}" to tenant "${router.tenant}": a router's networks must share its tenant`, {
          subnet: subnet.id,
          tenant: network.tenant,
        });
      }
      if (router.interfaces.some((i) => i.subnet === subnet.id)) throw new ResourceConflictError('duplicate', `router "${router.name}" already has an interface on subnet ${subnet.id} (${subnet.cidr})`, { subnet: subnet.id });
      const clash = router.interfaces.find((i) => cidrsOverlap(i.cidr, subnet.cidr));
      if (clash) {
        throw new ResourceConflictError('overlap', `subnet ${subnet.cidr} overlaps subnet ${clash.subnet} (${clash.cidr}) already on router "${router.name}": a router's subnets must not overlap`, {
          subnet: clash.subnet,
          cidr: clash.cidr,
        });
      }
      const value: Router = { ...router, interfaces: [...router.interfaces, { subnet: subnet.id, network: network.id, cidr: subnet.cidr, ip }], updatedAt: isoNow() };
      const subnetKey = keys.subnet(network.id, subnet.id);
      const res = await runTxn(
        this.ctx,
        [atRevision(keys.router(id), cur.revision), absent(keys.routerSubnet(subnet.id)), present(subnetKey), ...(claimsIp ? [absent(ipKey)] : [])],
        [put(keys.router(id), value), put(keys.routerSubnet(subnet.id), id), ...(claimsIp ? [put(ipKey, routerClaim(id))] : [])],
      );
      if (res.succeeded) return { value, revision: res.revision };
      const [routerSame, subnetHolder, subnetFound, ipHolder] = res.found;
      if (routerSame && String(routerSame.mod_revision) !== cur.revision) continue; // the router changed: read it again
      if (subnetHolder) {
        throw new ResourceConflictError('in-use', `subnet ${subnet.id} (${subnet.cidr}) is already on router ${subnetHolder.value.toString()}`, { subnet: subnet.id, router: subnetHolder.value.toString() });
      }
      if (!subnetFound) throw new ResourceNotFoundError('subnet', input.subnet);
      if (ipHolder) {
        const holder = await addressHolder(this.ctx, subnet.network, ip, ipHolder.value.toString());
        throw new ResourceConflictError('duplicate', `gateway address ${ip} is already used by endpoint ${holder} in subnet ${subnet.cidr}`, { ip, endpoint: holder });
      }
    }
    throw new ResourceConflictError('in-use', `router ${id} kept changing during ${MAX_ATTEMPTS} attempts`);
  }

  /** Takes the router off a subnet (refused while a static route's next hop is in it). */
  async removeInterface(idOrName: string, subnetId: string, ifMatch?: string): Promise<Versioned<Router>> {
    const { keys } = this.ctx;
    const id = (await this.resolve(idOrName)).value.id;
    return modifyRecord(this.ctx, keys.router(id), () => this.load(id, idOrName), ifMatch, async (cur) => {
      const leg = cur.interfaces.find((i) => i.subnet === subnetId);
      if (!leg) throw new ResourceNotFoundError('router interface', `${cur.name}/${subnetId}`);
      const via = cur.routes.find((r) => cidrContains(leg.cidr, r.nexthop));
      if (via) {
        throw new ResourceConflictError('in-use', `static route ${via.destination} via ${via.nexthop} of router "${cur.name}" goes through subnet ${subnetId}: remove the route first`, { route: via.destination });
      }
      const value: Router = { ...cur, interfaces: cur.interfaces.filter((i) => i !== leg), updatedAt: isoNow() };
      const ipKey = keys.ip(subnetId, leg.ip);
      const claimed = (await getString(this.ctx, ipKey)) === routerClaim(id);
      return { value, ops: [del(keys.routerSubnet(subnetId)), ...(claimed ? [del(ipKey)] : [])] };
    });
  }

  /** Deletes a router without interfaces (409 in-use otherwise, naming them). */
  async delete(idOrName: string, ifMatch?: string): Promise<void> {
    const { keys } = this.ctx;
    const id = (await this.resolve(idOrName)).value.id;
    await removeRecord(this.ctx, keys.router(id), () => this.load(id, idOrName), ifMatch, async (cur) => {
      if (cur.interfaces.length) {
        const subnets = cur.interfaces.map((i) => i.subnet);
        throw new ResourceConflictError('in-use', `router "${cur.name}" still has ${subnets.length} interface(s) (on subnets ${subnets.join(', ')}): remove them first`, { subnets });
      }
      const gateway = cur.externalGateway ? [del(keys.ip(cur.externalGateway.subnet, cur.externalGateway.ip))] : [];
      return { guards: [], ops: [del(keys.router(id)), del(keys.routerName(cur.tenant, cur.name)), ...gateway] };
    });
  }

  private async load(id: string, asked: string): Promise<Versioned<Router>> {
    return (await this.records.get(id)) ?? throwNotFound('router', asked);
  }
}

/** A router record with `gateway` as its external gateway (or none). */
function withGateway(router: Router, gateway: ExternalGateway | null): Router {
  const { externalGateway: _old, ...rest } = router;
  return gateway === null ? rest : { ...rest, externalGateway: gateway };
}

/**
 * External networks: the external gateway a patch asks for, with the IPAM
 * claim of its address (the first free one of the external network's first
 * IPv4 subnet with room) and the release of the previous one. Unchanged
 * network: the address is kept, only `snat` changes.
 */
async function planExternalGateway(
  ctx: StoreContext,
  cur: Router,
  asked: { readonly network: string; readonly snat?: boolean } | null,
): Promise<{ value: ExternalGateway | null; guards: Guard[]; ops: IRequestOp[] }> {
  const old = cur.externalGateway;
  const release = old ? [del(ctx.keys.ip(old.subnet, old.ip))] : [];
  if (asked === null) return { value: null, guards: [], ops: release };
  const network = (await resolveNetwork(ctx, asked.network)).value;
  checkExternal(network);
  if (network.tenant !== cur.tenant && network.tenant !== DEFAULT_TENANT) throw new ResourceNotFoundError('network', asked.network);
  const snat = asked.snat ?? true;
  if (old && old.network === network.id) return { value: { ...old, snat }, guards: [], ops: [] };
  for (const s of (await subnetsOf(ctx, network.id)).map((v) => v.value).filter((v) => v.ipVersion === 4)) {
    const taken = new Set((await rangeKvs(ctx, ctx.keys.ips(s.id), true)).map((kv) => ctx.keys.ipOf(kv.key.toString())));
    let ip: string;
    try {
      ip = nextFreeAddress(s, taken);
    } catch (err) {
      if (err instanceof AddressExhaustedError) continue;
      throw err;
    }
    const key = ctx.keys.ip(s.id, ip);
    return { value: { network: network.id, subnet: s.id, ip, snat }, guards: [absent(key)], ops: [...release, put(key, routerClaim(cur.id))] };
  }
  throw new ResourceConflictError('exhausted', `external network "${network.name}" has no IPv4 subnet with a free address for router "${cur.name}"'s gateway`, { network: network.id });
}

/** The router's address on a subnet: given (inside it, not its network or broadcast address), else its gateway. */
function gatewayOf(subnet: Subnet, given: string | undefined): string {
  if (given === undefined) {
    if (subnet.gateway === null) throw new InvalidRequestError(`subnet ${subnet.id} (${subnet.cidr}) has no gateway address: give the router's "ip" on it`);
    return subnet.gateway;
  }
  const ip = canonicalIp(given);
  if (!cidrContains(subnet.cidr, ip)) throw new AddressError(`router address ${ip} is outside subnet ${subnet.cidr}`);
  const c = parseCidr(subnet.cidr);
  const v = parseIp(ip).value;
  if (c.version === 4 && c.prefix <= 30 && (v === c.network || v === c.last)) throw new AddressError(`router address ${ip} is the network or broadcast address of ${subnet.cidr}`);
  return ip;
}

/** Static routes: canonical destination and next hop, the next hop inside one of the router's subnets and not the router. */
function checkRoutes(router: Router, routes: readonly Route[]): Route[] {
  const out: Route[] = [];
  for (const r of routes) {
    let route: Route;
    try {
      route = { destination: canonicalCidr(r.destination), nexthop: canonicalIp(r.nexthop) };
    } catch (err) {
      throw new AddressError(`route ${r.destination} via ${r.nexthop}: ${(err as Error).message}`);
    }
    if (parseCidr(route.destination).version !== parseIp(route.nexthop).version) throw new InvalidRequestError(`route ${route.destination} via ${route.nexthop}: destination and next hop are of different IP versions`);
    if (out.some((o) => o.destination === route.destination)) throw new InvalidRequestError(`route ${route.destination} is given twice`);
    if (!router.interfaces.some((i) => cidrContains(i.cidr, route.nexthop))) {
      const cidrs = router.interfaces.map((i) => i.cidr).join(', ') || 'none yet';
      throw new ResourceConflictError('outside', `route ${route.destination}: next hop ${route.nexthop} is in none of router "${router.name}"'s subnets (${cidrs}): add the interface first`, {
        nexthop: route.nexthop,
      });
    }
    if (router.interfaces.some((i) => i.ip === route.nexthop)) throw new InvalidRequestError(`route ${route.destination}: next hop ${route.nexthop} is the router itself`);
    out.push(route);
  }
  return out;
}
