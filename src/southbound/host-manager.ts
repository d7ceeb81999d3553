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
 * Identity (SPEC §2): a system-id belongs to the Open vSwitch database (its
 * Open_vSwitch row _uuid, recorded as the record's `ovsdbUuid`) that claimed it
 * first, while that host is connected. Another database claiming the same
 * system-id meanwhile is refused — logged, counted, shown in the record's
 * `conflict` — and nothing is done for it: no configuration, no view, no
 * record. A host that renames itself takes its record along: the old one is
 * deleted, so no ghost (nor flows toward it) stays behind.
 *
 * OpenFlow sessions are vouched for by this view (`vouchFor`, the switch
 * server's voucher): a datapath id is a host's only while that host's OVSDB
 * session is connected, its br-int has that datapath_id and a controller, and
 * the OpenFlow connection comes from the OVSDB session's address.
 */
import type { Watcher } from 'etcd3';
import { EventEmitter } from 'node:events';
import { Backoff, type BackoffPolicy } from '../../protocols/common/backoff';
import type { Logger } from '../log';
import type { Collection } from '../store/collection';
import type { HostRecord, HostStatus } from '../store/model';
import { ResourceConflictError } from '../store/model-errors';
import { readBridgeMappings, planPatchPorts } from './bridge-mappings';
import { readHostFacts } from './host-facts';
import type { HostLink } from './host-link';
import { INTEGRATION_BRIDGE, isBridgeConfigured, planHostConfig, type DesiredHostConfig } from './host-plan';
import type { Operation } from '../../protocols/ovsdb/transact';
import { findBridge, viewFromRows, type OvsView } from './ovs-view';
import type { Mastery } from '../cluster/ownership';
import type { SwitchServer } from './switch-server';

export interface HostManagerOptions {
  /** Who masters which host; only the master configures a host and writes its record. */
  readonly mastery: Mastery;
  readonly maxBackoffMs?: number;
  readonly inactivityProbeMs?: number;
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

interface HostState {
  readonly link: HostLink;
  hostId: string | undefined;
  view: OvsView | undefined;
  dpid: string | null;
  running: boolean;
  dirty: boolean;
  closed: boolean;
  retry: NodeJS.Timeout | undefined;
  /** Set by the overlay once no flow outputs to per-peer ports of an earlier version. */
  retireLegacyTunnels: boolean;
  /** The Open_vSwitch row _uuid of the database behind this session, once identified. */
  ovsdbUuid: string | undefined;
  /** A system-id this session claims but another connected database holds, and why it was refused. */
  refused: { readonly hostId: string; readonly reason: string } | undefined;
  /** Failed passes in a row; reset by one that succeeds. */
  readonly backoff: Backoff;
  /** External networks: the last bridge-mapping problems logged (logged again only when they change). */
  mappingProblems?: string;
}

const RETRY_DELAYS_MS = [250, 500, 1000];

export class HostManager extends EventEmitter<HostManagerEvents> {
  private readonly states = new Set<HostState>();
  /** Every host record in etcd, kept current by a watch. */
  private readonly records = new Map<string, HostRecord>();
  /** Encap IP of every known host (tun_dst toward it, tun_src from it). */
  private readonly encapIps = new Map<string, string>();
  private watcher: Watcher | undefined;
  /** Hosts whose record may say connected although no live member holds their session (see releaseOrphanedRecord). */
  private readonly orphanChecks = new Map<string, NodeJS.Timeout>();
  private stopped = false;

  constructor(
    private readonly hosts: Collection<HostRecord>,
    private readonly switches: SwitchServer,
    private readonly options: HostManagerOptions,
    private readonly log: Logger,
  ) {
    super();
    switches.on('switch', (e) => {
      if (e.kind === 'up' || e.kind === 'down') this.markDpid(e.dpid);
    });
    switches.setVoucher((dpid, address) => this.vouchFor(dpid, address));
    options.mastery.on('changed', (hostId) => {
      for (const s of this.states) if (s.hostId === hostId) this.schedule(s);
      this.checkOrphanedRecord(hostId);
    });
  }

  /** Loads the model and starts watching it. Hosts this member mastered show disconnected until they reconnect. */
  async start(): Promise<void> {
    const all = await this.hosts.list();
    let revision = '0';
    for (const { value, revision: rev } of all) {
      this.records.set(value.id, value);
      if (BigInt(rev) > BigInt(revision)) revision = rev;
      if (value.master === this.memberId && (value.ovsdbConnected || value.ofConnected)) {
        await this.write({ ...value, ovsdbConnected: false, ofConnected: false, status: 'disconnected', reason: 'controller restarted' });
      }
    }
    this.options.mastery.setKnownHosts([...this.records.keys()].filter((id) => !id.startsWith('unidentified-')));
    this.watcher = await this.hosts.watch((e) => this.onRecord(e), revision === '0' ? undefined : revision);
    this.watcher.on('error', (err: Error) => this.log.warn('host watch error (etcd3 resumes it)', { error: err.message }));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.orphanChecks.values()) clearTimeout(t);
    this.orphanChecks.clear();
    await this.watcher?.cancel();
    for (const s of this.states) {
      clearTimeout(s.retry);
      s.closed = true;
      s.link.close();
    }
    this.states.clear();
  }

  /** Takes over a newly connected host's OVSDB link. */
  attach(link: HostLink): void {
    const backoff = new Backoff({ delaysMs: RETRY_DELAYS_MS, ...this.options.retryBackoff });
    const state: HostState = {
      link, hostId: undefined, view: undefined, dpid: null, running: false, dirty: false, closed: false, retry: undefined,
      retireLegacyTunnels: false, ovsdbUuid: undefined, refused: undefined, backoff,
    };
    this.states.add(state);
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
    return [...this.states].map((s) => s.hostId).filter((id): id is string => id !== undefined);
  }

  private get memberId(): string {
    return this.options.mastery.memberId;
  }

  /** Every member re-plans its hosts when the set of members (hence controller targets) changes. */
  rescheduleAll(): void {
    for (const s of this.states) this.schedule(s);
  }

  /** Encap IPs of every known host, by id. */
  knownEncapIps(): ReadonlyMap<string, string> {
    return this.encapIps;
  }

  /**
   * The overlay's word that no flow on `hostId` outputs to per-peer VXLAN ports
   * of an earlier version any more (they were replaced by plexus-vxlan flows):
   * the next pass removes those ports. Until then they keep forwarding.
   */
  retireLegacyTunnels(hostId: string): void {
    for (const s of this.states) {
      if (s.hostId !== hostId || s.retireLegacyTunnels) continue;
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
    const local = [...this.states].filter((s) => !s.closed && s.hostId !== undefined && !s.refused && s.dpid === dpid);
    if (local.length > 0) {
      const hasController = (s: HostState): boolean => (s.view ? (findBridge(s.view, INTEGRATION_BRIDGE)?.controllers.length ?? 0) > 0 : false);
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
    const connected = [...this.states].some((s) => s.hostId === id && !s.closed) || this.records.get(id)?.ovsdbConnected === true;
    if (connected) {
      throw new HostConnectedError(id);
    }
    const existed = await this.hosts.delete(id);
    if (existed) this.log.info('host decommissioned', { host: id });
    return existed;
  }

  private onRecord(e: { kind: 'put'; id: string; value: HostRecord } | { kind: 'delete'; id: string }): void {
    this.setRecord(e.id, e.kind === 'put' ? e.value : undefined);
  }

  /**
   * The one place the record map changes (watch events and this member's own
   * writes alike): hosts joining or leaving change the known-host set, and a
   * change of a host's encap IP is reported (flows toward it change; no OVSDB).
   */
  private setRecord(id: string, record: HostRecord | undefined): void {
    const before = this.records.get(id);
    if (record) this.records.set(id, record);
    else this.records.delete(id);
    if (!before || !record) this.options.mastery.setKnownHosts([...this.records.keys()].filter((h) => !h.startsWith('unidentified-')));
    // A refused claimant may take the identity once its holder disconnected or left.
    if (before?.ovsdbConnected !== record?.ovsdbConnected || before?.ovsdbUuid !== record?.ovsdbUuid) {
      for (const s of this.states) if (s.refused?.hostId === id) this.schedule(s);
    }
    // A host connected to another member vouches for its datapath through its record.
    if (record?.datapathId && (before?.datapathId !== record.datapathId || before?.ovsdbConnected !== record.ovsdbConnected)) this.switches.recheckPending(record.datapathId);
    const ip = record?.encapIp ?? undefined;
    if (this.encapIps.get(id) === ip) return;
    if (ip === undefined) this.encapIps.delete(id);
    else this.encapIps.set(id, ip);
    this.emit('encapIp', id, ip);
  }

  /**
   * Mastery of `hostId` changed: if this member is now its master but holds no
   * session of it while its record still says connected — the member that held
   * it died before it could record the disconnect, or the host went with it —
   * the record is corrected after a grace period (a session of this member may
   * still be identifying itself). Otherwise the host's attachment claims would
   * hold forever (store/bindings.ts refuses others while the holder is
   * connected), and an endpoint would stay down while its port exists elsewhere.
   */
  private checkOrphanedRecord(hostId: string): void {
    if (this.stopped || this.orphanChecks.has(hostId) || !this.options.mastery.isMaster(hostId)) return;
    const timer = setTimeout(() => {
      this.orphanChecks.delete(hostId);
      void this.releaseOrphanedRecord(hostId).catch((err: Error) => this.log.warn('could not record host disconnect', { host: hostId, error: (err as Error).message }));
    }, this.options.orphanGraceMs ?? 3000);
    timer.unref();
    this.orphanChecks.set(hostId, timer);
  }

  private async releaseOrphanedRecord(hostId: string): Promise<void> {
    const record = this.records.get(hostId);
    if (this.stopped || !record?.ovsdbConnected || !this.options.mastery.isMaster(hostId)) return;
    // Held here, or a session here has not identified itself yet: not orphaned.
    if ([...this.states].some((s) => !s.closed && (s.hostId === hostId || (s.hostId === undefined && !s.refused)))) return;
    this.log.warn('host record says connected but no live member holds its OVSDB session: recording it disconnected', { host: hostId, lastMaster: record.master });
    await this.write({
      ...record, ovsdbConnected: false, ofConnected: false, status: 'disconnected',
      reason: `OVSDB connected to no live member (last recorded by ${record.master ?? 'none'})`, master: this.memberId, updatedAt: new Date().toISOString(),
    });
  }

  private markDpid(dpid: string): void {
    for (const s of this.states) if (s.dpid === dpid) this.schedule(s);
  }

  private schedule(state: HostState): void {
    if (state.closed) return;
    state.dirty = true;
    if (!state.running) void this.drain(state);
  }

  private async drain(state: HostState): Promise<void> {
    state.running = true;
    try {
      while (state.dirty && !state.closed) {
        state.dirty = false;
        await this.reconcile(state);
        state.backoff.reset();
        if (state.dpid) this.switches.recheckPending(state.dpid);
      }
    } catch (err) {
      const retryMs = state.backoff.nextDelayMs();
      this.log.error('host reconcile failed; will retry', { host: state.hostId, remote: state.link.remote, error: (err as Error).message, attempt: state.backoff.attempt, retryMs });
      clearTimeout(state.retry);
      state.retry = setTimeout(() => this.schedule(state), retryMs);
    } finally {
      state.running = false;
    }
  }

  private desiredFor(state: HostState, hostId: string, localIp: string, datapathType: string): DesiredHostConfig {
    return {
      datapathType,
      localIp,
      controllers: this.options.mastery.controllerTargets(hostId),
      retireLegacyTunnels: state.retireLegacyTunnels,
      maxBackoffMs: this.options.maxBackoffMs ?? 1000,
      inactivityProbeMs: this.options.inactivityProbeMs ?? 5000,
    };
  }

  private async reconcile(state: HostState): Promise<void> {
    const view = viewFromRows(state.link.rows());
    state.view = view;
    const facts = readHostFacts(view);
    const id = facts.systemId ?? `unidentified-${state.link.remote.replace(/[^A-Za-z0-9.]/g, '-')}`;
    const refusal = facts.systemId && view.root ? this.identityRefusal(state, id, view.root.uuid) : undefined;
    if (state.hostId && state.hostId !== id) await this.forgetIdentity(state.hostId, state.ovsdbUuid);
    if (refusal) return this.refuse(state, id, refusal);
    if (state.refused) this.accepted(state, id);
    state.hostId = id;
    state.ovsdbUuid = view.root?.uuid;
    const log = this.log.child({ host: id });
    const bridge = findBridge(view, INTEGRATION_BRIDGE);
    state.dpid = bridge?.datapathId ?? null;
    if (facts.systemId) this.options.mastery.track(id);
    if (facts.systemId && !this.options.mastery.isMaster(id)) {
      // A standby keeps the replica current (to take over at once) but changes nothing.
      if (facts.problems.length === 0) this.emit('view', { hostId: id, view, link: state.link, dpid: state.dpid } satisfies HostView);
      return;
    }
    if (facts.problems.length > 0) {
      await this.writeHost(id, { encapIp: facts.encapIp, datapathType: facts.datapathType, ovsVersion: facts.ovsVersion, datapathId: null, ofConnected: false, status: 'not-ready', reason: facts.problems.join('; ') });
      return;
    }
    const desired = this.desiredFor(state, id, facts.encapIp!, facts.datapathType);
    const ops = [...planHostConfig(view, desired), ...this.planExternalBridges(state, view, log)];
    if (ops.length > 0) {
      log.info('configuring host', { operations: ops.length });
      log.debug('ovsdb operations', { ops });
      await state.link.transact(ops);
      // The replica update that follows schedules another pass, which should plan nothing.
    }
    const ofConnected = state.dpid !== null && this.switches.connection(state.dpid)?.currentState === 'ready';
    const configured = ops.length === 0 && isBridgeConfigured(bridge, desired);
    const status: HostStatus = configured && ofConnected ? 'ready' : 'configuring';
    const reason = status === 'ready' ? null : !configured ? 'configuring br-int' : 'waiting for br-int to connect over OpenFlow';
    this.emit('view', { hostId: id, view, link: state.link, dpid: state.dpid } satisfies HostView);
    const wasReady = this.records.get(id)?.status === 'ready';
    await this.writeHost(id, { encapIp: facts.encapIp, datapathType: facts.datapathType, ovsVersion: facts.ovsVersion, datapathId: state.dpid, ofConnected, status, reason });
    if (status === 'ready' && !wasReady) {
      log.info('host ready', { dpid: state.dpid });
      this.emit('ready', id);
    }
  }

  /** External networks (SPEC §3): patch ports toward the bridges of plexus-bridge-mappings. */
  private planExternalBridges(state: HostState, view: OvsView, log: Logger): Operation[] {
    const read = readBridgeMappings(view.root?.externalIds ?? {});
    const plan = planPatchPorts(view, read.mappings);
    const problems = [...read.problems, ...plan.problems].join('; ');
    if (problems !== (state.mappingProblems ?? '')) {
      if (problems) log.warn('bridge mappings not usable; external networks are unreachable there until fixed', { problems });
      state.mappingProblems = problems;
    }
    return plan.ops;
  }

  private async writeHost(
    id: string,
    fields: Pick<HostRecord, 'encapIp' | 'datapathType' | 'ovsVersion' | 'datapathId' | 'ofConnected' | 'status' | 'reason'>,
  ): Promise<void> {
    const now = new Date().toISOString();
    const existing = this.records.get(id);
    const conflict = [...this.states].find((s) => s.refused?.hostId === id && !s.closed)?.refused?.reason ?? null;
    const session = [...this.states].find((s) => s.hostId === id && !s.closed && s.ovsdbUuid !== undefined);
    await this.write({
      id,
      ...fields,
      ovsdbUuid: session?.ovsdbUuid ?? existing?.ovsdbUuid ?? null,
      conflict,
      ovsdbConnected: true,
      master: this.memberId,
      joinedAt: existing?.joinedAt ?? now,
      updatedAt: now,
    });
  }

  /**
   * Writes a record unless etcd already holds the same (timestamps aside). The
   * comparison is with the record as it is now — another member may have written
   * it since this one last did (mastership moved away and back).
   */
  private async write(record: HostRecord): Promise<void> {
    const current = this.records.get(record.id);
    if (current && sameRecord(current, record)) return;
    await this.hosts.put(record.id, record);
    this.setRecord(record.id, record);
  }

  /**
   * A session left an identity (its system-id changed, or it was refused):
   * an unidentified placeholder is deleted, and so is the record of a host
   * that renamed itself — the same database held it — unless another session
   * of that database still holds the old name.
   */
  private async forgetIdentity(oldId: string, ovsdbUuid: string | undefined): Promise<void> {
    if (oldId.startsWith('unidentified-')) {
      await this.hosts.delete(oldId);
      return;
    }
    const record = this.records.get(oldId);
    const stillHeld = [...this.states].some((s) => s.hostId === oldId && s.ovsdbUuid === ovsdbUuid && viewFromRows(s.link.rows()).root?.externalIds['system-id']?.trim() === oldId);
    if (!record || ovsdbUuid === undefined || record.ovsdbUuid !== ovsdbUuid || stillHeld) return;
    if (await this.hosts.delete(oldId)) {
      this.setRecord(oldId, undefined);
      this.log.info('host renamed itself: old record removed', { host: oldId, ovsdbUuid });
    }
  }

  /**
   * Why this session may not take `id`, if it may not: another database holds
   * it and is connected (its record says so, or another session of this member
   * took it first).
   */
  private identityRefusal(state: HostState, id: string, ovsdbUuid: string): string | undefined {
    const record = this.records.get(id);
    const holderUuid =
      [...this.states].find((s) => s !== state && !s.closed && s.hostId === id && s.ovsdbUuid !== undefined && s.ovsdbUuid !== ovsdbUuid)?.ovsdbUuid ??
      (record?.ovsdbConnected && record.ovsdbUuid && record.ovsdbUuid !== ovsdbUuid ? record.ovsdbUuid : undefined);
    if (!holderUuid) return undefined;
    return `system-id "${id}" is held by another Open vSwitch (database ${holderUuid}) that is connected; this one (database ${ovsdbUuid}, from ${state.link.remote}) is refused until that one disconnects`;
  }

  /** Refuses a claim: logged, counted, shown on the record by its master; nothing else is done for this session. */
  private async refuse(state: HostState, id: string, reason: string): Promise<void> {
    const changed = state.refused?.reason !== reason;
    state.hostId = undefined;
    state.ovsdbUuid = undefined;
    state.dpid = null;
    state.refused = { hostId: id, reason };
    if (changed) {
      this.log.warn('host identity conflict: session refused', { host: id, remote: state.link.remote, reason });
      this.emit('conflict', { hostId: id, remote: state.link.remote, reason });
    }
    await this.writeConflict(id);
  }

  private accepted(state: HostState, id: string): void {
    this.log.info('host identity conflict over: session accepted', { host: id, remote: state.link.remote });
    state.refused = undefined;
  }

  /** As master of `id`, records the conflict of a refused session of this member on the host record (or clears it). */
  private async writeConflict(id: string): Promise<void> {
    const record = this.records.get(id);
    if (!record || !this.options.mastery.isMaster(id)) return;
    const conflict = [...this.states].find((s) => s.refused?.hostId === id && !s.closed)?.refused?.reason ?? null;
    if ((record.conflict ?? null) !== conflict) await this.write({ ...record, conflict, updatedAt: new Date().toISOString() });
  }

  private async detach(state: HostState, reason: string): Promise<void> {
    state.closed = true;
    clearTimeout(state.retry);
    this.states.delete(state);
    if (state.refused) {
      this.log.info('refused host session closed', { host: state.refused.hostId, remote: state.link.remote, reason });
      await this.writeConflict(state.refused.hostId).catch((err: Error) => this.log.warn('could not clear host conflict', { host: state.refused?.hostId, error: err.message }));
      return;
    }
    const id = state.hostId;
    if (!id) return;
    this.log.info('host disconnected', { host: id, reason });
    if ([...this.states].some((s) => s.hostId === id)) return; // it already reconnected
    if (id.startsWith('unidentified-')) {
      await this.hosts.delete(id).catch(() => undefined);
      return;
    }
    const existing = this.records.get(id);
    if (!existing || !this.options.mastery.isMaster(id)) return;
    await this.write({ ...existing, ovsdbConnected: false, ofConnected: false, status: 'disconnected', reason: `OVSDB connection lost: ${reason}`, updatedAt: new Date().toISOString() }).catch(
      (err: Error) => this.log.warn('could not record host disconnect', { host: id, error: err.message }),
    );
  }
}

function sameRecord(a: HostRecord, b: HostRecord): boolean {
  const { updatedAt: _a, ...ra } = a;
  const { updatedAt: _b, ...rb } = b;
  return JSON.stringify(ra) === JSON.stringify(rb);
}
