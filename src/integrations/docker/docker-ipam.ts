/**
 * The IPAM half of the libnetwork remote driver: every container address comes
 * from Plexus' own IPAM, so two hosts never hand out the same one. An address is
 * reserved as an endpoint named `docker-ipam-reserved`, which CreateEndpoint
 * then claims (docker-endpoints.ts) or ReleaseAddress deletes.
 */
import { containsIp, firstHost } from '../addresses';
import { createEndpoint, deleteEndpoint, listSubnets } from '../plexus-api';
import type { DockerNetworks } from './docker-networks';
import type { DriverContext } from './driver-context';
import { reservedKey, type NetworkState } from './driver-state';
import { DriverError, GATEWAY_REQUEST, OPTION, plexusCall, str, type Body } from './libnetwork';

const cidrOf = (poolId: string): string => poolId.replace(/^plexus\//, '');

export async function requestPool(ctx: DriverContext, b: Body): Promise<Body> {
  const opts = (b['Options'] ?? {}) as Record<string, string>;
  let pool = str(b['Pool']);
  if (str(b['SubPool'])) throw new DriverError('plexus IPAM does not take --ip-range: Plexus allocates from the whole subnet (use allocation pools on the Plexus subnet)');
  if (!pool) {
    const name = opts[OPTION.network];
    if (!name) throw new DriverError(`plexus IPAM needs --subnet, or --ipam-opt ${OPTION.network}=<network> to use that Plexus network's subnet`);
    const subnets = await listSubnets(ctx.api, name);
    const s = subnets.find((x) => x.ipVersion === (b['V6'] ? 6 : 4));
    if (!s) throw new DriverError(`Plexus network ${name} has no IPv${b['V6'] ? 6 : 4} subnet`);
    pool = s.cidr;
  }
  return { PoolID: `plexus/${pool}`, Pool: pool, Data: {} };
}

/**
 * As DriverState.networkOfPool, or (global scope) the one network of this driver
 * in the local dockerd with that subnet: another host created it, so this host
 * saw no CreateNetwork, and libnetwork's RequestAddress names only the pool.
 */
async function findNetworkOfPool(ctx: DriverContext, networks: DockerNetworks, poolId: string): Promise<[string, NetworkState] | undefined> {
  const found = ctx.state.networkOfPool(poolId);
  const docker = ctx.docker;
  if (found || !docker) return found;
  const cidr = cidrOf(poolId);
  const candidates = (await docker.listNetworks('plexus').catch(() => [])).filter((d) => (d.IPAM?.Config ?? []).some((c) => c.Subnet === cidr));
  if (candidates.length > 1) throw new DriverError(`Docker networks ${candidates.map((d) => d.Name).join(', ')} all use pool ${cidr}: plexus IPAM cannot tell which one this address is for`);
  const [d] = candidates;
  return d ? [d.Id, await networks.resolveNetwork(d.Id)] : undefined;
}

export async function requestAddress(ctx: DriverContext, networks: DockerNetworks, b: Body): Promise<Body> {
  const poolId = str(b['PoolID']);
  const cidr = cidrOf(poolId);
  const len = cidr.split('/')[1];
  const wanted = str(b['Address']);
  const opts = (b['Options'] ?? {}) as Record<string, string>;
  if (opts['RequestAddressType'] === GATEWAY_REQUEST) {
    // The gateway of a network being created: it becomes the Plexus subnet's gateway in CreateNetwork.
    return { Address: `${wanted || firstHost(cidr)}/${len}`, Data: {} };
  }
  const found = await findNetworkOfPool(ctx, networks, poolId);
  if (!found) throw new DriverError(`no Docker network uses pool ${cidr} on this host`);
  const [dockerId, net] = found;
  await networks.named(dockerId);
  const ep = await plexusCall(`reserve an address in ${cidr}`, () => createEndpoint(ctx.api, {
    network: net.plexus,
    kind: 'container',
    name: 'docker-ipam-reserved',
    ...(wanted ? { ips: [wanted] } : {}),
  }));
  const ip = ep.ips.find((a) => containsIp(cidr, a));
  if (!ip) {
    await deleteEndpoint(ctx.api, ep.id);
    throw new DriverError(`Plexus gave ${ep.ips.join(', ') || 'no address'}, none in ${cidr}`);
  }
  ctx.state.reserved[reservedKey(net.plexus, ip)] = ep.id;
  ctx.state.save();
  return { Address: `${ip}/${len}`, Data: {} };
}

export async function releaseAddress(ctx: DriverContext, b: Body): Promise<Body> {
  const found = ctx.state.networkOfPool(str(b['PoolID']));
  const ip = str(b['Address']);
  if (!found) return {};
  const key = reservedKey(found[1].plexus, ip);
  const id = ctx.state.reserved[key];
  if (id) {
    await plexusCall(`release ${ip}`, () => deleteEndpoint(ctx.api, id));
    delete ctx.state.reserved[key];
    ctx.state.save();
  }
  return {};
}
