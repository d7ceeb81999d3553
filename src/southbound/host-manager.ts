/**
 * Adopts hosts (SPEC §2): for every host whose OVSDB connects in, learn it into
 * etcd, make br-int and its controllers right, and give it its one flow-based
 * VXLAN port (`plexus-vxlan`). Work for one host is serialized; any trigger (an
 * OVSDB change, the switch connecting, mastership) marks the host dirty and the
 * loop re-plans from current state, so bursts coalesce. Another host joining or
 * leaving changes no host's OVSDB: only flows (tun_dst, tun_src) on the hosts
 * sharing a network with it, from the encap IPs this manager reports (`encapIp`).
 *
 * A host that disconnects stays in the model with ovsdbConnected=false and keeps
 * its encap IP, hence its flows everywhere (no churn on a blip); only
 * decommission removes it.
 *
 * Identity (SPEC §2; host-identity.ts): a system-id belongs to the Open vSwitch
 * database that claimed it first, while that host is connected; another
 * claiming it meanwhile is refused and nothing is done for it. Sessions are
 * indexed by host id and datapath (host-sessions.ts), records kept by a watch
 * (host-records.ts): a pass over one host costs that host, not the fleet.
 *
 * OpenFlow sessions are vouched for by this view (`vouchFor`, the switch
 * server's voucher): a datapath id is a host's only while that host's OVSDB
 * session is connected, its br-int has that datapath_id and a controller, and
 * the OpenFlow connection comes from the OVSDB session's address.
 */
import { EventEmitter } from 'node:events';
import { Backoff, type BackoffPolicy } from '../../protocols/common/backoff';
import { AnnouncedPorts } from './announced-ports';
import type { Logger } from '../log';
import type { Collection } from '../store/collection';
import type { HostRecord } from '../store/model';
import { ResourceConflictError } from '../store/model-errors';
import { writeConflict, type IdentityContext } from './host-identity';
import type { HostLink } from './host-link';
import { passOver, type PassContext } from './host-pass';
import { INTEGRATION_BRIDGE } from './host-plan';
import { HostRecords } from './host-records';
import { HostSessions, type HostSession } from './host-sessions';
import { findBridge, type OvsView } from './ovs-view';
import type { Mastery } from '../cluster/ownership';
import { OrphanedRecords } from './orphaned-records';
import { PassQueue, type PassQueueOptions } from './pass-queue';
import { DEFAULT_PROBE_POLICY, nextProbeMs, type ProbePolicy } from './probe-sizing';
import type { SwitchServer } from './switch-server';

export interface HostManagerOptions {
  /** Who masters which host; only the master configures a host and writes its record. */
  readonly mastery: Mastery;
  readonly maxBackoffMs?: number;
  /** The inactivity probe hosts are asked to use toward this member, sized by the hosts connected (probe-sizing.ts). */
  readonly probe?: ProbePolicy;
  /** How many host passes one event-loop turn starts (pass-queue.ts). */
  readonly passQueue?: PassQueueOptions;
  /** Delays before retrying a host whose pass failed (protocols/common/backoff.ts; default 250 ms, 500 ms, then every 1 s). */
  readonly retryBackoff?: BackoffPolicy;
  /** How long a new master waits before correcting the record of a host no live member holds (default 3000 ms). */
  readonly orphanGraceMs?: number;
}

/** Emitted as `view` after every pass over an identified host: what the overlay builds on. */
export interface HostView {
  readonly hostId: string;
  readonly view: OvsView;
  readonly link: HostLink;
  readonly dpid: string | null;
}

export interface HostManagerEvents {
  /** After every pass over an identified host, on masters and standbys alike. */
  view: [HostView];
  /** A host this member masters became ready. */
  ready: [hostId: string];
  /** A host's encap IP appeared, changed or went (decommissioned): flows toward it change. */
  encapIp: [hostId: string, encapIp: string | undefined];
  /** An OVSDB session claimed a system-id another connected Open vSwitch holds, and was refused. */
  conflict: [{ readonly hostId: string; readonly remote: string; readonly reason: string }];
}

