/**
 * Watches one bridge's flow table with a long-running
 * `ovs-ofctl -O OpenFlow13 monitor <bridge> watch:!initial` (OVS flow monitor,
 * Nicira extension) and timestamps, on arrival, every ADDED or MODIFIED event.
 * A caller-supplied `keyOf(line)` names what an event is about (e.g. the MAC of
 * `dl_dst=`); `when(key, sinceMs)` resolves with the first arrival time of an
 * event with that key at or after `sinceMs`. ovs-ofctl prints the reply to its
 * request on stdout and the asynchronous updates on stderr: both are read.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import type { OvsHost } from '../src/sandbox/ovs-host';
import { stopPid, trackPid, untrackPid, waitFor } from '../src/sandbox/processes';

export type KeyOf = (eventLine: string) => string | undefined;

interface Waiter {
  readonly sinceMs: number;
  readonly resolve: (atMs: number) => void;
}

/**
 * Arrival times of keyed events, and promises for the first arrival at or after
 * a moment: what every remote watch (ovs-ofctl monitor, simulated switch) shares.
 */
export class ArrivalLog {
  private readonly seen = new Map<string, number[]>();
  private readonly waiters = new Map<string, Waiter[]>();

  record(key: string, atMs: number): void {
    let times = this.seen.get(key);
    if (!times) this.seen.set(key, (times = []));
    times.push(atMs);
    const waiting = this.waiters.get(key);
    if (!waiting) return;
    const still = waiting.filter((wt) => {
      if (atMs < wt.sinceMs) return true;
      wt.resolve(atMs);
      return false;
    });
    if (still.length) this.waiters.set(key, still);
    else this.waiters.delete(key);
  }

  /** First arrival at or after `sinceMs` of an event with this key. */
  when(key: string, sinceMs: number): Promise<number> {
    const hit = this.seen.get(key)?.find((t) => t >= sinceMs);
    if (hit !== undefined) return Promise.resolve(hit);
    return new Promise((resolve) => {
      const list = this.waiters.get(key) ?? [];
      list.push({ sinceMs, resolve });
      this.waiters.set(key, list);
    });
  }
}

export class FlowWatch {
  private readonly log = new ArrivalLog();
  private registered = false;
  private exited = false;
  private tail = '';
  private constructor(
    private readonly child: ChildProcess,
    private readonly keyOf: KeyOf,
  ) {}

  static async start(host: OvsHost, keyOf: KeyOf, bridge = 'br-int'): Promise<FlowWatch> {
    const child = spawn('ovs-ofctl', ['-O', 'OpenFlow13', 'monitor', host.mgmt(bridge), 'watch:!initial'], {
      env: host.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    trackPid(child.pid!);
    const w = new FlowWatch(child, keyOf);
    const tails = { out: '', err: '' };
    const onData = (which: 'out' | 'err') => (d: Buffer): void => {
      const atMs = performance.now();
      const text = tails[which] + d.toString();
      const lines = text.split('\n');
      tails[which] = lines.pop()!;
      for (const line of lines) w.onLine(line, atMs);
    };
    child.stdout!.on('data', onData('out'));
    child.stderr!.on('data', onData('err'));
    child.on('exit', () => {
      w.exited = true;
      untrackPid(child.pid!);
    });
    try {
      await waitFor('flow monitor to be registered', () => {
        if (w.exited) throw new Error(`ovs-ofctl monitor exited: ${w.tail}`);
        return w.registered;
      }, 10_000);
    } catch (err) {
      await w.stop();
      throw err;
    }
    return w;
  }

  private onLine(line: string, atMs: number): void {
    if (line.includes('FLOW_MONITOR reply')) this.registered = true;
    this.tail = (this.tail + line + '\n').slice(-2000);
    if (!/event=(ADDED|MODIFIED)/.test(line)) return;
    const key = this.keyOf(line);
    if (key !== undefined) this.log.record(key, atMs);
  }

  /** First arrival at or after `sinceMs` of an event with this key. */
  when(key: string, sinceMs: number): Promise<number> {
    return this.log.when(key, sinceMs);
  }

  async stop(): Promise<void> {
    if (!this.exited && this.child.pid) await stopPid(this.child.pid, 1000);
    untrackPid(this.child.pid!);
  }
}

/** The exact (unmasked) `dl_dst=<mac>` of a flow, lower case. */
export function dlDstOf(line: string): string | undefined {
  return /\bdl_dst=([0-9a-f]{2}(?::[0-9a-f]{2}){5})(?![/0-9a-f:])/i.exec(line)?.[1]?.toLowerCase();
}
