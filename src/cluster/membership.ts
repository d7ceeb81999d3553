/**
 * Cluster membership (SPEC §5): each member registers under /plexus/members/
 * with an etcd lease it keeps alive; the live members are whatever is there.
 * When the lease is lost (etcd unreachable past the TTL, or revoked by a peer
 * that saw this process die) the member re-registers with a new lease, after
 * revoking the lost one: etcd renews every lease's TTL when it regains a
 * quorum, so a lease merely released would keep its master keys (and every
 * datapath masterless) for a full TTL after an outage.
 *
 * Liveness shortcut: a member holds a long-lived HTTP connection to each peer's
 * /v1/cluster/heartbeat. When it breaks and the peer's port refuses a new
 * connection, the process is plainly gone (a crash closes its sockets), so the
 * peer's lease is revoked at once instead of waiting for the TTL. A silent
 * partition (no close, no refusal) still waits for the TTL.
 */
import { EtcdLeaseInvalidError, type Etcd3, type Lease, type Watcher } from 'etcd3';
import { LeaseClient } from 'etcd3/lib/rpc';
import { EventEmitter } from 'node:events';
import { Backoff, sleepMs, type BackoffPolicy } from '../../protocols/common/backoff';
import { request, type ClientRequest } from 'node:http';
import { request as requestTls } from 'node:https';
import { connect } from 'node:net';
import type { Logger } from '../log';
import { Collection } from '../store/collection';
import { LoopLag, STALL_MS, withTimeout } from './loop-lag';
import type { Keys } from '../store/keys';
import type { MemberRecord } from '../store/model';
import { STORED_FORM } from '../store/stored-form';

export interface MembershipOptions {
  readonly ttlSeconds: number;
  readonly record: Omit<MemberRecord, 'leaseId' | 'startedAt'>;
  /** Jitter and randomness of every retry here (registration, heartbeats); each loop keeps its own delay list. */
  readonly retryBackoff?: BackoffPolicy;
  /**
   * Set when the members' API speaks TLS (--tls-cert): heartbeats go over HTTPS,
   * presenting this member's certificate (peers may require one with --tls-ca) and
   * trusting `ca` (the peers' CA; absent: the system's).
   */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer; readonly ca?: Buffer };
}

/** Registering again after the lease was lost: every 0.5 s at most, so masters return within ~1 s of etcd. */
const REGISTER_DELAYS_MS = [200, 400, 500];
/** Opening a peer's heartbeat again (still starting, or alive after a break). */
const PROBE_DELAYS_MS = [200, 500, 1000];
/** Asking a peer's port again whether it refuses (a process being killed may accept for a few ms). */
const REFUSAL_CHECK_DELAYS_MS = [40];
const REFUSAL_CHECKS = 5;

export interface MembershipEvents {
  /** The set of live members (or this member's registration) changed. */
  changed: [];
  /** This member's lease is gone: every key under it (masters) died with it. */
  'lease-lost': [];
}

export class Membership extends EventEmitter<MembershipEvents> {
  private lease: Lease | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private watcher: Watcher | undefined;
  private readonly members = new Map<string, MemberRecord>();
  private readonly probes = new Map<string, ClientRequest>();
  /** Per peer: failed heartbeats since the last one established. */
  private readonly probeBackoffs = new Map<string, Backoff>();
  /** Peer incarnations (id/lease) whose heartbeat we once held: a refusal from them means death. */
  private readonly reached = new Set<string>();
  private readonly collection: Collection<MemberRecord>;
  /** Ids of leases lost but perhaps still held by etcd: revoked before registering again. */
  private readonly abandoned = new Set<string>();
  private stopped = false;
  private readonly startedAt = new Date().toISOString();

  constructor(
    private readonly client: Etcd3,
    keys: Keys,
    private readonly options: MembershipOptions,
    private readonly log: Logger,
  ) {
    super();
    this.collection = new Collection<MemberRecord>(client, keys.members());
  }

  get id(): string {
    return this.options.record.id;
  }

  /** The current lease (master keys are attached to it). */
  currentLease(): Lease | undefined {
    return this.lease;
  }