/** Decommissioning a host whose OVSDB is still connected (HTTP 409, reason in-use). */
export class HostConnectedError extends ResourceConflictError {
  override readonly name = 'HostConnectedError';
  constructor(readonly hostId: string) {
    super('in-use', `host "${hostId}" is still connected; run "ovs-vsctl del-manager" on it first, then delete it`, { host: hostId });
  }
}

const RETRY_DELAYS_MS = [250, 500, 1000];

export class HostManager extends EventEmitter<HostManagerEvents> {
  private readonly sessions = new HostSessions();
  /** Every host record in etcd, kept current by a watch. */
  private readonly records: HostRecords;
  private readonly orphans: OrphanedRecords;
  private readonly identity: IdentityContext;
  private readonly pass: PassContext;
  /** Port numbers the switches announced before OVSDB recorded them. */
  private readonly announced = new AnnouncedPorts();
  private readonly queue: PassQueue<HostSession>;
  private readonly probePolicy: ProbePolicy;
  /** The probe the host plan asks for now (probe-sizing.ts); read by every pass. */
  private readonly probe: { ms: number };

  constructor(
    hosts: Collection<HostRecord>,
    private readonly switches: SwitchServer,
    private readonly options: HostManagerOptions,
    private readonly log: Logger,
  ) {
    super();
    this.records = new HostRecords(hosts, log);
    this.records.on('changed', (id, before, record) => this.onRecord(id, before, record));
    this.records.on('encapIp', (id, ip) => this.emit('encapIp', id, ip));
    this.orphans = new OrphanedRecords(this.records, this.sessions, options.mastery, log, options.orphanGraceMs ?? 3000);
    this.identity = { sessions: this.sessions, records: this.records, mastery: options.mastery, log, onConflict: (c) => this.emit('conflict', c) };
    this.probePolicy = options.probe ?? DEFAULT_PROBE_POLICY;
    const probe = (this.probe = { ms: nextProbeMs(0, 0, this.probePolicy) });
    this.pass = {
      sessions: this.sessions, records: this.records, identity: this.identity, mastery: options.mastery, switches, announced: this.announced, log,
      maxBackoffMs: options.maxBackoffMs ?? 1000,
      get inactivityProbeMs(): number {
        return probe.ms;
      },
      onView: (v) => this.emit('view', v), onReady: (id) => this.emit('ready', id),
    };
    this.queue = new PassQueue((s) => void this.drain(s), options.passQueue);
    switches.on('switch', (e) => {
      if (e.kind === 'message') {
        if (e.message.type !== 'port_status') return;
        this.announced.note(e.dpid, e.message);
      } else if (e.kind === 'down') {
        this.announced.forget(e.dpid);
      }
      for (const s of this.sessions.onDpid(e.dpid)) this.schedule(s);
    });
    switches.setVoucher((dpid, address) => this.vouchFor(dpid, address));
    options.mastery.on('changed', (hostId) => {
      for (const s of this.sessions.of(hostId)) this.schedule(s);
      this.orphans.check(hostId);
    });
  }

  /** Loads the model and starts watching it. Hosts this member mastered show disconnected until they reconnect. */
  async start(): Promise<void> {
    await this.records.start((r) =>
      r.master === this.memberId && (r.ovsdbConnected || r.ofConnected) ? { ...r, ovsdbConnected: false, ofConnected: false, status: 'disconnected', reason: 'controller restarted' } : undefined,
    );
    this.options.mastery.setKnownHosts(this.knownHostIds());
  }

  async stop(): Promise<void> {
    this.orphans.stop();
    this.queue.stop();
    await this.records.stop();
    for (const s of this.sessions) {
      clearTimeout(s.retry);
      s.closed = true;
      s.link.close();
    }
    this.sessions.clear();
  }

