/**
 * Docker on a lab host, the way a real host runs it: a dockerd (src/sandbox/
 * dockerd.ts) and plexus-docker, both in the host's network namespace,
 * plexus-docker pointed at the host's OVSDB, at plexusd's API over the
 * management segment and at that dockerd (names, mirroring).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Dockerd } from './dockerd';
import type { LabHost } from './lab';
import { NsProcess } from './netns';
import { onExitCleanup, waitFor } from './processes';

export interface DockerHostOptions {
  readonly host: LabHost;
  /** plexusd's API as the host namespace reaches it. */
  readonly plexusUrl: string;
  /** File with the bearer token plexus-docker sends (a plexusd serving the network needs one, SPEC §6). */
  readonly tokenFile?: string;
  readonly syncIntervalMs?: number;
  readonly logLevel?: string;
  /** dockerd's cluster store (`etcd://ip:port`, v2 API): global-scope networks; dockerd advertises the host's management address. */
  readonly clusterStore?: string;
  /** plexus-docker's --scope (default auto: global when dockerd has a cluster store). */
  readonly scope?: 'auto' | 'local' | 'global';
}

/** plexus-docker's entry beside this module: the TypeScript source (through tsx) or the build. */
function driverEntry(): string[] {
  const fromSource = __filename.endsWith('.ts');
  const entry = join(__dirname, '..', 'integrations', 'docker', fromSource ? 'main.ts' : 'main.js');
  return fromSource ? ['--require', require.resolve('tsx/cjs'), entry] : [entry];
}

export class DockerHost {
  private readonly forgetExit: () => void;
  private constructor(
    readonly host: LabHost,
    readonly dir: string,
    readonly dockerd: Dockerd,
    readonly driver: NsProcess,
    readonly image: string,
  ) {
    this.forgetExit = onExitCleanup(() => rmSync(dir, { recursive: true, force: true }));
  }

  static async start(options: DockerHostOptions): Promise<DockerHost> {
    const h = options.host;
    const dir = mkdtempSync(join(tmpdir(), `plexus-docker-${h.id}-`));
    const sock = join(dir, 'plexus.sock');
    let dockerd: Dockerd | undefined;
    let driver: NsProcess | undefined;
    try {
      dockerd = await Dockerd.start({
        netns: h.netns,
        plugins: { plexus: sock },
        ...(options.clusterStore ? { clusterStore: options.clusterStore, clusterAdvertise: `${h.mgmtIp}:2376` } : {}),
      });
      driver = NsProcess.spawn(h.netns, process.execPath, [
        ...driverEntry(),
        '--socket', sock,
        '--plexus-url', options.plexusUrl,
        ...(options.tokenFile ? ['--token-file', options.tokenFile] : []),
        '--ovsdb', `unix:${h.ovs.dbSock}`,
        '--state-dir', join(dir, 'state'),
        '--docker-host', dockerd.host,
        '--sync-interval-ms', String(options.syncIntervalMs ?? 500),
        '--log-level', options.logLevel ?? 'info',
        ...(options.scope ? ['--scope', options.scope] : []),
      ]);
      const d = driver;
      await waitFor(`plexus-docker on ${h.id}`, () => {
        if (d.hasExited) throw new Error(`plexus-docker exited: ${d.stderr.slice(-2000)}`);
        return d.stderr.includes('plexus-docker listening');
      }, 30_000);
      const image = await dockerd.importBusybox();
      return new DockerHost(h, dir, dockerd, driver, image);
    } catch (err) {
      await dockerd?.stop();
      await driver?.stop();
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** The docker CLI against this host's dockerd; rejects with Docker's own message on failure. */
  async docker(...args: string[]): Promise<string> {
    const r = await this.dockerd.docker(args, { allowFail: true, timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`docker ${args.join(' ')} on ${this.host.id}: ${r.stderr.trim()}`);
    return r.stdout.trim();
  }

  /** A container's address on a network. */
  ipOf(container: string, network: string): Promise<string> {
    return this.docker('inspect', '-f', `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`, container);
  }

  get driverLogs(): string {
    return this.driver.stderr;
  }

  async stop(): Promise<void> {
    await this.dockerd.stop();
    await this.driver.stop();
    rmSync(this.dir, { recursive: true, force: true });
    this.forgetExit();
  }
}
