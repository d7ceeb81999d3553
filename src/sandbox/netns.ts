/**
 * Network namespaces, veth pairs and processes inside namespaces for the
 * real-packet lab (SPEC §9 "Real packets"). Thin wrappers over iproute2. Every
 * function acts on a name its caller created; nothing here lists links or
 * namespaces by pattern in order to delete them.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { PlexusError } from '../../protocols/common/errors';
import { isAlive, run, stopPid, trackPid, untrackPid, type RunResult } from './processes';

/** A namespace, link or in-namespace command failed or timed out. */
export class NetnsError extends PlexusError {
  override readonly name = 'NetnsError';
}

/** Linux `IFNAMSIZ` − 1. */
export const MAX_IFNAME_LENGTH = 15;

export function assertIfName(name: string): void {
  if (name.length === 0 || name.length > MAX_IFNAME_LENGTH || !/^[A-Za-z0-9_.-]+$/.test(name)) {
    throw new NetnsError(`bad interface name "${name}" (1..${MAX_IFNAME_LENGTH} chars of [A-Za-z0-9_.-])`);
  }
}

type RunOptions = Parameters<typeof run>[2];

/** `ip [-n ns] <args>`; `ns` undefined = the namespace this process runs in. */
export function ip(ns: string | undefined, ...args: string[]): Promise<RunResult> {
  return run('ip', ns ? ['-n', ns, ...args] : args);
}

/** Runs `cmd` inside `ns` to completion (`ip netns exec`). */
export function nsRun(ns: string, cmd: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return run('ip', ['netns', 'exec', ns, cmd, ...args], options);
}

/**
 * Spawns a daemon, `sh -c script`, inside `ns` and in a private mount
 * namespace of its own: the mounts the script makes before it execs the
 * daemon are seen by nothing outside. `nsenter --net` rather than `ip netns
 * exec`, so /sys and the cgroups stay the host's. nsenter, unshare and the
 * script's final `exec` do not fork: the child's pid is the daemon's (tracked
 * here, so it is killed on exit). `onOutput` gets its stdout and stderr.
 */
export function spawnWithPrivateMounts(ns: string, script: string, onOutput: (text: string) => void): ChildProcess {
  const child = spawn('nsenter', [`--net=/run/netns/${ns}`, '--', 'unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid !== undefined) trackPid(child.pid);
  child.stdout!.on('data', (b: Buffer) => onOutput(b.toString()));
  child.stderr!.on('data', (b: Buffer) => onOutput(b.toString()));
  return child;
}

/** Names of the namespaces `ip netns` knows (`/run/netns`). */
export function listNetns(): string[] {
  const out = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n.length > 0);
}

/** Link names in a namespace (`undefined` = ours). */
export function listLinks(ns?: string): string[] {
  const out = execFileSync('ip', [...(ns ? ['-n', ns] : []), '-o', 'link', 'show'], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1])
    .filter((n): n is string => n !== undefined);
}

/**
 * Creates a namespace and brings its loopback up. Rejects if the name exists,
 * which makes `addNetns` usable as an atomic claim on a name.
 */
export async function addNetns(name: string): Promise<void> {
  await run('ip', ['netns', 'add', name]);
  try {
    await ip(name, 'link', 'set', 'lo', 'up');
  } catch (err) {
    await deleteNetns(name); // the name was ours: do not leave it behind half made
    throw err;
  }
}

/** Deletes a namespace (its interfaces, and veth peers elsewhere, go with it). */
export async function deleteNetns(name: string): Promise<void> {
  await run('ip', ['netns', 'del', name], { allowFail: true });
}

/** Same as {@link deleteNetns}, for exit handlers. */
export function deleteNetnsSync(name: string): void {
  try {
    execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  } catch {
    /* already gone */
  }
}

export async function deleteLink(ns: string | undefined, name: string): Promise<void> {
  await run('ip', [...(ns ? ['-n', ns] : []), 'link', 'del', name], { allowFail: true });
}

export function deleteLinkSync(ns: string | undefined, name: string): void {
  try {
    execFileSync('ip', [...(ns ? ['-n', ns] : []), 'link', 'del', name], { stdio: 'ignore' });
  } catch {
    /* already gone */
  }
}

export interface VethSpec {
  readonly name: string;
  /** Namespace of `name`; undefined = ours. */
  readonly ns?: string;
  readonly peer: string;
  /** Namespace of `peer`; undefined = ours. */
  readonly peerNs?: string;
  readonly mtu?: number;
  readonly mac?: string;
  readonly peerMac?: string;
}

