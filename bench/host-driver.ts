/**
 * Drives one sandboxed host the way a CNI plugin or Nova's os-vif does, but
 * without a process per operation: a persistent OVSDB session to the host's
 * db.sock adds each workload interface with ONE transaction (Interface
 * type=dummy + Port + mutate br-int ports), and a monitor on Interface reports
 * when the controller marks it installed (`plexus-installed` or OVN's
 * `ovn-installed`).
 */
import { performance } from 'node:perf_hooks';
import type { Monitor } from '../protocols/ovsdb/monitor';
import { decodeStringMap, map, namedUuid, set, type Row } from '../protocols/ovsdb/rfc7047';
import { OvsdbSession } from '../protocols/ovsdb/session';
import { cond, insert, mutate, mutation } from '../protocols/ovsdb/transact';
import { silentLogger } from '../src/log';

/** What the driver needs of a host: its OVSDB socket (a sandboxed OvsHost or a simulated host). */
export interface DrivenHost {
  readonly dbSock: string;
}

const DB = 'Open_vSwitch';

interface MarkWaiter {
  readonly key: string;
  readonly resolve: (atMs: number) => void;
}

export class HostDriver {
  /** Interface name → time its mark was first seen, per mark key. */
  private readonly marked = new Map<string, Map<string, number>>();
  private readonly waiters = new Map<string, MarkWaiter[]>();
  /** Names of the interfaces this driver added. */
  readonly ports: string[] = [];

  private constructor(
    readonly host: DrivenHost,
    private readonly session: OvsdbSession,
    private readonly marks: readonly string[],
  ) {}

  /** `marks`: external_ids keys whose value "true" means installed. */
  static async connect(host: DrivenHost, marks: readonly string[]): Promise<HostDriver> {
    const session = await OvsdbSession.connect(`unix:${host.dbSock}`, { logger: silentLogger() });
    const d = new HostDriver(host, session, marks);
    let monitor: Monitor;
    try {
      monitor = await session.monitor(DB, { Interface: { columns: ['name', 'external_ids'] } });
    } catch (err) {
      session.close();
      throw err;
    }
    monitor.replica.on('change', (c) => {
      if (c.table === 'Interface' && c.new) d.onInterface(c.new, performance.now());
    });
    for (const [, row] of monitor.replica.rows('Interface')) d.onInterface(row, performance.now());
    return d;
  }

  private onInterface(row: Row, atMs: number): void {
    const name = row.name;
    if (typeof name !== 'string') return;
    const ids = decodeStringMap(row.external_ids ?? ['map', []]);
    for (const key of this.marks) {
      if (ids[key] !== 'true') continue;
      let byKey = this.marked.get(name);
      if (!byKey) this.marked.set(name, (byKey = new Map()));
      if (byKey.has(key)) continue;
      byKey.set(key, atMs);
      const waiting = this.waiters.get(name);
      if (!waiting) continue;
      const still = waiting.filter((w) => {
        if (w.key !== key) return true;
        w.resolve(atMs);
        return false;
      });
      if (still.length) this.waiters.set(name, still);
      else this.waiters.delete(name);
    }
  }

  /**
   * Adds interface `name` to br-int in one transaction; resolves with the time
   * the request was handed to the socket (before the server's reply). With
   * `ofport`, the Interface row carries it (simulated hosts: no ovs-vswitchd
   * assigns one).
   */
  plug(name: string, externalIds: Readonly<Record<string, string>>, ofport?: number): { sentMs: number; done: Promise<unknown> } {
    const ops = [
      insert('Interface', { name, type: 'dummy', external_ids: map(externalIds), ...(ofport !== undefined ? { ofport } : {}) }, 'iface'),
      insert('Port', { name, interfaces: set([namedUuid('iface')]) }, 'port'),
      mutate('Bridge', [cond('name', '==', 'br-int')], [mutation('ports', 'insert', set([namedUuid('port')]))]),
    ] as const;
    const sentMs = performance.now();
    const done = this.session.transact(DB, ops, { timeoutMs: 60_000 });
    this.ports.push(name);
    return { sentMs, done };
  }

  /** Time the interface first carried `external_ids:<key>=true`. */
  whenMarked(name: string, key: string): Promise<number> {
    const at = this.marked.get(name)?.get(key);
    if (at !== undefined) return Promise.resolve(at);
    return new Promise((resolve) => {
      const list = this.waiters.get(name) ?? [];
      list.push({ key, resolve });
      this.waiters.set(name, list);
    });
  }

  async stop(): Promise<void> {
    this.session.close();
  }
}
