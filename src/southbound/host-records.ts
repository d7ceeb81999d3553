/**
 * Every host record in etcd (SPEC §2), kept current by a watch, and the encap
 * IP of every known host (tun_dst toward it, tun_src from it). This member's
 * own writes go through `write`, which skips a record etcd already holds
 * (timestamps aside) and applies it here at once, so the host manager reads
 * what it wrote before the watch echoes it.
 */
import type { Watcher } from 'etcd3';
import { EventEmitter } from 'node:events';
import type { Logger } from '../log';
import type { Collection } from '../store/collection';
import type { HostRecord } from '../store/model';
import type { Guard } from '../store/txn';

export interface HostRecordsEvents {
  /** A record appeared, changed or went (`after` undefined), by a watch event or this member's write. */
  changed: [id: string, before: HostRecord | undefined, after: HostRecord | undefined];
  /** A host's encap IP appeared, changed or went (decommissioned): flows toward it change. */
  encapIp: [hostId: string, encapIp: string | undefined];
}

export class HostRecords extends EventEmitter<HostRecordsEvents> {
  private readonly records = new Map<string, HostRecord>();
  private readonly encapIps = new Map<string, string>();
  private watcher: Watcher | undefined;

  constructor(
    private readonly hosts: Collection<HostRecord>,
    private readonly log: Logger,
  ) {
    super();
  }

  /**
   * Loads every record; `restarted` rewrites those that need it before the
   * watch starts (this member's hosts show disconnected until they reconnect).
   */
  async start(restarted: (record: HostRecord) => HostRecord | undefined): Promise<void> {
    const all = await this.hosts.list();
    let revision = '0';
    for (const { value, revision: rev } of all) {
      this.records.set(value.id, value);
      // Known before any host connects: a restarted member's first flows reach every peer, not only those it writes.
      if (value.encapIp) this.encapIps.set(value.id, value.encapIp);
      if (BigInt(rev) > BigInt(revision)) revision = rev;
      const rewritten = restarted(value);
      if (rewritten) await this.write(rewritten);
    }
    this.watcher = await this.hosts.watch((e) => this.set(e.id, e.kind === 'put' ? e.value : undefined), revision === '0' ? undefined : revision);
    this.watcher.on('error', (err: Error) => this.log.warn('host watch error (etcd3 resumes it)', { error: err.message }));
  }

  async stop(): Promise<void> {
    await this.watcher?.cancel();
  }

  get(id: string): HostRecord | undefined {
    return this.records.get(id);
  }

  values(): IterableIterator<HostRecord> {
    return this.records.values();
  }

  ids(): IterableIterator<string> {
    return this.records.keys();
  }

  /** Encap IPs of every known host, by id (a live map). */
  knownEncapIps(): ReadonlyMap<string, string> {
    return this.encapIps;
  }

  /**
   * Writes a record unless etcd already holds the same (timestamps aside). The
   * comparison is with the record as it is now — another member may have written
   * it since this one last did (mastership moved away and back). With `guard`
   * (the master key this member holds) nothing is written once it is not held:
   * a pass that was under way when mastership moved leaves the record to the new master.
   */
  async write(record: HostRecord, guard?: Guard): Promise<void> {
    const current = this.records.get(record.id);
    if (current && sameRecord(current, record)) return;
    if (guard) {
      if (!(await this.hosts.putWhile(record.id, record, guard))) return;
    } else await this.hosts.put(record.id, record);
    this.set(record.id, record);
  }

  /** Deletes a record; true if it existed. */
  async delete(id: string): Promise<boolean> {
    const existed = await this.hosts.delete(id);
    if (existed) this.set(id, undefined);
    return existed;
  }

  /** The one place the record map changes (watch events and this member's own writes alike). */
  private set(id: string, record: HostRecord | undefined): void {
    const before = this.records.get(id);
    if (!before && !record) return;
    if (record) this.records.set(id, record);
    else this.records.delete(id);
    this.emit('changed', id, before, record);
    const ip = record?.encapIp ?? undefined;
    if (this.encapIps.get(id) === ip) return;
    if (ip === undefined) this.encapIps.delete(id);
    else this.encapIps.set(id, ip);
    this.emit('encapIp', id, ip);
  }
}

/** The same record, timestamps aside (every field is a string, number, boolean or null). */
function sameRecord(a: HostRecord, b: HostRecord): boolean {
  const ra = a as unknown as Record<string, unknown>;
  const rb = b as unknown as Record<string, unknown>;
  for (const k in ra) if (k !== 'updatedAt' && ra[k] !== rb[k]) return false;
  for (const k in rb) if (k !== 'updatedAt' && !(k in ra) && rb[k] !== undefined) return false;
  return true;
}
