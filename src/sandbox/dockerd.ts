/**
 * A real dockerd for tests and the demo, as "the dockerd of" one lab host: it
 * runs in that host's network namespace (nsenter --net, so cgroups stay
 * visible) and in a private mount namespace whose /etc/docker is a dir of its
 * own holding `plugins/plexus.spec` (so it finds this run's plexus-docker and
 * nothing outside sees it). Own data root, exec root, socket and pidfile; no
 * iptables, no default bridge. Stopped by pid.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { writeBusyboxTar } from './busybox-rootfs';
import { spawnWithPrivateMounts } from './netns';
import { bootOrStop, isAlive, onExitCleanup, run, stopPid, trackPid, untrackPid, waitForAnswer, type RunResult } from './processes';

export interface DockerdOptions {
  /** Lab host namespace dockerd runs in. */
  readonly netns: string;
  /** Plugin name → unix socket path, written as /etc/docker/plugins/<name>.spec. */
  readonly plugins: Readonly<Record<string, string>>;
  /**
   * `etcd://host:port` of a cluster store (an etcd serving the v2 API): dockerd
   * then keeps global-scope networks there, shared by every dockerd using it.
   */
  readonly clusterStore?: string;
  /** `ip:port` this dockerd advertises in the cluster store (with clusterStore). */
  readonly clusterAdvertise?: string;
}

export const DOCKER_BUSYBOX_IMAGE = 'plexus-busybox:latest';

export class Dockerd {
  private process: ChildProcess | undefined;
  private outputText = '';
  private readonly forgetExit: () => void;
  private constructor(
    readonly dir: string,
    readonly options: DockerdOptions,
  ) {
    this.forgetExit = onExitCleanup(() => {
      const pid = this.containerdPid();
      if (pid) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      rmSync(dir, { recursive: true, force: true });
    });
  }

  get socket(): string {
    return join(this.dir, 'docker.sock');
  }
  get host(): string {
    return `unix://${this.socket}`;
  }
  get pid(): number | undefined {
    return this.process?.pid;
  }
  get logs(): string {
    return this.outputText;
  }

  static async start(options: DockerdOptions): Promise<Dockerd> {
    const d = new Dockerd(mkdtempSync(join(tmpdir(), 'plexus-dockerd-')), options);
    return bootOrStop(d, () => d.boot(), () => d.stop());
  }

  private async boot(): Promise<void> {
    const etc = join(this.dir, 'etc-docker');
    mkdirSync(join(etc, 'plugins'), { recursive: true });
    for (const [name, sock] of Object.entries(this.options.plugins)) writeFileSync(join(etc, 'plugins', `${name}.spec`), `unix://${sock}\n`);
    writeFileSync(join(this.dir, 'daemon.json'), '{}\n');
    // The bind target must exist; docker.io ships /etc/docker, an empty dir is all it takes otherwise.
    if (!existsSync('/etc/docker')) mkdirSync('/etc/docker');
    const dockerd = [
      'dockerd',
      '--data-root', join(this.dir, 'data'),
      '--exec-root', join(this.dir, 'exec'),
      '-H', this.host,
      '--pidfile', join(this.dir, 'docker.pid'),
      '--config-file', join(this.dir, 'daemon.json'),
      '--iptables=false', '--ip6tables=false', '--bridge=none', '--ip-forward=false', '--ip-masq=false',
      '--storage-driver', 'vfs',
      ...(this.options.clusterStore ? ['--cluster-store', this.options.clusterStore, '--cluster-advertise', this.options.clusterAdvertise ?? ''] : []),
    ].map((a) => `'${a}'`).join(' ');
    const child = spawnWithPrivateMounts(this.options.netns, `mount --bind '${etc}' /etc/docker && exec ${dockerd}`, (text) => {
      this.outputText = (this.outputText + text).slice(-100_000);
    });
    this.process = child;
    await waitForAnswer('dockerd', child, () => this.outputText, async () => (await this.docker(['version', '--format', '{{.Server.Version}}'], { allowFail: true })).code === 0);
    const containerd = this.containerdPid();
    if (containerd) trackPid(containerd);
  }

  private containerdPid(): number | undefined {
    try {
      const pid = Number(readFileSync(join(this.dir, 'exec', 'containerd', 'containerd.pid'), 'utf8').trim());
      return pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * The docker CLI against this dockerd. A failure that is dockerd's (it exited,
   * or its socket does not answer) carries dockerd's state and last output.
   */
  async docker(args: readonly string[], options: { allowFail?: boolean; timeoutMs?: number; input?: string } = {}): Promise<RunResult> {
    try {
      return await run('docker', ['-H', this.host, ...args], { timeoutMs: 60_000, ...options });
    } catch (err) {
      const p = this.process;
      if (!p || (p.exitCode === null && p.signalCode === null && !/Cannot connect to the Docker daemon/.test((err as Error).message))) throw err;
      const state = p.exitCode === null && p.signalCode === null ? 'still running' : `exited (code ${p.exitCode}, signal ${p.signalCode})`;
      throw new Error(`${(err as Error).message}\n--- dockerd ${state}; its last output:\n${this.outputText.slice(-4000)}`, { cause: err });
    }
  }

  /** Imports a busybox image (no registry): `docker import rootfs.tar`. */
  async importBusybox(): Promise<string> {
    const tar = await writeBusyboxTar(join(this.dir, 'image'));
    await this.docker(['import', tar, DOCKER_BUSYBOX_IMAGE]);
    return DOCKER_BUSYBOX_IMAGE;
  }

  async stop(): Promise<void> {
    const p = this.process;
    if (p?.pid && p.exitCode === null) {
      const ids = (await this.docker(['ps', '-aq'], { allowFail: true }).catch(() => undefined))?.stdout.split('\n').filter(Boolean) ?? [];
      if (ids.length > 0) await this.docker(['rm', '-f', '-v', ...ids], { allowFail: true }).catch(() => undefined);
      await stopPid(p.pid, 20_000);
      untrackPid(p.pid);
    }
    const containerd = this.containerdPid();
    if (containerd && isAlive(containerd)) await stopPid(containerd, 5000);
    this.process = undefined;
    rmSync(this.dir, { recursive: true, force: true });
    this.forgetExit();
  }
}