/**
 * Creates a veth pair with each end directly in its namespace, so a name used
 * inside a namespace (`eth0`, `ul0`) never appears, even briefly, in ours.
 */
export async function addVeth(spec: VethSpec): Promise<void> {
  assertIfName(spec.name);
  assertIfName(spec.peer);
  const args = ['link', 'add', spec.name];
  if (spec.mtu) args.push('mtu', String(spec.mtu));
  if (spec.mac) args.push('address', spec.mac);
  args.push('type', 'veth', 'peer', 'name', spec.peer);
  if (spec.mtu) args.push('mtu', String(spec.mtu));
  if (spec.peerMac) args.push('address', spec.peerMac);
  // The peer is created in the namespace the command runs in unless told otherwise;
  // when `ip -n ns` runs it, "ours" would be `ns`, so name the root namespace by our pid.
  args.push('netns', spec.peerNs ?? String(process.pid));
  await ip(spec.ns, ...args);
}

/** MAC address of a link. */
export async function linkMac(ns: string | undefined, dev: string): Promise<string> {
  const { stdout } = await ip(ns, '-j', 'link', 'show', 'dev', dev);
  const parsed = JSON.parse(stdout) as { address?: string }[];
  const mac = parsed[0]?.address;
  if (!mac) throw new NetnsError(`no MAC for ${dev} in ${ns ?? 'root namespace'}`);
  return mac;
}

/** `sysctl -w` inside a namespace. */
export async function setSysctl(ns: string, settings: Readonly<Record<string, string | number>>): Promise<void> {
  const args = ['-q', '-w', ...Object.entries(settings).map(([k, v]) => `${k}=${v}`)];
  await nsRun(ns, 'sysctl', args);
}

/**
 * A long-running process inside a namespace, stopped by pid. `ip netns exec`
 * execs the command, so the child's pid is the command's pid.
 */
export class NsProcess {
  private readonly lines: string[] = [];
  private stderrText = '';
  private exitCode: number | null | undefined;
  private readonly waiters = new Set<() => void>();
  readonly exited: Promise<number | null>;

  private constructor(
    readonly ns: string,
    readonly command: string,
    private readonly child: ChildProcess,
  ) {
    let partial = '';
    child.stdout?.on('data', (d: Buffer) => {
      partial += d.toString();
      const parts = partial.split('\n');
      partial = parts.pop() ?? '';
      for (const l of parts) this.lines.push(l);
      this.notify();
    });
    child.stderr?.on('data', (d: Buffer) => (this.stderrText += d.toString()));
    this.exited = new Promise((resolve) => {
      child.on('close', (code) => {
        if (partial) this.lines.push(partial);
        this.exitCode = code;
        if (child.pid !== undefined) untrackPid(child.pid);
        this.notify();
        resolve(code);
      });
      child.on('error', (err) => {
        this.stderrText += String(err);
        this.exitCode = null;
        this.notify();
        resolve(null);
      });
    });
  }

  static spawn(ns: string, cmd: string, args: readonly string[], env?: NodeJS.ProcessEnv): NsProcess {
    const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], {
      env: env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (child.pid !== undefined) trackPid(child.pid);
    return new NsProcess(ns, `${cmd} ${args.join(' ')}`, child);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }
  get output(): readonly string[] {
    return this.lines;
  }
  get stderr(): string {
    return this.stderrText;
  }
  get hasExited(): boolean {
    return this.exitCode !== undefined;
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }

  /**
   * Resolves with the first stdout line `match` accepts; rejects when the process
   * exits first or `timeoutMs` passes.
   */
  waitForLine(match: (line: string) => boolean, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const line = this.lines.find(match);
        if (line !== undefined) {
          done();
          resolve(line);
          return true;
        }
        if (this.exitCode !== undefined) {
          done();
          reject(new NetnsError(`${this.command} in ${this.ns} exited ${this.exitCode}: ${this.stderrText.trim()}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new NetnsError(`timed out after ${timeoutMs} ms waiting for output of ${this.command} in ${this.ns}`, { recoverable: true }));
      }, timeoutMs);
      const waiter = (): void => void check();
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      this.waiters.add(waiter);
      check();
    });
  }

  async stop(): Promise<void> {
    const pid = this.child.pid;
    if (pid !== undefined && !this.hasExited && isAlive(pid)) await stopPid(pid, 1000);
    await this.exited;
  }
}
