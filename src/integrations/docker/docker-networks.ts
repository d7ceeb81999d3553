/**
 * The network half of the libnetwork remote driver: CreateNetwork makes (or
 * adopts) the Plexus network and its subnets, DeleteNetwork deletes the one it
 * made, and a network another host's dockerd created (global scope) is learned
 * on first use. libnetwork never passes a network's name or labels to a driver:
 * they are read from dockerd once it has stored the network (learnNetwork).
 */
import type { Network, Subnet } from '../../store/model';
import { containsIp } from '../addresses';
import { DEFAULT_WORKLOAD_MTU } from '../ovs-port';
import { ClientError, createNetwork, createSubnet, deleteNetwork, findNetwork, listSubnets, renameNetwork } from '../plexus-api';
import type { DriverContext } from './driver-context';
import type { NetworkState } from './driver-state';
import { DriverError, genericOptions, listOpt, OPTION, plexusCall, plexusNetworkIdFor, str, type Body } from './libnetwork';

export class DockerNetworks {
  /** Networks whose Docker name is still being learned (CreateEndpoint waits for it). */
  private readonly naming = new Map<string, Promise<void>>();
  /**
   * Plexus networks a mirror is being created for on this host (docker-mirrors.ts):
   * their CreateNetwork only adopts. Were one deleted after the sync pass listed
   * it, creating would make a new Plexus network named after the old one's id.
   */
  readonly mirroring = new Set<string>();

  constructor(private readonly ctx: DriverContext) {}

  /** Resolves once the network's Docker name and labels are learned (at once when they are). */
  async named(dockerId: string): Promise<void> {
    await this.naming.get(dockerId);
  }

  isNaming(dockerId: string): boolean {
    return this.naming.has(dockerId);
  }

  async createNetwork(b: Body): Promise<Body> {
    const { api, state, log } = this.ctx;
    const dockerId = str(b['NetworkID']);
    const opts = genericOptions(b['Options']);
    const ipData = [...((b['IPv4Data'] as Body[] | undefined) ?? []), ...((b['IPv6Data'] as Body[] | undefined) ?? [])];
    const pools = ipData.map((d) => str(d['Pool'])).filter(Boolean);
    const gateways = new Map(ipData.map((d) => [str(d['Pool']), str(d['Gateway']).split('/')[0] ?? ''] as const));
    const mtuOpt = Number(str(opts['com.docker.network.driver.mtu'])) || undefined;
    const wanted = str(opts[OPTION.network]);
    let network: Network | undefined = wanted ? await plexusCall('look up the network', () => findNetwork(api, wanted)) : undefined;
    const created = network === undefined;
    if (!network && this.mirroring.has(wanted)) throw new DriverError(`Plexus network ${wanted} is gone: no mirror made`);
    if (!network) {
      const id = plexusNetworkIdFor(dockerId);
      network = await plexusCall('create the network', () => createNetwork(api, { id, name: wanted || `docker-${dockerId.slice(0, 12)}`, mtu: mtuOpt ?? DEFAULT_WORKLOAD_MTU }).catch(async (err: unknown) => {
        // libnetwork retrying a CreateNetwork that reached Plexus: that network is this one.
        const again = err instanceof ClientError && err.status === 409 ? await findNetwork(api, id) : undefined;
        if (again) return again;
        throw err;
      }));
    }
    try {
      await this.ensureSubnets(network, pools, gateways);
    } catch (err) {
      if (created) await deleteNetwork(api, network.id).catch(() => undefined);
      throw err;
    }
    state.networks[dockerId] = {
      plexus: network.id,
      created,
      pools,
      securityGroups: listOpt(opts[OPTION.securityGroups]),
      qosPolicy: str(opts[OPTION.qosPolicy]) || undefined,
    };
    state.save();
    log.info('network created', { docker: dockerId.slice(0, 12), plexus: network.id, name: network.name, adopted: !created, pools });
    if (this.ctx.docker) {
      const naming = this.learnNetwork(dockerId, created && !wanted).finally(() => this.naming.delete(dockerId));
      this.naming.set(dockerId, naming);
    }
    return {};
  }

  /** Every pool as a subnet of the Plexus network: existing ones must match, missing ones are created. */
  private async ensureSubnets(network: Network, pools: readonly string[], gateways: ReadonlyMap<string, string>): Promise<void> {
    const api = this.ctx.api;
    const have = await plexusCall('read subnets', () => listSubnets(api, network.id));
    for (const pool of pools) {
      const s = have.find((x) => x.cidr === pool);
      const gw = gateways.get(pool) || null;
      if (s) {
        if (gw && s.gateway && s.gateway !== gw) {
          throw new DriverError(`Plexus network ${network.name} has subnet ${pool} with gateway ${s.gateway}, Docker asked for ${gw}`);
        }
        continue;
      }
      const overlapping = have.find((x) => containsIp(x.cidr, pool.split('/')[0]!) || containsIp(pool, x.cidr.split('/')[0]!));
      if (overlapping) throw new DriverError(`Plexus network ${network.name} already has subnet ${overlapping.cidr}, which overlaps ${pool}`);
      await plexusCall(`create subnet ${pool}`, () => createSubnet(api, { network: network.id, cidr: pool, ...(gw ? { gateway: gw } : {}) }));
    }
  }

