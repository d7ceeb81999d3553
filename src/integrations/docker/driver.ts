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
 * Scope. libnetwork accepts a "global" v1 plugin only with a cluster store
 * (removed from Docker 23) or swarm (which refuses v1 plugins), so the driver
 * reports data scope `local` and connectivity scope `global`: each dockerd keeps
 * its own record of the network, and plexus-docker creates that record on its
 * host for every Plexus network (mirroring, `syncIntervalMs`), so a network
 * created on one host is usable with `docker run --net NAME` on every other.
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
import { PlexusApi, PlexusApiError, type EndpointView } from '../rest-client';
import { DockerEngine } from './docker-engine';

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

/** A request libnetwork sent that the driver cannot carry out: its message goes back as `Err`. */
export class DriverError extends PlexusError {
  override readonly name = 'DriverError';
}

export interface DriverOptions {
  readonly api: PlexusApi;
  readonly ovs: OvsTarget;
  /** JSON file that keeps the Docker → Plexus mapping across restarts. */
  readonly stateFile: string;
  /** This host's dockerd (names of new networks; mirroring). */
  readonly docker?: DockerEngine;
  /** Mirror Plexus networks into the local dockerd this often; 0 = never. */
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
  private readonly log: Logger;
  readonly handlers: Readonly<Record<string, Handler>>;

  constructor(private readonly options: DriverOptions) {
    this.log = (options.log ?? silentLogger()).child({ module: 'plexus-docker' });
    this.handlers = {
      '/Plugin.Activate': async () => ({ Implements: ['NetworkDriver', 'IpamDriver'] }),
      '/NetworkDriver.GetCapabilities': async () => ({ Scope: 'local', ConnectivityScope: 'global' }),
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
      const subnets = await this.options.api.listSubnets(name);
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
    const found = this.networkOfPool(poolId);
    if (!found) throw new DriverError(`no Docker network uses pool ${cidr} on this host`);
    const [dockerId, net] = found;
    await this.naming.get(dockerId);
    const ep = await this.plexusCall(`reserve an address in ${cidr}`, () => this.options.api.createEndpoint({
      network: net.plexus,
      kind: 'container',
      name: 'docker-ipam-reserved',
      ...(wanted ? { ips: [wanted] } : {}),
    }));
    const ip = ep.ips.find((a) => containsIp(cidr, a));
    if (!ip) {
      await this.options.api.deleteEndpoint(ep.id);
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
      await this.plexusCall(`release ${ip}`, () => this.options.api.deleteEndpoint(id));
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
    let network: Network | undefined = wanted ? await this.plexusCall('look up the network', () => api.findNetwork(wanted)) : undefined;
    const created = network === undefined;
    if (!network) {
      network = await this.plexusCall('create the network', () => api.createNetwork({ name: wanted || `docker-${dockerId.slice(0, 12)}`, mtu: mtuOpt ?? DEFAULT_WORKLOAD_MTU }));
    }
    try {
      await this.ensureSubnets(network, pools, gateways);
    } catch (err) {
      if (created) await api.deleteNetwork(network.id).catch(() => undefined);
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
    const have = await this.plexusCall('read subnets', () => this.options.api.listSubnets(network.id));
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
      await this.plexusCall(`create subnet ${pool}`, () => this.options.api.createSubnet({ network: network.id, cidr: pool, ...(gw ? { gateway: gw } : {}) }));
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
    const existing = await api.findNetwork(name).catch(() => undefined);
    if (!existing) {
      await api.renameNetwork(net.plexus, name).then(
        () => this.log.info('network named', { docker: dockerId.slice(0, 12), plexus: net.plexus, name }),
        (err: unknown) => this.log.warn('network rename failed', { plexus: net.plexus, name, error: String(err) }),
      );
      return;
    }
    if (existing.id === net.plexus) return;
    const subnets: Subnet[] = await api.listSubnets(existing.id).catch(() => []);
    if (!net.pools.every((p) => subnets.some((s) => s.cidr === p))) {
      this.log.warn('network keeps its provisional name', { plexus: net.plexus, name, reason: `Plexus network ${name} exists with other subnets` });
      return;
    }
    // Same name and subnets: this Docker network is another host's view of an existing Plexus network.
    const provisionalId = net.plexus;
    net.plexus = existing.id;
    net.created = false;
    this.save();
    await api.deleteNetwork(provisionalId).catch((err: unknown) => this.log.warn('provisional network not deleted', { plexus: provisionalId, error: String(err) }));
    this.log.info('network adopted by name', { docker: dockerId.slice(0, 12), plexus: existing.id, name });
  }

  private async deleteNetwork(b: Body): Promise<Body> {
    const dockerId = str(b['NetworkID']);
    const net = this.state.networks[dockerId];
    if (!net) return {};
    await this.naming.get(dockerId);
    if (net.created) await this.plexusCall('delete the network', () => this.options.api.deleteNetwork(net.plexus));
    delete this.state.networks[dockerId];
    this.save();
    this.log.info('network deleted', { docker: dockerId.slice(0, 12), plexus: net.plexus, deletedInPlexus: net.created });
    return {};
  }

  // ---- endpoints -------------------------------------------------------------

  private async createEndpoint(b: Body): Promise<Body> {
    const dockerId = str(b['NetworkID']);
    const endpointId = str(b['EndpointID']);
    const net = this.network(dockerId);
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
      ep = await this.plexusCall('claim the reserved address', () => api.patchEndpoint(id, { name: `docker-${endpointId.slice(0, 12)}`, labels, securityGroups }));
      for (const k of reservedKeys) delete this.state.reserved[k];
      if (qosPolicy) this.log.warn('qos policy not applied', { endpoint: id, qosPolicy, reason: 'set at creation only; this address was reserved by IPAM first' });
    } else {
      ep = await this.plexusCall('create the endpoint', () => api.createEndpoint({
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
    const ep = await this.options.api.findEndpoint(e.plexus).catch(() => undefined);
    return { Value: { 'plexus.endpoint': e.plexus, 'plexus.status': ep?.status ?? 'unknown', 'plexus.host': ep?.host ?? '' } };
  }

  private async join(b: Body): Promise<Body> {
    const endpointId = str(b['EndpointID']);
    const e = this.state.endpoints[endpointId];
    if (!e) throw new DriverError(`plexus-docker knows no endpoint ${endpointId.slice(0, 12)}`);
    const net = this.network(e.network);
    const api = this.options.api;
    const [network, subnets] = await this.plexusCall('read the network', () => Promise.all([api.getNetwork(net.plexus), api.listSubnets(net.plexus)]));
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
      await this.plexusCall('delete the endpoint', () => this.options.api.deleteEndpoint(e.plexus));
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
      const api = this.options.api;
      const [networks, all] = await Promise.all([api.listAll<Network>('/v1/networks'), docker.listNetworks()]);
      const local = all.filter((d) => d.Driver === 'plexus');
      const localPlexus = new Set(local.map((d) => this.state.networks[d.Id]?.plexus).filter(Boolean));
      // A name any Docker network already has (ours or another driver's) is not mirrored.
      const localNames = new Set(all.map((d) => d.Name));
      for (const n of networks) {
        if (PROVISIONAL.test(n.name) || localPlexus.has(n.id) || localNames.has(n.name)) continue;
        const subnets = await api.listSubnets(n.id);
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

  /** Runs a Plexus call; its failure becomes a DriverError saying what was being done. */
  private async plexusCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof PlexusApiError) throw new DriverError(`plexus: cannot ${what}: ${err.message}`, { cause: err, recoverable: err.recoverable });
      throw err;
    }
  }
}
