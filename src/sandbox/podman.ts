/**
 * podman as a real CNI runtime for tests and the demo (SPEC §7): its own
 * storage, run and config dirs in a temp dir, the CNI network backend pointed
 * at a plugin dir and a config dir of the caller's, run inside a lab host's
 * network namespace (nsenter --net keeps the mount namespace, so cgroups stay
 * visible) so the plugin's veth lands where that host's ovs-vswitchd runs.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeBusyboxTar } from './busybox-rootfs';
import { onExitCleanup, run, type RunResult } from './processes';

export interface PodmanOptions {
  /** Network namespace name (`ip netns`) podman and its CNI plugins run in. */
  readonly netns: string;
  readonly cniPluginDirs: readonly string[];
  readonly cniConfigDir: string;
}

/** Image every sandbox imports from the static busybox. */
export const BUSYBOX_IMAGE = 'localhost/plexus-busybox:latest';
/** This machine refuses raising rlimits (no CAP_SYS_RESOURCE); podman's defaults raise them. */
const ULIMITS = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024'];

export class PodmanSandbox {
  private readonly forgetExit: () => void;
  private constructor(
    readonly dir: string,
    readonly options: PodmanOptions,
  ) {
    this.forgetExit = onExitCleanup(() => rmSync(dir, { recursive: true, force: true }));
  }

  static async create(options: PodmanOptions): Promise<PodmanSandbox> {
    const dir = mkdtempSync(join(tmpdir(), 'plexus-podman-'));
    const p = new PodmanSandbox(dir, options);
    try {
      for (const d of ['root', 'runroot', 'tmp', 'img']) mkdirSync(join(dir, d));
      writeFileSync(join(dir, 'containers.conf'), [
        '[network]',
        'network_backend = "cni"',
        `cni_plugin_dirs = [${options.cniPluginDirs.map((d) => JSON.stringify(d)).join(', ')}]`,
        `network_config_dir = ${JSON.stringify(options.cniConfigDir)}`,
        '[engine]',
        'cgroup_manager = "cgroupfs"',
        // crun refuses a hybrid cgroup v1/v2 mount ("cgroups in hybrid mode not supported"), as this machine has; runc runs there.
        'runtime = "runc"',
        'events_logger = "file"',
        `events_logfile_path = ${JSON.stringify(join(dir, 'events.log'))}`,
        `tmp_dir = ${JSON.stringify(join(dir, 'tmp'))}`,
        '',
      ].join('\n'));
      const tar = await writeBusyboxTar(join(dir, 'img'));
      await p.podman(['import', tar, BUSYBOX_IMAGE]);
    } catch (err) {
      await p.destroy();
      throw err;
    }
    return p;
  }

  /** `podman <args>` with this sandbox's storage and configuration, in the host's namespace. */
  podman(args: readonly string[], options: { allowFail?: boolean; timeoutMs?: number } = {}): Promise<RunResult> {
    return run('nsenter', [
      `--net=/run/netns/${this.options.netns}`, 'podman',
      '--root', join(this.dir, 'root'), '--runroot', join(this.dir, 'runroot'), '--storage-driver', 'vfs',
      ...args,
    ], { env: { ...process.env, CONTAINERS_CONF: join(this.dir, 'containers.conf') }, ...options });
  }

  /** `podman run --rm --network <network> <image> <cmd...>` to completion. */
  runOnce(network: string, cmd: readonly string[], timeoutMs = 60_000): Promise<RunResult> {
    return this.podman(['run', '--rm', ...ULIMITS, '--network', network, BUSYBOX_IMAGE, ...cmd], { allowFail: true, timeoutMs });
  }

  /** Starts a detached container (`sleep`), returns its id. */
  async start(name: string, network: string): Promise<string> {
    const r = await this.podman(['run', '-d', ...ULIMITS, '--name', name, '--network', network, BUSYBOX_IMAGE, 'sleep', '600'], { timeoutMs: 60_000 });
    return r.stdout.trim().split('\n').pop() ?? '';
  }

  exec(name: string, cmd: readonly string[], timeoutMs = 30_000): Promise<RunResult> {
    return this.podman(['exec', name, ...cmd], { allowFail: true, timeoutMs });
  }

  /** Stops and removes a container (podman calls CNI DEL). */
  async remove(name: string): Promise<RunResult> {
    return this.podman(['rm', '-f', '-t', '0', name], { allowFail: true, timeoutMs: 60_000 });
  }

  async destroy(): Promise<void> {
    await this.podman(['rm', '-a', '-f', '-t', '0'], { allowFail: true, timeoutMs: 60_000 }).catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
    this.forgetExit();
  }
}
