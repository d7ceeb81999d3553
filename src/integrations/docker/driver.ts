/**
 * plexus-docker: Docker's libnetwork remote network driver and remote IPAM
 * driver in one (SPEC §7). `docker network create -d plexus --ipam-driver plexus
 * --subnet C NAME` becomes a Plexus network and subnet (or adopts one with
 * `-o plexus.network=<id or name>`); the IPAM driver takes every container
 * address from Plexus' own IPAM (so two hosts never hand out the same one);
 * CreateEndpoint creates the endpoint, Join plugs a veth into br-int with
 * `iface-id` and answers only once Plexus wrote `plexus-installed`; Leave and
 * DeleteEndpoint undo it.
 *
 * Scope. libnetwork shares a v1 plugin's networks between dockerds only with a
 * cluster store (`dockerd --cluster-store etcd://...`, an etcd with the v2 API;
 * removed from Docker 23) — swarm refuses v1 plugins. With one (`scope` auto
 * finds it in dockerd's /info) the driver reports data scope `global`: the
 * network created on one host is in every dockerd; a host that did not create
 * it learns its Plexus side on first use (resolveNetwork). Without one it
 * reports `local` data scope (connectivity stays `global`): each dockerd keeps
 * its own record, and plexus-docker creates that record on its host for every
 * Plexus network (mirroring, `syncIntervalMs`), so a network created on one
 * host is usable with `docker run --net NAME` on every other.
 *
 * A Plexus network plexus-docker creates has the id `docker-<Docker network
 * id>`: any host can find it, and the host that runs `docker network rm`
 * deletes it (and never one it adopted).
 *
 * libnetwork never tells a driver the network's name: a network created without
 * `-o plexus.network` is created in Plexus as `docker-<id12>` and renamed to its
 * Docker name as soon as dockerd has stored it (or adopts the Plexus network of
 * that name when one already exists with the same subnet).
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { PlexusError } from '../../../protocols/common/errors';
import { silentLogger, type Logger } from '../../log';
import type { Network, Subnet } from '../../store/model';
import { containsIp, firstHost } from '../addresses';
import {
  addPort,
  createVeth,
  DEFAULT_WORKLOAD_MTU,
  deleteLinkIfExists,
  deletePort,
  linkNamesFor,
  readDatapathType,
  waitForInstalled,
  type OvsTarget,
} from '../ovs-port';
import {
  ClientError,
  createEndpoint,
  createNetwork,
  createSubnet,
  deleteEndpoint,
  deleteNetwork,
  findEndpoint,
  findNetwork,
  getNetwork,
  listNetworks,
  listSubnets,
  patchEndpoint,
  renameNetwork,
  type ApiClient,
  type EndpointView,
} from '../plexus-api';
import { DockerEngine, DockerEngineError } from './docker-engine';

/** Driver options (`-o`) and endpoint driver options (`--driver-opt`) plexus-docker reads. */
export const OPTION = {
  network: 'plexus.network',
  securityGroups: 'plexus.security-groups',
  qosPolicy: 'plexus.qos-policy',
} as const;
const GENERIC = 'com.docker.network.generic';
const GATEWAY_REQUEST = 'com.docker.network.gateway';
const PROVISIONAL = /^docker-[0-9a-f]{12}$/;
/** Label of the Docker networks plexus-docker created itself as mirrors. */
export const MIRROR_LABEL = 'plexus.mirror';

/** The Plexus network id plexus-docker gives the network it creates for a Docker network. */
export function plexusNetworkIdFor(dockerId: string): string {
  return `docker-${dockerId}`;
}

/** libnetwork data scope (SPEC §7): `auto` is global exactly when dockerd has a cluster store. */
export type DataScope = 'local' | 'global';

/** A request libnetwork sent that the driver cannot carry out: its message goes back as `Err`. */
export class DriverError extends PlexusError {
  override readonly name = 'DriverError';
}

