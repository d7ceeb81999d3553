/**
 * Runs and supervises a single-member etcd on loopback for the embedded
 * deployment (SPEC §1): started under `<data-dir>/etcd`, restarted with backoff if
 * it dies, stopped when plexusd stops. Its pid is kept in `<data-dir>/etcd.pid` so
 * that a plexusd that was killed -9 can, on restart, stop the etcd it orphaned
 * (ours, by pid and data dir) instead of failing on a busy port.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { PlexusError } from '../../protocols/common/errors';
import type { Logger } from '../log';
import { isAlive, signalPid, sleep, stopPid } from '../os/processes';

export class EtcdError extends PlexusError {
  override readonly name = 'EtcdError';
}

export type EmbeddedEtcdState = 'stopped' | 'starting' | 'running' | 'restarting';

export interface EmbeddedEtcdOptions {
  readonly dataDir: string;
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly binary?: string;
  /** Delays between restarts after crashes; the last repeats. */
  readonly restartBackoffMs?: readonly number[];
}

export class EmbeddedEtcd extends EventEmitter {
  private child: ChildProcess | undefined;
  private state: EmbeddedEtcdState = 'stopped';
  private crashes = 0;
  private stopping = false;

  constructor(
    private readonly options: EmbeddedEtcdOptions,
    private readonly log: Logger,
  ) {
    super();
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.options.clientPort}`;
  }
  get currentState(): EmbeddedEtcdState {
    return this.state;
  }
  get pid(): number | undefined {
    return this.child?.pid;
  }
  private get pidFile(): string {
    return join(this.options.dataDir, 'etcd.pid');
  }

  private setState(state: EmbeddedEtcdState): void {
    if (state === this.state) return;
    this.log.info('embedded etcd state', { from: this.state, to: state, pid: this.child?.pid });
    this.state = state;
    this.emit('state', state);
  }

  /** Starts etcd and resolves once it answers /health. */
  async start(): Promise<void> {
    const binary = this.options.binary ?? 'etcd';
    if (spawnSync(binary, ['--version'], { stdio: 'ignore' }).error) {
      throw new EtcdError(
        `embedded mode needs the "${binary}" binary on PATH (Debian: apt-get install etcd-server), or pass --etcd URLS to use an external etcd`,
      );
    }
    mkdirSync(this.options.dataDir, { recursive: true });
    await this.stopOrphan();
    this.stopping = false;
    this.setState('starting');
    this.spawnChild();
    await this.waitHealthy(15_000);
    this.setState('running');
  }

  /** Stops an etcd left behind by an earlier plexusd with this data dir. */
  private async stopOrphan(): Promise<void> {
    let pid: number;
    try {
      pid = Number(readFileSync(this.pidFile, 'utf8').trim());
    } catch {
      return;
    }
    if (!pid || !isAlive(pid)) return;
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      return;
    }
    if (cmdline.includes('etcd') && cmdline.includes(this.etcdDir)) {
      this.log.warn('stopping etcd left by an earlier plexusd', { pid });
      await stopPid(pid, 5000);
    }
  }

  private get etcdDir(): string {
    return join(this.options.dataDir, 'etcd');
  }

  private spawnChild(): void {
    const { name, clientPort, peerPort } = this.options;
    const client = `http://127.0.0.1:${clientPort}`;
    const peer = `http://127.0.0.1:${peerPort}`;
    const child = spawn(
      this.options.binary ?? 'etcd',
      [
        '--name', name,
        '--data-dir', this.etcdDir,
        '--listen-client-urls', client,
        '--advertise-client-urls', client,
        '--listen-peer-urls', peer,
        '--initial-advertise-peer-urls', peer,
        '--initial-cluster', `${name}=${peer}`,
        '--initial-cluster-state', 'new',
        '--auto-compaction-retention', '1',
        '--log-level', 'warn',
      ],
      // Its own process group: a Ctrl-C meant for plexusd must not stop etcd before plexusd has
      // handed its datapaths over; plexusd stops it last (or systemd, KillMode=mixed, after plexusd).
      { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
    );
    this.child = child;
    if (child.pid) {
      writeFileSync(this.pidFile, `${child.pid}\n`);
    }
    let tail = '';
    child.stderr?.on('data', (d: Buffer) => (tail = (tail + d.toString()).slice(-2000)));
    child.on('exit', (code, signal) => {
      if (this.child !== child) return;
      this.child = undefined;
      if (this.stopping) return;
      this.log.error('embedded etcd exited', { code, signal, stderr: tail.trim().split('\n').slice(-3).join(' | ') });
      void this.restart();
    });
  }

  private async restart(): Promise<void> {
    const backoff = this.options.restartBackoffMs ?? [100, 500, 1000, 2000, 5000];
    const delay = backoff[Math.min(this.crashes, backoff.length - 1)]!;
    this.crashes++;
    this.setState('restarting');
    await sleep(delay);
    if (this.stopping) return;
    this.spawnChild();
    try {
      await this.waitHealthy(15_000);
      this.crashes = 0;
      this.setState('running');
    } catch (err) {
      this.log.error('embedded etcd did not become healthy', { error: (err as Error).message });
    }
  }

  private async waitHealthy(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.child) throw new EtcdError('embedded etcd exited during start-up (see the log above)');
      if (await this.isHealthy()) return;
      await sleep(50);
    }
    throw new EtcdError(`embedded etcd not healthy within ${timeoutMs} ms on ${this.endpoint}`);
  }

  isHealthy(): Promise<boolean> {
    return new Promise((resolve) => {
      const req = request(`${this.endpoint}/health`, { timeout: 1000 }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve(res.statusCode === 200 && body.includes('true')));
      });
      req.on('error', () => resolve(false));
      req.on('timeout', () => req.destroy());
      req.end();
    });
  }

  /** For an immediate exit (a second signal): asks etcd to stop and does not wait. */
  abandon(): void {
    this.stopping = true;
    const pid = this.child?.pid;
    if (pid) signalPid(pid, 'SIGTERM');
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const pid = this.child?.pid;
    this.child = undefined;
    if (pid) await stopPid(pid, 5000);
    rmSync(this.pidFile, { force: true });
    this.setState('stopped');
  }
}
