/**
 * Runs a real `plexusd` process for tests, the demo and benchmarks: loopback
 * ports picked free, its own data dir, stopped by pid. Runs the TypeScript
 * sources through tsx when we are running from sources, the built JavaScript
 * otherwise, so tests need no build step.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateToken } from '../api/auth';
import { claimTempDir } from './orphans';
import { isAlive, onExitCleanup, sleep, stopPid, trackPid, untrackPid, waitFor } from './processes';

/** `n` distinct free TCP ports on 127.0.0.1 (held open together so they differ). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<import('node:net').Server>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => resolve(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

export interface PlexusdOptions {
  readonly dataDir?: string;
  readonly memberId?: string;
  /** External etcd endpoints; omitted = embedded etcd. */
  readonly etcd?: string;
  readonly logLevel?: string;
  readonly extraArgs?: readonly string[];
  /** Reuse these ports (e.g. to restart a member in place). */
  readonly ports?: PlexusdPorts;
  readonly advertise?: string;
  readonly listenHost?: string;
  /** How to tell the process is ready (default: GET /v1/ready over plain HTTP answers 200). */
  readonly readyProbe?: (p: PlexusdProcess) => Promise<boolean>;
  /**
   * Configure one admin API token (as a deployment serving the network must,
   * SPEC §6; without one plexusd binds its API to loopback only): a config
   * file with its hash is passed with --config, the token is written to
   * `tokenFile` (0600) and `api()` sends it.
   */
  readonly adminToken?: boolean;
  /** The daemon's entry file; default: main.ts beside this module's sources when running from sources, else main.js. */
  readonly entry?: string;
  /** Node flags for this plexusd (besides PLEXUSD_NODE_ARGS), e.g. `--heapsnapshot-signal=SIGUSR2`. */
  readonly nodeArgs?: readonly string[];
}

export interface PlexusdPorts {
  readonly api: number;
  readonly openflow: number;
  readonly ovsdb: number;
  readonly etcdClient: number;
  readonly etcdPeer: number;
}

export class PlexusdProcess {
  private child: ChildProcess | undefined;
  private output = '';
  /** How the last run ended (undefined while running or never started). */
  lastExit: { readonly code: number | null; readonly signal: NodeJS.Signals | null } | undefined;
  private forgetExitCleanup: () => void = () => undefined;
  /** The admin token (with `adminToken: true`), sent by `api()`. */
  readonly token: string | undefined;
  /** A file (mode 0600) whose first line is `token`, for clients given --token-file / tokenFile. */
  readonly tokenFile: string | undefined;
  private readonly configFile: string | undefined;
  private constructor(
    readonly options: PlexusdOptions,
    readonly dataDir: string,
    readonly ports: PlexusdPorts,
    readonly ownsDataDir: boolean,
  ) {
    if (!options.adminToken) return;
    const t = generateToken();
    this.token = t.token;
    this.tokenFile = join(dataDir, 'test-admin.token');
    writeFileSync(this.tokenFile, `${t.token}\n`, { mode: 0o600 });
    this.configFile = join(dataDir, 'plexus-test.yaml');
    writeFileSync(this.configFile, `api-tokens:\n  - { name: test-admin, admin: true, sha256: ${t.sha256} }\n`, { mode: 0o600 });
  }

  get url(): string {
    return `http://127.0.0.1:${this.ports.api}`;
  }
  get pid(): number | undefined {
    return this.child?.pid;
  }
  /** Everything the process wrote (logs), for failure messages. */
  get logs(): string {
    return this.output;
  }