  liveMembers(): MemberRecord[] {
    return [...this.members.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  isLive(id: string): boolean {
    return this.members.has(id);
  }

  async start(): Promise<void> {
    await this.register();
    const all = await this.collection.list();
    for (const m of all) this.members.set(m.value.id, m.value);
    this.watcher = await this.collection.watch((e) => {
      if (e.kind === 'put') this.members.set(e.id, e.value);
      else this.members.delete(e.id);
      this.syncProbes();
      this.emit('changed');
    });
    this.watcher.on('error', (err: Error) => this.log.warn('member watch error', { error: err.message }));
    this.syncProbes();
    this.emit('changed');
  }

  private async register(): Promise<void> {
    const lease = this.client.lease(this.options.ttlSeconds, { autoKeepAlive: true });
    const leaseId = await lease.grant();
    this.lease = lease;
    const lost = (reason: string): void => {
      if (this.stopped || this.lease !== lease) return;
      this.lease = undefined;
      clearInterval(this.watchdog);
      this.log.warn('member lease lost; registering again', { lease: leaseId, reason });
      lease.release();
      this.abandoned.add(leaseId);
      this.emit('lease-lost');
      void this.reregister();
    };
    lease.on('lost', (err: Error) => lost(err.message));
    // etcd3 declares a lease lost only after twice its TTL; once a full TTL has passed
    // without a successful keepalive, etcd has expired it, so stop acting on it now —
    // unless this process's own event loop was stalled meanwhile (a busy member reads
    // the keepalive replies late, not etcd failing to send them): then etcd is asked
    // first, and the lease is lost only if etcd says so or does not answer.
    let lastKeepAlive = Date.now();
    lease.on('keepaliveSucceeded', () => (lastKeepAlive = Date.now()));
    const ttlMs = this.options.ttlSeconds * 1000;
    const lag = new LoopLag(WATCHDOG_MS);
    let verifying = false;
    clearInterval(this.watchdog);
    this.watchdog = setInterval(() => {
      const stalledMs = lag.tick(this.log);
      if (verifying || Date.now() - lastKeepAlive <= ttlMs) return;
      if (lag.recentMs(ttlMs) + stalledMs < STALL_MS) return lost(`no keepalive for ${this.options.ttlSeconds} s`);
      verifying = true;
      withTimeout(lease.keepaliveOnce(), ttlMs / 2).then(
        () => (lastKeepAlive = Date.now()),
        (err: Error) => lost(`no keepalive for ${this.options.ttlSeconds} s (event loop stalled; etcd: ${err.message})`),
      ).finally(() => (verifying = false));
    }, WATCHDOG_MS);
    this.watchdog.unref();
    const record: MemberRecord = { ...this.options.record, leaseId, startedAt: this.startedAt, storedForm: STORED_FORM };
    await this.collection.put(this.id, record, lease);
    this.members.set(this.id, record);
    this.log.info('member registered', { member: this.id, lease: leaseId, ttlSeconds: this.options.ttlSeconds });
  }

  private async reregister(): Promise<void> {
    const backoff = this.backoff(REGISTER_DELAYS_MS);
    while (!this.stopped) {
      try {
        await this.revokeAbandoned();
        await this.register();
        this.emit('changed');
        return;
      } catch (err) {
        const delayMs = backoff.nextDelayMs();
        this.log.warn('cannot register member yet', { error: (err as Error).message, attempt: backoff.attempt, delayMs });
        await sleepMs(delayMs);
      }
    }
  }

  /** Revokes the leases lost earlier (their member and master keys go at once); an expired one is done too. */
  private async revokeAbandoned(): Promise<void> {
    for (const id of [...this.abandoned]) {
      try {
        await revokeLease(this.client, id);
        this.log.info('revoked the lost member lease', { lease: id });
      } catch (err) {
        if (!(err instanceof EtcdLeaseInvalidError) && !/lease not found/.test((err as Error).message)) throw err;
      }
      this.abandoned.delete(id);
    }
  }

  private backoff(delaysMs: readonly number[]): Backoff {
    return new Backoff({ delaysMs, ...this.options.retryBackoff });
  }

  /** Opens the heartbeat to a peer again after its peer's backoff, if it is still a live member without one. */
  private probeLater(id: string): void {
    let backoff = this.probeBackoffs.get(id);
    if (!backoff) this.probeBackoffs.set(id, (backoff = this.backoff(PROBE_DELAYS_MS)));
    setTimeout(() => {
      const m = this.members.get(id);
      if (m && !this.probes.has(id) && !this.stopped) this.probe(m);
    }, backoff.nextDelayMs()).unref();
  }

  /** Keeps one heartbeat connection open to every other live member. */
  private syncProbes(): void {
    for (const [id, req] of this.probes) {
      if (!this.members.has(id)) {
        req.destroy();
        this.probes.delete(id);
      }
    }
    for (const id of this.probeBackoffs.keys()) if (!this.members.has(id)) this.probeBackoffs.delete(id);
    for (const m of this.members.values()) {
      if (m.id !== this.id && !this.probes.has(m.id)) this.probe(m);
    }
  }

  private probe(m: MemberRecord): void {
    const [host, port] = splitHostPort(m.api);
    const target = { host, port, path: '/v1/cluster/heartbeat', method: 'GET', timeout: 0 };
    const tls = this.options.tls;
    const req = tls ? requestTls({ ...target, cert: tls.cert, key: tls.key, ...(tls.ca ? { ca: tls.ca } : {}) }) : request(target);
    this.probes.set(m.id, req);
    const incarnation = `${m.id}/${m.leaseId}`;
    const broken = (): void => {
      if (this.probes.get(m.id) !== req) return;
      this.probes.delete(m.id);
      if (this.stopped || !this.members.has(m.id)) return;
      const established = this.reached.has(incarnation);
      this.log.debug('heartbeat broken', { peer: m.id, established });
      if (established) void this.checkGone(m);
      // Never connected (the peer is still starting): try again shortly; only its TTL can condemn it.
      else this.probeLater(m.id);
    };
    req.on('response', (res) => {
      this.reached.add(incarnation);
      this.probeBackoffs.get(m.id)?.reset();
      this.log.debug('heartbeat established', { peer: m.id });
      res.on('data', () => undefined);
      res.on('end', broken);
      res.on('error', broken);
    });
    req.on('error', broken);
    req.on('close', broken);
    req.end();
  }

  /**
   * The heartbeat broke: if the peer's port refuses connections, its process is
   * gone. A process being killed may still accept for a few milliseconds, so a
   * few attempts are made before concluding it is alive.
   */
  private async checkGone(m: MemberRecord): Promise<void> {
    const [host, port] = splitHostPort(m.api);
    const backoff = this.backoff(REFUSAL_CHECK_DELAYS_MS);
    let refused = await isRefused(host, port);
    while (!refused && backoff.attempt < REFUSAL_CHECKS - 1) {
      await sleepMs(backoff.nextDelayMs());
      refused = await isRefused(host, port);
    }
    const current = this.members.get(m.id);
    if (!current || current.leaseId !== m.leaseId || this.stopped) return;
    if (!refused) {
      // Alive (or unreachable without a refusal: a partition). Watch again; the TTL decides.
      this.probeLater(m.id);
      return;
    }
    this.log.warn('member process is gone; revoking its lease', { member: m.id, lease: m.leaseId });
    await revokeLease(this.client, m.leaseId).catch((err: Error) => this.log.warn('lease revoke failed', { member: m.id, error: err.message }));
  }

  /** Graceful leave: revoking the lease drops the member and every master key it holds at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.watchdog);
    for (const req of this.probes.values()) req.destroy();
    this.probes.clear();
    await this.watcher?.cancel();
    await this.lease?.revoke().catch(() => undefined);
  }
}

const WATCHDOG_MS = 100;
/** etcd3 exposes revoke only on leases this client granted; the lease RPC takes any id. */
async function revokeLease(client: Etcd3, leaseId: string): Promise<void> {
  const pool = (client as unknown as { pool: ConstructorParameters<typeof LeaseClient>[0] }).pool;
  await new LeaseClient(pool).leaseRevoke({ ID: leaseId });
}

function isRefused(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.setTimeout(300, () => {
      s.destroy();
      resolve(false);
    });
    s.on('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

function splitHostPort(addr: string): [string, number] {
  const i = addr.lastIndexOf(':');
  return [addr.slice(0, i).replace(/^\[|\]$/g, ''), Number(addr.slice(i + 1))];
}