  /** Takes over a newly connected host's OVSDB link. */
  attach(link: HostLink): void {
    const backoff = new Backoff({ delaysMs: RETRY_DELAYS_MS, ...this.options.retryBackoff });
    const state: HostSession = {
      link, hostId: undefined, view: undefined, dpid: null, running: false, dirty: false, closed: false, retry: undefined,
      retireLegacyTunnels: false, ovsdbUuid: undefined, refused: undefined, backoff,
    };
    this.sessions.add(state);
    link.onChange(() => this.schedule(state));
    link.onClose((reason) => void this.detach(state, reason));
    this.schedule(state);
  }

  /** Whether the host's record (as watched) says its OVSDB is connected (to any member). */
  isConnected(hostId: string): boolean {
    return this.records.get(hostId)?.ovsdbConnected === true;
  }

  /** Hosts connected to this member right now, by id. */
  connectedHostIds(): string[] {
    return [...this.sessions].map((s) => s.hostId).filter((id): id is string => id !== undefined);
  }

  private get memberId(): string {
    return this.options.mastery.memberId;
  }

  private knownHostIds(): string[] {
    return [...this.records.ids()].filter((id) => !id.startsWith('unidentified-'));
  }

  /** Every member re-plans its hosts when the set of members (hence controller targets) changes. */
  rescheduleAll(): void {
    for (const s of this.sessions) this.schedule(s);
  }

  /** Encap IPs of every known host, by id. */
  knownEncapIps(): ReadonlyMap<string, string> {
    return this.records.knownEncapIps();
  }

  /**
   * The overlay's word that no flow on `hostId` outputs to per-peer VXLAN ports
   * of an earlier version any more (they were replaced by plexus-vxlan flows):
   * the next pass removes those ports. Until then they keep forwarding.
   */
  retireLegacyTunnels(hostId: string): void {
    for (const s of this.sessions.of(hostId)) {
      if (s.retireLegacyTunnels) continue;
      s.retireLegacyTunnels = true;
      this.schedule(s);
    }
  }

  /**
   * Whether an OpenFlow session claiming `dpid` from `address` is that host's
   * (undefined) or why not. A host connected over OVSDB to this member vouches
   * for its br-int's datapath id from its own address only; a host connected
   * to another member only (its record says so) for its datapath id.
   */
  vouchFor(dpid: string, address: string | undefined): string | undefined {
    const local = [...this.sessions.onDpid(dpid)].filter((s) => !s.closed && s.hostId !== undefined && !s.refused);
    if (local.length > 0) {
      const hasController = (s: HostSession): boolean => (s.view ? (findBridge(s.view, INTEGRATION_BRIDGE)?.controllers.length ?? 0) > 0 : false);
      const configured = local.filter(hasController);
      if (configured.length === 0) return `host ${local[0]!.hostId} has no controller on ${INTEGRATION_BRIDGE} yet`;
      const from = configured.map((s) => s.link.remoteAddress);
      if (from.some((a) => a === undefined || a === address)) return undefined;
      return `host ${configured[0]!.hostId} (datapath ${dpid}) is connected over OVSDB from ${from.join(', ')}, not from ${address ?? 'a unix socket'}`;
    }
    for (const r of this.records.values()) {
      if (r.datapathId === dpid && r.ovsdbConnected && !r.id.startsWith('unidentified-')) {
        // Connected to another member only: that member holds its view; the record is what this one knows.
        if (r.master !== this.memberId) return undefined;
      }
    }
    return `no host connected over OVSDB has datapath ${dpid}`;
  }

  /** Forgets a host and, through every member's watch, the flows toward it. */
  async decommission(id: string): Promise<boolean> {
    const connected = [...this.sessions.of(id)].some((s) => !s.closed) || this.records.get(id)?.ovsdbConnected === true;
    if (connected) {
      throw new HostConnectedError(id);
    }
    const existed = await this.records.delete(id);
    if (existed) this.log.info('host decommissioned', { host: id });
    return existed;
  }