  static async start(options: PlexusdOptions = {}): Promise<PlexusdProcess> {
    const [api, openflow, ovsdb, etcdClient, etcdPeer] = options.ports
      ? [options.ports.api, options.ports.openflow, options.ports.ovsdb, options.ports.etcdClient, options.ports.etcdPeer]
      : await freePorts(5);
    const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'plexusd-'));
    if (!options.dataDir) claimTempDir(dataDir);
    const p = new PlexusdProcess(options, dataDir, { api: api!, openflow: openflow!, ovsdb: ovsdb!, etcdClient: etcdClient!, etcdPeer: etcdPeer! }, !options.dataDir);
    // On an abrupt exit (Ctrl-C) plexusd is killed without its own shutdown: stop the etcd it runs, drop our temp dir.
    p.forgetExitCleanup = onExitCleanup(() => {
      killOrphanedEtcdSync(dataDir);
      if (p.ownsDataDir) rmSync(dataDir, { recursive: true, force: true });
    });
    await p.launch();
    return p;
  }

  /** Starts (again) with the same data dir and ports. */
  async launch(): Promise<void> {
    const o = this.options;
    const host = o.listenHost ?? '127.0.0.1';
    const args = [
      '--data-dir', this.dataDir,
      '--listen-api', `${host}:${this.ports.api}`,
      '--listen-openflow', `${host}:${this.ports.openflow}`,
      '--listen-ovsdb', `${host}:${this.ports.ovsdb}`,
      '--embedded-etcd-ports', `${this.ports.etcdClient},${this.ports.etcdPeer}`,
      '--advertise', o.advertise ?? '127.0.0.1',
      '--log-level', o.logLevel ?? 'info',
      ...(o.memberId ? ['--member-id', o.memberId] : []),
      ...(o.etcd ? ['--etcd', o.etcd] : []),
      ...(this.configFile ? ['--config', this.configFile] : []),
      ...(o.extraArgs ?? []),
    ];
    const entry = o.entry ?? join(__dirname, '..', 'daemon', __filename.endsWith('.ts') ? 'main.ts' : 'main.js');
    const fromSource = entry.endsWith('.ts');
    // PLEXUSD_NODE_ARGS passes node flags to every plexusd started here, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
    const extraNodeArgs = (process.env['PLEXUSD_NODE_ARGS'] ?? '').split(/\s+/).filter(Boolean);
    const nodeArgs = [...extraNodeArgs, ...(o.nodeArgs ?? []), ...(fromSource ? ['--require', require.resolve('tsx/cjs'), entry] : [entry])];
    this.output = '';
    const child = spawn(process.execPath, [...nodeArgs, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } });
    this.child = child;
    trackPid(child.pid!);
    // For src/sandbox/orphans.ts: a run killed -9 leaves this plexusd (and its etcd), found again by these pidfiles.
    writeFileSync(join(this.dataDir, 'sandbox-plexusd.pid'), `${child.pid}\n`);
    const collect = (d: Buffer): void => {
      this.output = (this.output + d.toString()).slice(-200_000);
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    this.lastExit = undefined;
    child.on('exit', (code, signal) => {
      untrackPid(child.pid!);
      this.lastExit = { code, signal };
    });
    try {
      await waitFor('plexusd to be ready', async () => {
        if (child.exitCode !== null) throw new Error(`plexusd exited with ${child.exitCode}:\n${this.output.slice(-3000)}`);
        if (o.readyProbe) return o.readyProbe(this).catch(() => false);
        const res = await fetch(`${this.url}/v1/ready`).catch(() => undefined);
        return res?.status === 200;
      }, 30_000, 50);
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** Graceful stop (SIGTERM), waiting for exit. */
  async stop(): Promise<void> {
    const pid = this.child?.pid;
    if (pid && isAlive(pid)) await stopPid(pid, 15_000);
    // Embedded etcd is plexusd's child; if plexusd was killed it may linger: stop it by its pidfile.
    this.child = undefined;
  }

  /** kill -9: no shutdown logic runs. */
  async kill(): Promise<void> {
    const pid = this.child?.pid;
    if (!pid) return;
    process.kill(pid, 'SIGKILL');
    while (isAlive(pid)) await sleep(10);
    this.child = undefined;
  }

  /** Stops the process and anything it orphaned, and removes a data dir we created. */
  async destroy(): Promise<void> {
    await this.stop();
    await stopOrphanedEtcd(this.dataDir);
    if (this.ownsDataDir) rmSync(this.dataDir, { recursive: true, force: true });
    this.forgetExitCleanup();
  }

  /** Resolves once `count` hosts are `ready` in this member's API (`what` names the wait in its timeout error). */
  async waitHostsReady(count: number, what = `${count} hosts ready`, timeoutMs = 30_000): Promise<void> {
    await waitFor(what, async () => {
      const r = await this.api<{ items: { status: string }[] }>('GET', '/v1/hosts');
      return r.body.items.filter((h) => h.status === 'ready').length === count;
    }, timeoutMs);
  }

  async api<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T; headers: Headers }> {
    const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
    if (this.token) headers['authorization'] = `Bearer ${this.token}`;
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed as T, headers: res.headers };
  }
}

/** The embedded etcd a plexusd with this data dir runs, if it is alive (checked by pid and command line). */
function embeddedEtcdPid(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dataDir, 'etcd.pid'), 'utf8').trim());
    if (pid && isAlive(pid) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dataDir)) return pid;
  } catch {
    /* no etcd left */
  }
  return undefined;
}

async function stopOrphanedEtcd(dataDir: string): Promise<void> {
  const pid = embeddedEtcdPid(dataDir);
  if (pid) await stopPid(pid, 5000);
}

function killOrphanedEtcdSync(dataDir: string): void {
  const pid = embeddedEtcdPid(dataDir);
  if (pid) process.kill(pid, 'SIGKILL');
}
