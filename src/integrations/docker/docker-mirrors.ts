/**
 * Mirroring (local data scope, SPEC §7): without a cluster store each dockerd
 * keeps its own network records, so plexus-docker creates on its host a Docker
 * network (label {@link MIRROR_LABEL}) for every Plexus network with a subnet, and
 * removes the mirrors whose Plexus network is gone. In global scope dockerd shares
 * the networks itself; then a pass only forgets the networks removed on another host.
 */
import { findNetwork, listNetworks, listSubnets } from '../plexus-api';
import { DockerEngineError, type DockerApi } from './docker-engine';
import type { DockerNetworks } from './docker-networks';
import type { DriverContext } from './driver-context';
import { MIRROR_LABEL, OPTION, PROVISIONAL, type DataScope } from './libnetwork';

export class MirrorSync {
  private timer: NodeJS.Timeout | undefined;
  private isSyncing = false;
  private isStopped = false;

  constructor(
    private readonly ctx: DriverContext,
    private readonly networks: DockerNetworks,
    private readonly dataScope: () => Promise<DataScope>,
  ) {}

  /** A pass now and every `everyMs` (nothing without a dockerd or with 0). */
  start(everyMs: number): void {
    this.isStopped = false;
    if (!this.ctx.docker || everyMs <= 0) return;
    this.timer = setInterval(() => void this.sync(), everyMs);
    setImmediate(() => void this.sync());
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.isStopped = true;
  }

  /**
   * Makes every Plexus network with a subnet a Docker network on this host
   * (`--ipam-driver plexus`, adopting it by id), and removes mirrors whose Plexus
   * network is gone. One pass at a time; errors are logged and retried next time.
   */
  async sync(): Promise<void> {
    const docker = this.ctx.docker;
    if (!docker || this.isSyncing || this.isStopped) return;
    this.isSyncing = true;
    try {
      // Global scope: dockerd shares the networks itself; a mirror would be a second global network.
      if ((await this.dataScope()) === 'global') {
        await this.forgetRemovedNetworks(docker);
        return;
      }
      await this.mirror(docker);
    } catch (err) {
      this.ctx.log.warn('mirror sync failed', { error: String(err) });
    } finally {
      this.isSyncing = false;
    }
  }

  private async mirror(docker: DockerApi): Promise<void> {
    const { api, state, log } = this.ctx;
    const [networks, all] = await Promise.all([listNetworks(api), docker.listNetworks()]);
    const local = all.filter((d) => d.Driver === 'plexus');
    const localPlexus = new Set(local.map((d) => state.networks[d.Id]?.plexus).filter(Boolean));
    // A name any Docker network already has (ours or another driver's) is not mirrored.
    const localNames = new Set(all.map((d) => d.Name));
    for (const n of networks) {
      if (PROVISIONAL.test(n.name) || localPlexus.has(n.id) || localNames.has(n.name)) continue;
      const subnets = await listSubnets(api, n.id);
      if (subnets.length === 0) continue;
      this.networks.mirroring.add(n.id);
      const made = await docker.createNetwork({
        Name: n.name,
        Driver: 'plexus',
        CheckDuplicate: true,
        EnableIPv6: subnets.some((s) => s.ipVersion === 6),
        Options: { [OPTION.network]: n.id },
        IPAM: { Driver: 'plexus', Config: subnets.map((s) => ({ Subnet: s.cidr, ...(s.gateway ? { Gateway: s.gateway } : {}) })) },
        Labels: { [MIRROR_LABEL]: n.id },
      }).then(
        (d) => (log.info('network mirrored', { plexus: n.id, name: n.name }), d),
        (err: unknown) => void log.warn('network not mirrored', { plexus: n.id, name: n.name, error: String(err) }),
      ).finally(() => this.networks.mirroring.delete(n.id));
      // Deleted since CreateNetwork found it: the mirror goes now, not one pass later.
      if (made && (await findNetwork(api, n.id)) === undefined) await this.removeMirror(docker, made.Id, n.id, n.name);
    }
    const alive = new Set(networks.map((n) => n.id));
    for (const d of local) {
      const mirrorOf = d.Labels?.[MIRROR_LABEL];
      if (mirrorOf && !alive.has(mirrorOf)) {
        await this.removeMirror(docker, d.Id, mirrorOf, d.Name);
      }
    }
  }

  private async removeMirror(docker: DockerApi, dockerId: string, plexusId: string, name: string): Promise<void> {
    await docker.removeNetwork(dockerId).then(
      () => this.ctx.log.info('mirror removed', { plexus: plexusId, name }),
      (err: unknown) => this.ctx.log.warn('mirror not removed', { plexus: plexusId, name, error: String(err) }),
    );
  }

  /**
   * Global scope: `docker network rm` on another host calls DeleteNetwork there
   * only. Forgets a network once both dockerd and Plexus have none (a network
   * being created here is already in Plexus, so it is never forgotten early).
   */
  private async forgetRemovedNetworks(docker: DockerApi): Promise<void> {
    const { api, state, log } = this.ctx;
    for (const [dockerId, net] of Object.entries(state.networks)) {
      if (this.networks.isNaming(dockerId)) continue;
      const inDocker = await docker.inspectNetwork(dockerId).then(() => true, (err: unknown) => !(err instanceof DockerEngineError && err.status === 404));
      if (inDocker || (await findNetwork(api, net.plexus)) !== undefined) continue;
      state.forgetNetwork(dockerId);
      log.info('network forgotten', { docker: dockerId.slice(0, 12), plexus: net.plexus, reason: 'removed on another host' });
    }
  }
}