export interface DriverOptions {
  readonly api: ApiClient;
  readonly ovs: OvsTarget;
  /** JSON file that keeps the Docker → Plexus mapping across restarts. */
  readonly stateFile: string;
  /** This host's dockerd (names of new networks; mirroring). */
  readonly docker?: DockerEngine;
  /** libnetwork data scope to report (default auto: ask dockerd whether it has a cluster store). */
  readonly scope?: DataScope | 'auto';
  /** Mirror Plexus networks into the local dockerd this often (local scope only); 0 = never. */
  readonly syncIntervalMs?: number;
  readonly installTimeoutMs?: number;
  readonly log?: Logger;
}

interface NetworkState {
  /** Plexus network id. */
  plexus: string;
  /** Whether plexus-docker created the Plexus network (then DeleteNetwork deletes it). */
  created: boolean;
  pools: string[];
  securityGroups: string[];
  qosPolicy: string | undefined;
}

interface EndpointState {
  network: string;
  plexus: string;
  mac: string;
}

interface DriverStateFile {
  networks: Record<string, NetworkState>;
  endpoints: Record<string, EndpointState>;
  /** Addresses the IPAM driver took from Plexus ("<plexus network>|<ip>" → endpoint id) not yet claimed by CreateEndpoint. */
  reserved: Record<string, string>;
}

export type DriverStatus = 'starting' | 'running' | 'stopped';

type Body = Record<string, unknown>;
type Handler = (body: Body) => Promise<Body>;

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const listOpt = (v: unknown): string[] => str(v).split(',').map((s) => s.trim()).filter(Boolean);

function genericOptions(options: unknown): Record<string, unknown> {
  const o = (options ?? {}) as Record<string, unknown>;
  return { ...o, ...((o[GENERIC] as Record<string, unknown> | undefined) ?? {}) };
}

export class PlexusDockerDriver {
  private status: DriverStatus = 'starting';
  private state: DriverStateFile = { networks: {}, endpoints: {}, reserved: {} };
  /** Networks whose Docker name is still being learned (CreateEndpoint waits for it). */
  private readonly naming = new Map<string, Promise<void>>();
  private syncTimer: NodeJS.Timeout | undefined;
  private syncing = false;
  /** The data scope once dockerd answered (auto). */
  private probedScope: DataScope | undefined;
  private readonly log: Logger;
  readonly handlers: Readonly<Record<string, Handler>>;

  constructor(private readonly options: DriverOptions) {
    this.log = (options.log ?? silentLogger()).child({ module: 'plexus-docker' });
    this.handlers = {
      '/Plugin.Activate': async () => ({ Implements: ['NetworkDriver', 'IpamDriver'] }),
      '/NetworkDriver.GetCapabilities': async () => ({ Scope: await this.dataScope(), ConnectivityScope: 'global' }),
      '/NetworkDriver.CreateNetwork': (b) => this.createNetwork(b),
      '/NetworkDriver.DeleteNetwork': (b) => this.deleteNetwork(b),
      '/NetworkDriver.CreateEndpoint': (b) => this.createEndpoint(b),
      '/NetworkDriver.DeleteEndpoint': (b) => this.deleteEndpoint(b),
      '/NetworkDriver.EndpointOperInfo': (b) => this.endpointInfo(b),
      '/NetworkDriver.Join': (b) => this.join(b),
      '/NetworkDriver.Leave': (b) => this.leave(b),
      '/NetworkDriver.DiscoverNew': async () => ({}),
      '/NetworkDriver.DiscoverDelete': async () => ({}),
      '/NetworkDriver.ProgramExternalConnectivity': async () => ({}),
      '/NetworkDriver.RevokeExternalConnectivity': async () => ({}),
      '/IpamDriver.GetCapabilities': async () => ({ RequiresMACAddress: false }),
      '/IpamDriver.GetDefaultAddressSpaces': async () => ({ LocalDefaultAddressSpace: 'plexus', GlobalDefaultAddressSpace: 'plexus' }),
      '/IpamDriver.RequestPool': (b) => this.requestPool(b),
      '/IpamDriver.ReleasePool': async () => ({}),
      '/IpamDriver.RequestAddress': (b) => this.requestAddress(b),
      '/IpamDriver.ReleaseAddress': (b) => this.releaseAddress(b),
    };
  }