  /**
   * Reads what libnetwork does not pass to drivers once dockerd has stored the
   * network: its labels (`--label plexus.security-groups=...`, used where no `-o`
   * option said otherwise) and, for a network created as `docker-<id12>`, its name:
   * the Plexus network is renamed to it, or the Plexus network of that name adopted.
   */
  private async learnNetwork(dockerId: string, provisional: boolean): Promise<void> {
    const { api, state, log } = this.ctx;
    const docker = this.ctx.docker!;
    const deadline = Date.now() + 10_000;
    let seen: { Name: string; Labels?: Readonly<Record<string, string>> } | undefined;
    while (Date.now() < deadline && !seen) {
      seen = await docker.inspectNetwork(dockerId).catch(() => undefined);
      if (!seen) await new Promise((r) => setTimeout(r, 50));
    }
    const net = state.networks[dockerId];
    if (!seen || !net) {
      log.warn('network not seen in dockerd', { docker: dockerId.slice(0, 12), reason: seen ? 'network deleted meanwhile' : 'dockerd did not show it within 10 s' });
      return;
    }
    const labels = seen.Labels ?? {};
    if (net.securityGroups.length === 0 && labels[OPTION.securityGroups]) net.securityGroups = listOpt(labels[OPTION.securityGroups]);
    if (!net.qosPolicy && labels[OPTION.qosPolicy]) net.qosPolicy = labels[OPTION.qosPolicy];
    state.save();
    if (!provisional) return;
    const name = seen.Name;
    const existing = await findNetwork(api, name).catch(() => undefined);
    if (!existing) {
      await renameNetwork(api, net.plexus, name).then(
        () => log.info('network named', { docker: dockerId.slice(0, 12), plexus: net.plexus, name }),
        (err: unknown) => log.warn('network rename failed', { plexus: net.plexus, name, error: String(err) }),
      );
      return;
    }
    if (existing.id === net.plexus) return;
    const subnets: Subnet[] = await listSubnets(api, existing.id).catch(() => []);
    if (!net.pools.every((p) => subnets.some((s) => s.cidr === p))) {
      log.warn('network keeps its provisional name', { plexus: net.plexus, name, reason: `Plexus network ${name} exists with other subnets` });
      return;
    }
    // Same name and subnets: this Docker network is another host's view of an existing Plexus network.
    const provisionalId = net.plexus;
    net.plexus = existing.id;
    net.created = false;
    state.save();
    await deleteNetwork(api, provisionalId).catch((err: unknown) => log.warn('provisional network not deleted', { plexus: provisionalId, error: String(err) }));
    log.info('network adopted by name', { docker: dockerId.slice(0, 12), plexus: existing.id, name });
  }

  async deleteNetwork(b: Body): Promise<Body> {
    const { api, state, log } = this.ctx;
    const dockerId = str(b['NetworkID']);
    const net = state.networks[dockerId];
    if (net) await this.naming.get(dockerId);
    // Not known here (global scope, created on another host): the one plexus-docker created has its id; 404 is fine.
    const own = net ? (net.created ? net.plexus : undefined) : plexusNetworkIdFor(dockerId);
    if (own) await plexusCall('delete the network', () => deleteNetwork(api, own));
    if (net) {
      delete state.networks[dockerId];
      state.save();
    }
    log.info('network deleted', { docker: dockerId.slice(0, 12), plexus: net?.plexus ?? own, deletedInPlexus: own !== undefined });
    return {};
  }

  /**
   * The Plexus side of a Docker network. Known from CreateNetwork on this host;
   * otherwise (global scope: another host's dockerd created it) learned on first
   * use: `docker-<id>` when plexus-docker created it, else the network its
   * `plexus.network` option names, else the Plexus network of its Docker name
   * holding its subnets.
   */
  async resolveNetwork(dockerId: string): Promise<NetworkState> {
    const { api, state, log } = this.ctx;
    const known = state.networks[dockerId];
    if (known) return known;
    const seen = await this.ctx.docker?.inspectNetwork(dockerId).catch(() => undefined);
    const opts = seen?.Options ?? {};
    const labels = seen?.Labels ?? {};
    const own = await plexusCall('look up the network', () => findNetwork(api, plexusNetworkIdFor(dockerId)));
    const byName = opts[OPTION.network] || seen?.Name;
    const network = own ?? (byName ? await plexusCall('look up the network', () => findNetwork(api, byName)) : undefined);
    const what = `Docker network ${seen?.Name ?? dockerId.slice(0, 12)}`;
    if (!network) throw new DriverError(`Plexus has no network for ${what} (deleted in Plexus? recreate the Docker network)`);
    const subnets = await plexusCall('read subnets', () => listSubnets(api, network.id));
    const pools = (seen?.IPAM?.Config ?? []).map((c) => c.Subnet ?? '').filter(Boolean);
    const missing = pools.filter((p) => !subnets.some((x) => x.cidr === p));
    if (missing.length > 0) throw new DriverError(`Plexus network ${network.name} has no subnet ${missing.join(', ')} of ${what}`);
    const net: NetworkState = {
      plexus: network.id,
      created: own !== undefined,
      pools: pools.length > 0 ? pools : subnets.map((x) => x.cidr),
      securityGroups: listOpt(opts[OPTION.securityGroups] ?? labels[OPTION.securityGroups]),
      qosPolicy: opts[OPTION.qosPolicy] || labels[OPTION.qosPolicy] || undefined,
    };
    state.networks[dockerId] = net;
    state.save();
    log.info('network learned', { docker: dockerId.slice(0, 12), plexus: net.plexus, name: network.name, createdHere: false });
    return net;
  }
}
