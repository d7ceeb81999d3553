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
 * The parts, one job each: libnetwork.ts (request bodies, options, names),
 * driver-state.ts (the state file), docker-networks.ts (CreateNetwork,
 * DeleteNetwork, learning a network's name), docker-ipam.ts (pools and
 * addresses), docker-endpoints.ts (CreateEndpoint, Join, Leave), docker-mirrors.ts
 * (mirroring). This class answers the plugin calls with them and holds the status.
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
import { silentLogger, type Logger } from '../../log';
import type { OvsTarget } from '../ovs-port';
import type { ApiClient } from '../plexus-api';
import type { DockerApi } from './docker-engine';
import { createEndpoint, deleteEndpoint, endpointInfo, join, leave } from './docker-endpoints';
import { releaseAddress, requestAddress, requestPool } from './docker-ipam';
import { MirrorSync } from './docker-mirrors';
import { DockerNetworks } from './docker-networks';
import type { DriverContext } from './driver-context';
import { DriverState } from './driver-state';
import type { DataScope, Handler } from './libnetwork';

export interface DriverOptions {
  readonly api: ApiClient;
  readonly ovs: OvsTarget;
  /** JSON file that keeps the Docker → Plexus mapping across restarts. */
  readonly stateFile: string;
  /** This host's dockerd (names of new networks; mirroring). */
  readonly docker?: DockerApi;
  /** libnetwork data scope to report (default auto: ask dockerd whether it has a cluster store). */
  readonly scope?: DataScope | 'auto';
  /** Mirror Plexus networks into the local dockerd this often (local scope only); 0 = never. */
  readonly syncIntervalMs?: number;
  readonly installTimeoutMs?: number;
  readonly log?: Logger;
}

export type DriverStatus = 'starting' | 'running' | 'stopped';

export class PlexusDockerDriver {
  private status: DriverStatus = 'starting';
  private readonly state: DriverState;
  private readonly mirrors: MirrorSync;
  /** The data scope once dockerd answered (auto). */
  private probedScope: DataScope | undefined;
  private readonly log: Logger;
  readonly handlers: Readonly<Record<string, Handler>>;

  constructor(private readonly options: DriverOptions) {
    this.log = (options.log ?? silentLogger()).child({ module: 'plexus-docker' });
    this.state = new DriverState(options.stateFile);
    const ctx: DriverContext = {
      api: options.api,
      ovs: options.ovs,
      docker: options.docker,
      state: this.state,
      installTimeoutMs: options.installTimeoutMs ?? 30_000,
      log: this.log,
    };
    const networks = new DockerNetworks(ctx);
    this.mirrors = new MirrorSync(ctx, networks, () => this.dataScope());
    this.handlers = {
      '/Plugin.Activate': async () => ({ Implements: ['NetworkDriver', 'IpamDriver'] }),
      '/NetworkDriver.GetCapabilities': async () => ({ Scope: await this.dataScope(), ConnectivityScope: 'global' }),
      '/NetworkDriver.CreateNetwork': (b) => networks.createNetwork(b),
      '/NetworkDriver.DeleteNetwork': (b) => networks.deleteNetwork(b),
      '/NetworkDriver.CreateEndpoint': (b) => createEndpoint(ctx, networks, b),
      '/NetworkDriver.DeleteEndpoint': (b) => deleteEndpoint(ctx, b),
      '/NetworkDriver.EndpointOperInfo': (b) => endpointInfo(ctx, b),
      '/NetworkDriver.Join': (b) => join(ctx, b),
      '/NetworkDriver.Leave': (b) => leave(ctx, b),
      '/NetworkDriver.DiscoverNew': async () => ({}),
      '/NetworkDriver.DiscoverDelete': async () => ({}),
      '/NetworkDriver.ProgramExternalConnectivity': async () => ({}),
      '/NetworkDriver.RevokeExternalConnectivity': async () => ({}),
      '/IpamDriver.GetCapabilities': async () => ({ RequiresMACAddress: false }),
      '/IpamDriver.GetDefaultAddressSpaces': async () => ({ LocalDefaultAddressSpace: 'plexus', GlobalDefaultAddressSpace: 'plexus' }),
      '/IpamDriver.RequestPool': (b) => requestPool(ctx, b),
      '/IpamDriver.ReleasePool': async () => ({}),
      '/IpamDriver.RequestAddress': (b) => requestAddress(ctx, networks, b),
      '/IpamDriver.ReleaseAddress': (b) => releaseAddress(ctx, b),
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
    this.state.load();
    void this.dataScope();
    this.mirrors.start(this.options.syncIntervalMs ?? 0);
    this.setStatus('running');
  }

  stop(): void {
    this.mirrors.stop();
    this.setStatus('stopped');
  }

  /** One mirroring pass now (docker-mirrors.ts); a pass already running or a stopped driver makes it a no-op. */
  syncMirrors(): Promise<void> {
    return this.mirrors.sync();
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
}