  /** A record changed (watch or own write): hosts joining or leaving change the known-host set. */
  private onRecord(id: string, before: HostRecord | undefined, record: HostRecord | undefined): void {
    if (!before || !record) this.options.mastery.setKnownHosts(this.knownHostIds());
    // A refused claimant may take the identity once its holder disconnected or left.
    if (before?.ovsdbConnected !== record?.ovsdbConnected || before?.ovsdbUuid !== record?.ovsdbUuid) {
      for (const s of this.sessions.refusedOf(id)) this.schedule(s);
    }
    // A host connected to another member vouches for its datapath through its record.
    if (record?.datapathId && (before?.datapathId !== record.datapathId || before?.ovsdbConnected !== record.ovsdbConnected)) this.switches.recheckPending(record.datapathId);
  }

  /** The probe hosts are asked for now (ms). */
  get inactivityProbeMs(): number {
    return this.probe.ms;
  }

  /** Marks the host dirty; its pass waits its turn in the queue (one per host, however many triggers). */
  private schedule(state: HostSession): void {
    if (state.closed) return;
    state.dirty = true;
    if (!state.running) this.queue.add(state);
  }

  /** One pass; a host dirtied meanwhile queues again behind the others (fair across hosts). */
  private async drain(state: HostSession): Promise<void> {
    if (state.closed || state.running) return;
    state.running = true;
    state.dirty = false;
    let failed = false;
    try {
      await this.reconcile(state);
      state.backoff.reset();
      if (state.dpid) this.switches.recheckPending(state.dpid);
    } catch (err) {
      failed = true;
      const retryMs = state.backoff.nextDelayMs();
      this.log.error('host reconcile failed; will retry', { host: state.hostId, remote: state.link.remote, error: (err as Error).message, attempt: state.backoff.attempt, retryMs });
      clearTimeout(state.retry);
      state.retry = setTimeout(() => this.schedule(state), retryMs);
    } finally {
      state.running = false;
    }
    this.resizeProbe();
    if (!failed && state.dirty && !state.closed) this.queue.add(state);
  }

  /** Follows the fleet's size with the probe (in steps, probe-sizing.ts); a new value re-plans every host and retunes our OpenFlow echoes. */
  private resizeProbe(): void {
    const hosts = this.sessions.hostCount;
    const next = nextProbeMs(this.probe.ms, hosts, this.probePolicy);
    if (next === this.probe.ms) return;
    this.log.info('inactivity probe resized for the fleet', { hosts, probeMs: next, previousMs: this.probe.ms });
    this.probe.ms = next;
    this.switches.followProbe(next);
    this.rescheduleAll();
  }

  private reconcile(state: HostSession): Promise<void> {
    return passOver(this.pass, state);
  }

  private async detach(state: HostSession, reason: string): Promise<void> {
    state.closed = true;
    clearTimeout(state.retry);
    this.queue.delete(state);
    this.sessions.delete(state);
    this.resizeProbe();
    if (state.refused) {
      this.log.info('refused host session closed', { host: state.refused.hostId, remote: state.link.remote, reason });
      await writeConflict(this.identity, state.refused.hostId).catch((err: Error) => this.log.warn('could not clear host conflict', { host: state.refused?.hostId, error: err.message }));
      return;
    }
    const id = state.hostId;
    if (!id) return;
    this.log.info('host disconnected', { host: id, reason });
    if (this.sessions.of(id).size > 0) return; // it already reconnected
    if (id.startsWith('unidentified-')) {
      await this.records.delete(id).catch(() => undefined);
      return;
    }
    const existing = this.records.get(id);
    if (!existing || !this.options.mastery.isMaster(id)) return;
    await this.records.write({ ...existing, ovsdbConnected: false, ofConnected: false, status: 'disconnected', reason: `OVSDB connection lost: ${reason}`, updatedAt: new Date().toISOString() }, this.options.mastery.heldKey(id)).catch(
      (err: Error) => this.log.warn('could not record host disconnect', { host: id, error: err.message }),
    );
  }
}