  get currentStatus(): DriverStatus {
    return this.status;
  }

  private setStatus(next: DriverStatus): void {
    this.log.info('driver status', { from: this.status, to: next, networks: Object.keys(this.state.networks).length });
    this.status = next;
  }

  start(): void {
    try {
      this.state = { networks: {}, endpoints: {}, reserved: {}, ...(JSON.parse(readFileSync(this.options.stateFile, 'utf8')) as Partial<DriverStateFile>) };
    } catch {
      /* first start: no state yet */
    }
    void this.dataScope();
    const every = this.options.syncIntervalMs ?? 0;
    if (this.options.docker && every > 0) {
      this.syncTimer = setInterval(() => void this.syncMirrors(), every);
      setImmediate(() => void this.syncMirrors());
    }
    this.setStatus('running');
  }

  stop(): void {
    if (this.syncTimer) clearInterval(this.syncTimer);
    this.syncTimer = undefined;
    this.setStatus('stopped');
  }

  private save(): void {
    mkdirSync(dirname(this.options.stateFile), { recursive: true });
    const tmp = `${this.options.stateFile}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.state, null, 1));
    renameSync(tmp, this.options.stateFile);
  }

  /** Global when this host's dockerd keeps networks in a cluster store; asks dockerd once (a failed ask is retried next time). */
  async dataScope(): Promise<DataScope> {
    const wanted = this.options.scope ?? 'auto';
    if (wanted !== 'auto') return wanted;
    if (this.probedScope) return this.probedScope;
    const docker = this.options.docker;
    if (!docker) return 'local';
    let timer: NodeJS.Timeout | undefined;
    try {
      // Bounded: dockerd asks for the capabilities while activating the plugin.
      const info = await Promise.race([
        docker.info(),
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('dockerd /info took over 5 s')), 5000))),
      ]);
      this.probedScope = info.ClusterStore ? 'global' : 'local';
      this.log.info('data scope', { scope: this.probedScope, clusterStore: info.ClusterStore ?? '' });
      return this.probedScope;
    } catch (err) {
      this.log.warn('data scope unknown', { assumed: 'local', error: String(err) });
      return 'local';
    } finally {
      clearTimeout(timer);
    }
  }

  private network(id: string): NetworkState {
    const n = this.state.networks[id];
    if (!n) throw new DriverError(`plexus-docker knows no network ${id.slice(0, 12)} (created before this plugin kept state? recreate it)`);
    return n;
  }

  // ---- IPAM ------------------------------------------------------------------

  private async requestPool(b: Body): Promise<Body> {
    const opts = (b['Options'] ?? {}) as Record<string, string>;
    let pool = str(b['Pool']);
    if (str(b['SubPool'])) throw new DriverError('plexus IPAM does not take --ip-range: Plexus allocates from the whole subnet (use allocation pools on the Plexus subnet)');
    if (!pool) {
      const name = opts[OPTION.network];
      if (!name) throw new DriverError(`plexus IPAM needs --subnet, or --ipam-opt ${OPTION.network}=<network> to use that Plexus network's subnet`);
      const subnets = await listSubnets(this.options.api, name);
      const s = subnets.find((x) => x.ipVersion === (b['V6'] ? 6 : 4));
      if (!s) throw new DriverError(`Plexus network ${name} has no IPv${b['V6'] ? 6 : 4} subnet`);
      pool = s.cidr;
    }
    return { PoolID: `plexus/${pool}`, Pool: pool, Data: {} };
  }

  /** The network (Docker id) a pool belongs to: set by CreateNetwork, which comes after the pool's gateway request. */
  private networkOfPool(poolId: string): [string, NetworkState] | undefined {
    const cidr = poolId.replace(/^plexus\//, '');
    return Object.entries(this.state.networks).find(([, n]) => n.pools.includes(cidr));
  }

  /**
   * As networkOfPool, or (global scope) the one network of this driver in the
   * local dockerd with that subnet: another host created it, so this host saw
   * no CreateNetwork, and libnetwork's RequestAddress names only the pool.
   */
  private async findNetworkOfPool(poolId: string): Promise<[string, NetworkState] | undefined> {
    const found = this.networkOfPool(poolId);
    const docker = this.options.docker;
    if (found || !docker) return found;
    const cidr = poolId.replace(/^plexus\//, '');
    const candidates = (await docker.listNetworks('plexus').catch(() => [])).filter((d) => (d.IPAM?.Config ?? []).some((c) => c.Subnet === cidr));
    if (candidates.length > 1) throw new DriverError(`Docker networks ${candidates.map((d) => d.Name).join(', ')} all use pool ${cidr}: plexus IPAM cannot tell which one this address is for`);
    const [d] = candidates;
    return d ? [d.Id, await this.resolveNetwork(d.Id)] : undefined;
  }

  /**
   * The Plexus side of a Docker network. Known from CreateNetwork on this host;
   * otherwise (global scope: another host's dockerd created it) learned on first
   * use: `docker-<id>` when plexus-docker created it, else the network its
   * `plexus.network` option names, else the Plexus network of its Docker name
   * holding its subnets.
   */
  private async resolveNetwork(dockerId: string): Promise<NetworkState> {
    const known = this.state.networks[dockerId];
    if (known) return known;
    const api = this.options.api;
    const seen = await this.options.docker?.inspectNetwork(dockerId).catch(() => undefined);
    const opts = seen?.Options ?? {};
    const labels = seen?.Labels ?? {};
    const own = await this.plexusCall('look up the network', () => findNetwork(api, plexusNetworkIdFor(dockerId)));
    const byName = opts[OPTION.network] || seen?.Name;
    const network = own ?? (byName ? await this.plexusCall('look up the network', () => findNetwork(api, byName)) : undefined);
    const what = `Docker network ${seen?.Name ?? dockerId.slice(0, 12)}`;
    if (!network) throw new DriverError(`Plexus has no network for ${what} (deleted in Plexus? recreate the Docker network)`);
    const subnets = await this.plexusCall('read subnets', () => listSubnets(api, network.id));
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
    this.state.networks[dockerId] = net;
    this.save();
    this.log.info('network learned', { docker: dockerId.slice(0, 12), plexus: net.plexus, name: network.name, createdHere: false });
    return net;
  }

  private async requestAddress(b: Body): Promise<Body> {
    const poolId = str(b['PoolID']);
    const cidr = poolId.replace(/^plexus\//, '');
    const len = cidr.split('/')[1];
    const wanted = str(b['Address']);
    const opts = (b['Options'] ?? {}) as Record<string, string>;
    if (opts['RequestAddressType'] === GATEWAY_REQUEST) {
      // The gateway of a network being created: it becomes the Plexus subnet's gateway in CreateNetwork.
      return { Address: `${wanted || firstHost(cidr)}/${len}`, Data: {} };
    }
    const found = await this.findNetworkOfPool(poolId);
    if (!found) throw new DriverError(`no Docker network uses pool ${cidr} on this host`);
    const [dockerId, net] = found;
    await this.naming.get(dockerId);
    const ep = await this.plexusCall(`reserve an address in ${cidr}`, () => createEndpoint(this.options.api, {
      network: net.plexus,
      kind: 'container',
      name: 'docker-ipam-reserved',
      ...(wanted ? { ips: [wanted] } : {}),
    }));
    const ip = ep.ips.find((a) => containsIp(cidr, a));
    if (!ip) {
      await deleteEndpoint(this.options.api, ep.id);
      throw new DriverError(`Plexus gave ${ep.ips.join(', ') || 'no address'}, none in ${cidr}`);
    }
    this.state.reserved[`${net.plexus}|${ip}`] = ep.id;
    this.save();
    return { Address: `${ip}/${len}`, Data: {} };
  }

  private async releaseAddress(b: Body): Promise<Body> {
    const found = this.networkOfPool(str(b['PoolID']));
    const ip = str(b['Address']);
    if (!found) return {};
    const key = `${found[1].plexus}|${ip}`;
    const id = this.state.reserved[key];
    if (id) {
      await this.plexusCall(`release ${ip}`, () => deleteEndpoint(this.options.api, id));
      delete this.state.reserved[key];
      this.save();
    }
    return {};
  }

  // ---- networks --------------------------------------------------------------

  private async createNetwork(b: Body): Promise<Body> {
    const dockerId = str(b['NetworkID']);
    const opts = genericOptions(b['Options']);
    const ipData = [...((b['IPv4Data'] as Body[] | undefined) ?? []), ...((b['IPv6Data'] as Body[] | undefined) ?? [])];
    const pools = ipData.map((d) => str(d['Pool'])).filter(Boolean);
    const gateways = new Map(ipData.map((d) => [str(d['Pool']), str(d['Gateway']).split('/')[0] ?? ''] as const));
    const mtuOpt = Number(str(opts['com.docker.network.driver.mtu'])) || undefined;
    const wanted = str(opts[OPTION.network]);
    const api = this.options.api;
    let network: Network | undefined = wanted ? await this.plexusCall('look up the network', () => findNetwork(api, wanted)) : undefined;
    const created = network === undefined;
    if (!network) {
      const id = plexusNetworkIdFor(dockerId);
      network = await this.plexusCall('create the network', () => createNetwork(api, { id, name: wanted || `docker-${dockerId.slice(0, 12)}`, mtu: mtuOpt ?? DEFAULT_WORKLOAD_MTU }).catch(async (err: unknown) => {
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
    this.state.networks[dockerId] = {
      plexus: network.id,
      created,
      pools,
      securityGroups: listOpt(opts[OPTION.securityGroups]),
      qosPolicy: str(opts[OPTION.qosPolicy]) || undefined,
    };
    this.save();
    this.log.info('network created', { docker: dockerId.slice(0, 12), plexus: network.id, name: network.name, adopted: !created, pools });
    if (this.options.docker) {
      const naming = this.learnNetwork(dockerId, created && !wanted).finally(() => this.naming.delete(dockerId));
      this.naming.set(dockerId, naming);
    }
    return {};
  }

  /** Every pool as a subnet of the Plexus network: existing ones must match, missing ones are created. */
  private async ensureSubnets(network: Network, pools: readonly string[], gateways: ReadonlyMap<string, string>): Promise<void> {
    const have = await this.plexusCall('read subnets', () => listSubnets(this.options.api, network.id));
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
      await this.plexusCall(`create subnet ${pool}`, () => createSubnet(this.options.api, { network: network.id, cidr: pool, ...(gw ? { gateway: gw } : {}) }));
    }
  }

  /**
   * Reads what libnetwork does not pass to drivers once dockerd has stored the
   * network: its labels (`--label plexus.security-groups=...`, used where no `-o`
   * option said otherwise) and, for a network created as `docker-<id12>`, its name:
   * the Plexus network is renamed to it, or the Plexus network of that name adopted.
   */
  private async learnNetwork(dockerId: string, provisional: boolean): Promise<void> {
    const docker = this.options.docker!;
    const deadline = Date.now() + 10_000;
    let seen: { Name: string; Labels?: Readonly<Record<string, string>> } | undefined;
    while (Date.now() < deadline && !seen) {
      seen = await docker.inspectNetwork(dockerId).catch(() => undefined);
      if (!seen) await new Promise((r) => setTimeout(r, 50));
    }
    const net = this.state.networks[dockerId];
    if (!seen || !net) {
      this.log.warn('network not seen in dockerd', { docker: dockerId.slice(0, 12), reason: seen ? 'network deleted meanwhile' : 'dockerd did not show it within 10 s' });
      return;
    }
    const labels = seen.Labels ?? {};
    if (net.securityGroups.length === 0 && labels[OPTION.securityGroups]) net.securityGroups = listOpt(labels[OPTION.securityGroups]);
    if (!net.qosPolicy && labels[OPTION.qosPolicy]) net.qosPolicy = labels[OPTION.qosPolicy];
    this.save();
    if (!provisional) return;
    const name = seen.Name;
    const api = this.options.api;
    const existing = await findNetwork(api, name).catch(() => undefined);
    if (!existing) {
      await renameNetwork(api, net.plexus, name).then(
        () => this.log.info('network named', { docker: dockerId.slice(0, 12), plexus: net.plexus, name }),
        (err: unknown) => this.log.warn('network rename failed', { plexus: net.plexus, name, error: String(err) }),
      );
      return;
    }
    if (existing.id === net.plexus) return;
    const subnets: Subnet[] = await listSubnets(api, existing.id).catch(() => []);
    if (!net.pools.every((p) => subnets.some((s) => s.cidr === p))) {
      this.log.warn('network keeps its provisional name', { plexus: net.plexus, name, reason: `Plexus network ${name} exists with other subnets` });
      return;
    }
    // Same name and subnets: this Docker network is another host's view of an existing Plexus network.
    const provisionalId = net.plexus;
    net.plexus = existing.id;
    net.created = false;
    this.save();
    await deleteNetwork(api, provisionalId).catch((err: unknown) => this.log.warn('provisional network not deleted', { plexus: provisionalId, error: String(err) }));
    this.log.info('network adopted by name', { docker: dockerId.slice(0, 12), plexus: existing.id, name });
  }

  private async deleteNetwork(b: Body): Promise<Body> {
    const dockerId = str(b['NetworkID']);
    const net = this.state.networks[dockerId];
    if (net) await this.naming.get(dockerId);
    // Not known here (global scope, created on another host): the one plexus-docker created has its id; 404 is fine.
    const own = net ? (net.created ? net.plexus : undefined) : plexusNetworkIdFor(dockerId);
    if (own) await this.plexusCall('delete the network', () => deleteNetwork(this.options.api, own));
    if (net) {
      delete this.state.networks[dockerId];
      this.save();
    }
    this.log.info('network deleted', { docker: dockerId.slice(0, 12), plexus: net?.plexus ?? own, deletedInPlexus: own !== undefined });
    return {};
  }

  // ---- endpoints -------------------------------------------------------------

  private async createEndpoint(b: Body): Promise<Body> {
    const dockerId = str(b['NetworkID']);
    const endpointId = str(b['EndpointID']);
    const net = await this.resolveNetwork(dockerId);
    await this.naming.get(dockerId);
    const iface = (b['Interface'] ?? {}) as Record<string, string>;
    const ips = [iface['Address'], iface['AddressIPv6']].filter((a): a is string => !!a).map((a) => a.split('/')[0]!);
    const opts = genericOptions(b['Options']);
    const securityGroups = opts[OPTION.securityGroups] !== undefined ? listOpt(opts[OPTION.securityGroups]) : net.securityGroups;
    const qosPolicy = str(opts[OPTION.qosPolicy]) || net.qosPolicy;
    const labels = { 'docker.endpoint': endpointId.slice(0, 64), 'docker.network': dockerId.slice(0, 64) };
    const api = this.options.api;
    const reservedKeys = ips.map((ip) => `${net.plexus}|${ip}`).filter((k) => this.state.reserved[k]);
    let ep: EndpointView;
    if (reservedKeys.length > 0) {
      // The address came from our IPAM: that reservation is the endpoint.
      const id = this.state.reserved[reservedKeys[0]!]!;
      ep = await this.plexusCall('claim the reserved address', () => patchEndpoint(api, id, { name: `docker-${endpointId.slice(0, 12)}`, labels, securityGroups }));
      for (const k of reservedKeys) delete this.state.reserved[k];
      if (qosPolicy) this.log.warn('qos policy not applied', { endpoint: id, qosPolicy, reason: 'set at creation only; this address was reserved by IPAM first' });
    } else {
      ep = await this.plexusCall('create the endpoint', () => createEndpoint(api, {
        id: `docker-${endpointId.slice(0, 24)}`,
        network: net.plexus,
        name: `docker-${endpointId.slice(0, 12)}`,
        kind: 'container',
        labels,
        ...(ips.length ? { ips } : {}),
        ...(iface['MacAddress'] ? { mac: iface['MacAddress'].toLowerCase() } : {}),
        ...(securityGroups.length ? { securityGroups } : {}),
        ...(qosPolicy ? { qosPolicy } : {}),
      }));
    }
    this.state.endpoints[endpointId] = { network: dockerId, plexus: ep.id, mac: ep.mac };
    this.save();
    const out: Record<string, string> = {};
    if (!iface['MacAddress']) out['MacAddress'] = ep.mac;
    if (!iface['Address']) {
      const v4 = ep.ips.find((a) => !a.includes(':'));
      const pool = net.pools.find((p) => v4 && containsIp(p, v4));
      if (v4 && pool) out['Address'] = `${v4}/${pool.split('/')[1]}`;
    }
    return { Interface: out };
  }

  private async endpointInfo(b: Body): Promise<Body> {
    const e = this.state.endpoints[str(b['EndpointID'])];
    if (!e) return { Value: {} };
    const ep = await findEndpoint(this.options.api, e.plexus).catch(() => undefined);
    return { Value: { 'plexus.endpoint': e.plexus, 'plexus.status': ep?.status ?? 'unknown', 'plexus.host': ep?.host ?? '' } };
  }

  private async join(b: Body): Promise<Body> {
    const endpointId = str(b['EndpointID']);
    const e = this.state.endpoints[endpointId];
    if (!e) throw new DriverError(`plexus-docker knows no endpoint ${endpointId.slice(0, 12)}`);
    const net = this.network(e.network);
    const api = this.options.api;
    const [network, subnets] = await this.plexusCall('read the network', () => Promise.all([getNetwork(api, net.plexus), listSubnets(api, net.plexus)]));
    const names = linkNamesFor('pxd', endpointId);
    const ovs = this.options.ovs;
    const datapath = await readDatapathType(ovs);
    await deletePort(ovs, names.host);
    await deleteLinkIfExists(names.host);
    await createVeth({ host: names.host, peer: names.peer, mtu: network.mtu, peerMac: e.mac, txOffloadOff: datapath === 'netdev' });
    try {
      const sandbox = str(b['SandboxKey']).split('/').pop() ?? '';
      await addPort(ovs, names.host, {
        'iface-id': e.plexus,
        'attached-mac': e.mac,
        'iface-status': 'active',
        container_id: sandbox || endpointId,
        container_iface: names.peer,
        'docker-endpoint': endpointId,
      });
      const waitedMs = await waitForInstalled(ovs, names.host, this.options.installTimeoutMs ?? 30_000);
      this.log.info('endpoint installed', { endpoint: e.plexus, port: names.host, waitedMs });
    } catch (err) {
      await deletePort(ovs, names.host).catch(() => undefined);
      await deleteLinkIfExists(names.host);
      throw err;
    }
    const v4 = subnets.find((s) => s.ipVersion === 4 && s.gateway);
    const v6 = subnets.find((s) => s.ipVersion === 6 && s.gateway);
    const routes = subnets.flatMap((s) => s.routes.map((r) => ({ Destination: r.destination, RouteType: 0, NextHop: r.nexthop })));
    return {
      InterfaceName: { SrcName: names.peer, DstPrefix: 'eth' },
      ...(v4?.gateway ? { Gateway: v4.gateway } : {}),
      ...(v6?.gateway ? { GatewayIPv6: v6.gateway } : {}),
      ...(routes.length ? { StaticRoutes: routes } : {}),
      DisableGatewayService: true,
    };
  }

  private async leave(b: Body): Promise<Body> {
    const names = linkNamesFor('pxd', str(b['EndpointID']));
    await deletePort(this.options.ovs, names.host);
    await deleteLinkIfExists(names.host);
    return {};
  }

  private async deleteEndpoint(b: Body): Promise<Body> {
    const endpointId = str(b['EndpointID']);
    await this.leave(b);
    const e = this.state.endpoints[endpointId];
    if (e) {
      await this.plexusCall('delete the endpoint', () => deleteEndpoint(this.options.api, e.plexus));
      delete this.state.endpoints[endpointId];
      this.save();
    }
    return {};
  }

  // ---- mirroring -------------------------------------------------------------

  /**
   * Makes every Plexus network with a subnet a Docker network on this host
   * (`--ipam-driver plexus`, adopting it by id), and removes mirrors whose Plexus
   * network is gone. One pass at a time; errors are logged and retried next time.
   */
  async syncMirrors(): Promise<void> {
    const docker = this.options.docker;
    if (!docker || this.syncing || this.status === 'stopped') return;
    this.syncing = true;
    try {
      // Global scope: dockerd shares the networks itself; a mirror would be a second global network.
      if ((await this.dataScope()) === 'global') {
        await this.forgetRemovedNetworks(docker);
        return;
      }
      const api = this.options.api;
      const [networks, all] = await Promise.all([listNetworks(api), docker.listNetworks()]);
      const local = all.filter((d) => d.Driver === 'plexus');
      const localPlexus = new Set(local.map((d) => this.state.networks[d.Id]?.plexus).filter(Boolean));
      // A name any Docker network already has (ours or another driver's) is not mirrored.
      const localNames = new Set(all.map((d) => d.Name));
      for (const n of networks) {
        if (PROVISIONAL.test(n.name) || localPlexus.has(n.id) || localNames.has(n.name)) continue;
        const subnets = await listSubnets(api, n.id);
        if (subnets.length === 0) continue;
        await docker.createNetwork({
          Name: n.name,
          Driver: 'plexus',
          CheckDuplicate: true,
          EnableIPv6: subnets.some((s) => s.ipVersion === 6),
          Options: { [OPTION.network]: n.id },
          IPAM: { Driver: 'plexus', Config: subnets.map((s) => ({ Subnet: s.cidr, ...(s.gateway ? { Gateway: s.gateway } : {}) })) },
          Labels: { [MIRROR_LABEL]: n.id },
        }).then(
          () => this.log.info('network mirrored', { plexus: n.id, name: n.name }),
          (err: unknown) => this.log.warn('network not mirrored', { plexus: n.id, name: n.name, error: String(err) }),
        );
      }
      const alive = new Set(networks.map((n) => n.id));
      for (const d of local) {
        const mirrorOf = d.Labels?.[MIRROR_LABEL];
        if (mirrorOf && !alive.has(mirrorOf)) {
          await docker.removeNetwork(d.Id).then(
            () => this.log.info('mirror removed', { plexus: mirrorOf, name: d.Name }),
            (err: unknown) => this.log.warn('mirror not removed', { plexus: mirrorOf, name: d.Name, error: String(err) }),
          );
        }
      }
    } catch (err) {
      this.log.warn('mirror sync failed', { error: String(err) });
    } finally {
      this.syncing = false;
    }
  }

  /**
   * Global scope: `docker network rm` on another host calls DeleteNetwork there
   * only. Forgets a network once both dockerd and Plexus have none (a network
   * being created here is already in Plexus, so it is never forgotten early).
   */
  private async forgetRemovedNetworks(docker: DockerEngine): Promise<void> {
    for (const [dockerId, net] of Object.entries(this.state.networks)) {
      if (this.naming.has(dockerId)) continue;
      const inDocker = await docker.inspectNetwork(dockerId).then(() => true, (err: unknown) => !(err instanceof DockerEngineError && err.status === 404));
      if (inDocker || (await findNetwork(this.options.api, net.plexus)) !== undefined) continue;
      delete this.state.networks[dockerId];
      for (const [id, e] of Object.entries(this.state.endpoints)) if (e.network === dockerId) delete this.state.endpoints[id];
      for (const key of Object.keys(this.state.reserved)) if (key.startsWith(`${net.plexus}|`)) delete this.state.reserved[key];
      this.save();
      this.log.info('network forgotten', { docker: dockerId.slice(0, 12), plexus: net.plexus, reason: 'removed on another host' });
    }
  }

  /** Runs a Plexus call; its failure becomes a DriverError saying what was being done. */
  private async plexusCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ClientError) throw new DriverError(`plexus: cannot ${what}: ${err.message}`, { cause: err, recoverable: err.recoverable });
      throw err;
    }
  }
}
