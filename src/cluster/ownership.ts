/**
 * One master per datapath (SPEC §5). The master of a host is recorded under
 * /plexus/masters/<host> with the master's lease, so it vanishes with the member.
 * Every member ranks the live members for each host by rendezvous hashing and
 * the first one takes the key when it is free; a member that holds a key it no
 * longer ranks first (a new member joined) hands it over by deleting it.
 *
 * The key's etcd mod revision is the generation id of the OpenFlow ROLE_REQUEST
 * the master sends: revisions only grow, so a switch refuses a stale master by
 * itself, even one that was partitioned away and still believes it is master.
 */
import type { Etcd3, Watcher } from 'etcd3';
import { EventEmitter } from 'node:events';
import { Backoff, type BackoffPolicy } from '../../protocols/common/backoff';
import { RetryLog, type Logger } from '../log';
import type { Keys } from '../store/keys';
import { holds, type Guard } from '../store/txn';
import type { Membership } from './membership';
import { assignBalanced, rankMembers } from './rendezvous';

export interface Mastership {
  readonly member: string;
  /** mod revision of the master key: the OpenFlow role generation id. */
  readonly generation: bigint;
}

export interface OwnershipEvents {
  /** The master of a host changed (or its generation did). */
  changed: [hostId: string];
}

/** What the host manager and the overlay need to know about ownership. */
export interface Mastery {
  readonly memberId: string;
  isMaster(hostId: string): boolean;
  masterOf(hostId: string): Mastership | undefined;
  /** Registers a host this member sees, so ownership is decided for it. */
  track(hostId: string): void;
  /** The hosts of the model (host records), for a balanced assignment. */
  setKnownHosts(ids: Iterable<string>): void;
  /** OpenFlow controller targets for a host: its top-ranked live members (at most 3). */
  controllerTargets(hostId: string): string[];
  /** The master key of a host as this member holds it: a master's write guarded by it never lands after a hand-over. */
  heldKey(hostId: string): Guard;
  on(event: 'changed', listener: (hostId: string) => void): this;
}

export class Ownership extends EventEmitter<OwnershipEvents> implements Mastery {
  private readonly masters = new Map<string, Mastership>();
  private readonly hosts = new Set<string>();
  private known = new Set<string>();
  private assignment: Map<string, string> | undefined;
  private readonly inFlight = new Set<string>();
  /** Hosts whose key this member just took, until its watch shows the put: decided on as held, not taken again. */
  private readonly taken = new Set<string>();
  /** Hosts whose key changed while a write of ours was in flight: decided again once it ends. */
  private readonly decideAgain = new Set<string>();
  /** Hosts whose key write failed (etcd away), tried again after the backoff. */
  private readonly retries = new Map<string, NodeJS.Timeout>();
  private readonly backoff: Backoff;
  /** Key writes failing (etcd away): a warn line per burst, not per host. */
  private readonly retryLog: RetryLog;
  private watcher: Watcher | undefined;
  private stopped = false;

  constructor(
    private readonly client: Etcd3,
    private readonly keys: Keys,
    private readonly membership: Membership,
    private readonly log: Logger,
    retryBackoff: BackoffPolicy = {},
  ) {
    super();
    this.backoff = new Backoff(retryBackoff);
    this.retryLog = new RetryLog(log);
  }

  get memberId(): string {
    return this.membership.id;
  }

  /** What this member's master keys hold. */
  private get claimValue(): string {
    return JSON.stringify({ member: this.memberId });
  }

  async start(): Promise<void> {
    let res = await this.client.getAll().prefix(this.keys.masters()).exec();
    // Keys naming this member under an earlier lease (we were killed and restarted):
    // drop them now rather than acting on them until that lease expires.
    const mine = this.claimValue;
    const lease = this.membership.currentLease();
    const leaseId = lease ? await lease.grant() : undefined;
    const stale = res.kvs.filter((kv) => kv.value.toString() === mine && kv.lease !== leaseId);
    for (const kv of stale) {
      await this.client.if(kv.key.toString(), 'Mod', '==', kv.mod_revision).then(this.client.delete().key(kv.key.toString())).commit();
    }
    if (stale.length) {
      this.log.info('dropped master keys of an earlier run', { hosts: stale.length });
      res = await this.client.getAll().prefix(this.keys.masters()).exec();
    }
    for (const kv of res.kvs) this.onPut(kv.key.toString(), kv.value.toString(), kv.mod_revision);
    const from = BigInt(res.header.revision) + 1n;
    this.watcher = await this.client.watch().prefix(this.keys.masters()).startRevision(from.toString()).create();
    this.watcher.on('put', (kv) => this.onPut(kv.key.toString(), kv.value.toString(), kv.mod_revision));
    this.watcher.on('delete', (kv) => this.onDelete(kv.key.toString()));
    this.watcher.on('error', (err: Error) => this.log.warn('master watch error', { error: err.message }));
    this.membership.on('changed', () => this.rebalance());
    this.membership.on('lease-lost', () => {
      // Our keys died with the lease: forget being master everywhere until we win again.
      this.taken.clear();
      for (const [host, m] of this.masters) if (m.member === this.memberId) this.forget(host);
    });
    this.rebalance();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.retries.values()) clearTimeout(t);
    this.retries.clear();
    await this.watcher?.cancel();
  }

  isMaster(hostId: string): boolean {
    return this.masters.get(hostId)?.member === this.memberId;
  }

  masterOf(hostId: string): Mastership | undefined {
    return this.masters.get(hostId);
  }

  heldKey(hostId: string): Guard {
    return holds(this.keys.master(hostId), this.claimValue);
  }

  allMasters(): ReadonlyMap<string, Mastership> {
    return this.masters;
  }

  track(hostId: string): void {
    if (this.hosts.has(hostId)) return;
    this.hosts.add(hostId);
    // A host new to the assignment changes every member's share (ceil(hosts / members)):
    // re-balance them all, or a member holding more than its share would never hand over.
    if (this.known.has(hostId)) this.balance(hostId);
    else this.rebalance();
  }

  controllerTargets(hostId: string): string[] {
    const live = new Map(this.membership.liveMembers().map((m) => [m.id, m.openflow]));
    const ranked = rankMembers(live.keys(), hostId);
    const master = this.masters.get(hostId)?.member;
    const chosen = master && live.has(master) ? [master, ...ranked.filter((m) => m !== master)] : ranked;
    return chosen.slice(0, 3).map((m) => live.get(m)!).sort();
  }

  /** Hosts known from etcd host records (every member sees the same set). */
  setKnownHosts(ids: Iterable<string>): void {
    const next = new Set(ids);
    if (next.size === this.known.size && [...next].every((h) => this.known.has(h))) return;
    this.known = next;
    this.assignment = undefined;
    this.rebalance();
  }

  private desiredOwner(hostId: string): string | undefined {
    if (!this.assignment) {
      const hosts = new Set([...this.known, ...this.hosts, ...this.masters.keys()]);
      this.assignment = assignBalanced(hosts, this.membership.liveMembers().map((m) => m.id));
    }
    return this.assignment.get(hostId);
  }

  private rebalance(): void {
    this.assignment = undefined;
    for (const host of new Set([...this.hosts, ...this.masters.keys()])) this.balance(host);
  }

  private balance(hostId: string): void {
    if (this.stopped) return;
    if (this.inFlight.has(hostId)) {
      this.decideAgain.add(hostId);
      return;
    }
    const step = decideMastership({
      self: this.memberId,
      master: this.masters.get(hostId)?.member ?? (this.taken.has(hostId) ? this.memberId : undefined),
      owner: this.desiredOwner(hostId),
      seen: this.hosts.has(hostId),
      isLive: (m) => this.membership.isLive(m),
    });
    if (step.kind === 'acquire') void this.acquire(hostId);
    else if (step.kind === 'release') void this.release(hostId, step.to);
  }

  private async acquire(hostId: string): Promise<void> {
    const lease = this.membership.currentLease();
    if (!lease) return;
    const key = this.keys.master(hostId);
    await this.write(hostId, 'cannot take mastership', async () => {
      const res = await this.client
        .if(key, 'Create', '==', 0)
        .then(lease.put(key).value(this.claimValue))
        .commit();
      if (!res.succeeded) return;
      this.log.info('took mastership', { host: hostId, generation: res.header.revision });
      if (!this.masters.has(hostId)) this.taken.add(hostId);
    });
  }

  private async release(hostId: string, to: string): Promise<void> {
    const key = this.keys.master(hostId);
    await this.write(hostId, 'cannot hand mastership over', async () => {
      const res = await this.client.if(key, 'Value', '==', this.claimValue).then(this.client.delete().key(key)).commit();
      if (!res.succeeded) return;
      this.taken.delete(hostId);
      this.log.info('handed mastership over', { host: hostId, to });
      // Not master from now on, not only once the watch echoes the delete: a host pass
      // still running here must not write the host record over the new master's.
      if (this.masters.get(hostId)?.member === this.memberId) this.forget(hostId);
    });
  }

  /**
   * One write of a host's master key, one at a time per host. A change of the key
   * seen meanwhile (another member took or let go of it) is decided on once the
   * write ends, and a write etcd did not take is tried again after the backoff:
   * otherwise a host whose key went while ours was in flight keeps no master.
   */
  private async write(hostId: string, failure: string, op: () => Promise<void>): Promise<void> {
    this.inFlight.add(hostId);
    clearTimeout(this.retries.get(hostId));
    this.retries.delete(hostId);
    let failed = false;
    try {
      await op();
      this.backoff.reset();
      this.retryLog.succeeded();
    } catch (err) {
      failed = true;
      this.retryLog.failed(`${failure}; will retry`, (err as Error).message, { host: hostId });
    } finally {
      this.inFlight.delete(hostId);
    }
    if (failed && !this.stopped) {
      const timer = setTimeout(() => {
        this.retries.delete(hostId);
        this.balance(hostId);
      }, this.backoff.nextDelayMs());
      timer.unref();
      this.retries.set(hostId, timer);
    }
    if (this.decideAgain.delete(hostId)) this.balance(hostId);
  }

  private onPut(key: string, value: string, revision: string): void {
    const hostId = this.keys.hostOfMaster(key);
    let member: string;
    try {
      member = (JSON.parse(value) as { member: string }).member;
    } catch {
      this.log.warn('ignoring malformed master key', { key });
      return;
    }
    const isNew = !this.masters.has(hostId) && !this.known.has(hostId) && !this.hosts.has(hostId);
    this.taken.delete(hostId);
    this.masters.set(hostId, { member, generation: BigInt(revision) });
    this.emit('changed', hostId);
    if (isNew) this.rebalance();
  }

  private onDelete(key: string): void {
    const hostId = this.keys.hostOfMaster(key);
    if (this.masters.has(hostId)) this.forget(hostId);
    this.balance(hostId);
  }

  private forget(hostId: string): void {
    this.masters.delete(hostId);
    this.emit('changed', hostId);
  }
}

export type MastershipStep = { readonly kind: 'acquire' } | { readonly kind: 'release'; readonly to: string } | { readonly kind: 'keep' };

/**
 * What one member does about one host's master key, from what it knows (pure):
 * take the key when it is free, this member is the host's balanced owner and
 * sees the host; hand a key it holds over (delete it) when another live member
 * is the owner now; otherwise nothing.
 */
export function decideMastership(input: {
  readonly self: string;
  /** Member holding the key now, if any. */
  readonly master: string | undefined;
  /** Owner in the balanced assignment (rendezvous.ts), if any. */
  readonly owner: string | undefined;
  /** Whether this member sees the host (its OVSDB is connected here). */
  readonly seen: boolean;
  readonly isLive: (member: string) => boolean;
}): MastershipStep {
  const { self, master, owner } = input;
  if (master === undefined && owner === self && input.seen) return { kind: 'acquire' };
  if (master === self && owner !== undefined && owner !== self && input.isLive(owner)) return { kind: 'release', to: owner };
  return { kind: 'keep' };
}

