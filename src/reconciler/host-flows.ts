/**
 * The flows of one host: what the compiler wants (partitions, kept across
 * reconnects; see desired-flows.ts) and what the switch has (read back on every
 * connect). One instance per host; a connection is attached while this member
 * masters the switch.
 *
 * - attach(conn): dump every installed flow (flow stats), diff against desired,
 *   apply only the difference (once per connection: attaching the same one again
 *   changes nothing). A switch that is already right gets nothing:
 *   restarts and failovers cause no churn.
 * - setPartition(name, flows): replace one partition (e.g. one endpoint). Changes
 *   that arrive while a change set is in flight are coalesced into the next one,
 *   so a burst of attaches costs a few round trips, not one per flow.
 * - flushed(): resolves once everything set so far is on the switch.
 *
 *   detached ──attach──▶ resyncing ──▶ synced ◀──▶ applying
 *      ▲                    ▲  │                      │
 *      └──detach (any)──    └──┴── retrying ◀─error───┘
 */
import { EventEmitter } from 'node:events';
import { Backoff, sleepMs, type BackoffPolicy } from '../../protocols/common/backoff';
import type { OpenFlowConnection } from '../../protocols/openflow/connection';
import type { MeterConfig } from '../../protocols/openflow/messages';
import type { MeterSpec } from '../pipeline/meter';
import type { Logger } from '../log';
import type { Flow } from '../pipeline/flow';
import { DesiredFlows } from './desired-flows';
import { diffFlows, isEmptyDiff, type FlowDiff, type KeyedFlow } from './diff';
import { toFlowMods } from './flow-mods';
import { DesiredMeters, diffMeters } from './meters';
import { readInstalled, readMeters, ReconcileError, sendMeterDeletes, sendMeterUpdates } from './switch-io';

/** Largest incremental change sent without a bundle. */
const SMALL_CHANGE = 64;
/** After a failed change set: the next full resync waits this long (then 0.5 s, 1 s, ...). */
const RETRY_DELAYS_MS = [100, 250, 500, 1000];


/**
 * detached   no switch connection: changes only update the desired state
 * resyncing  reading every flow back and applying the whole difference
 * applying   sending the keys changed since the last pass
 * synced     the switch has everything set so far
 * retrying   the last pass failed; a full resync follows after a backoff
 */
export type HostFlowsState = 'detached' | 'resyncing' | 'applying' | 'synced' | 'retrying';

export interface ApplyStats {
  readonly adds: number;
  readonly modifies: number;
  readonly deletes: number;
  /** Meter adds, modifies and deletes sent. */
  readonly meterMods: number;
  readonly ms: number;
  readonly full: boolean;
}

export interface HostFlowsEvents {
  /** After every pass that reached the switch (also an empty one after a resync). */
  applied: [ApplyStats];
  state: [HostFlowsState];
}

export interface HostFlowsOptions {
  /** Delay before the resync that follows a failed pass (protocols/common/backoff.ts). */
  readonly retryBackoff?: BackoffPolicy;
}

interface Waiter {
  readonly generation: number;
  readonly resolve: () => void;
}

export class HostFlows extends EventEmitter<HostFlowsEvents> {
  private state: HostFlowsState = 'detached';
  private readonly desired = new DesiredFlows();
  private readonly desiredMeters = new DesiredMeters();
  /** Meters on the switch (as last read or written); valid while attached. */
  private installedMeters = new Map<number, MeterConfig>();
  /** Meters the switch refused, with its reason (surfaced by the drill-down). */
  private meterErrors = new Map<number, string>();
  /**
   * What the switch has is kept as its difference from desired: the switch has
   * the desired flow of every key except those here, for which it has the flow
   * given (undefined: none). A change records the key's flow before it, once; a
   * pass sends the difference of exactly these keys and clears them. So a synced
   * host costs no copy of its flows (issue 17 item 7). Valid only while
   * `tracking`: attached, and a full read-and-compare has been diffed since.
   */
  private pending = new Map<string, KeyedFlow | undefined>();
  private tracking = false;
  private readonly onDesiredChange = (key: string, before: KeyedFlow | undefined): void => {
    if (this.tracking && !this.pending.has(key)) this.pending.set(key, before);
  };
  private conn: OpenFlowConnection | undefined;
  private needFullSync = false;
  private running = false;
  private kickQueued = false;
  /** Bumped by every change; `applied` is the generation the switch has. */
  private generation = 0;
  private applied = 0;
  private waiters: Waiter[] = [];
  private readonly backoff: Backoff;

  constructor(
    readonly hostId: string,
    private readonly log: Logger,
    options: HostFlowsOptions = {},
  ) {
    super();
    this.backoff = new Backoff({ delaysMs: RETRY_DELAYS_MS, ...options.retryBackoff });
  }

  get currentState(): HostFlowsState {
    return this.state;
  }

  get isAttached(): boolean {
    return this.conn !== undefined && this.conn.isOpen;
  }

  get desiredCount(): number {
    return this.desired.size;
  }

  /** The desired flow of `key`, and how many partitions want it (for tests and drill-down). */
  desiredFlow(key: string): { flow: KeyedFlow | undefined; refCount: number } {
    return { flow: this.desired.flows.get(key), refCount: this.desired.refCount(key) };
  }

  /** Every desired flow (each key's newest claim). */
  desiredFlows(): KeyedFlow[] {
    return [...this.desired.flows.values()];
  }

  /** Flows on the switch (as last read or written) whose cookie satisfies `select`. */
  installedFlows(select: (cookie: bigint) => boolean = () => true): KeyedFlow[] {
    if (!this.tracking) return [];
    const out: KeyedFlow[] = [];
    for (const f of this.desired.flows.values()) if (!this.pending.has(f.key) && select(f.cookie)) out.push(f);
    for (const f of this.pending.values()) if (f && select(f.cookie)) out.push(f);
    return out.sort((a, b) => a.tableId - b.tableId || b.priority - a.priority);
  }

  /** Meters on the switch (as last read or written). */
  installedMeterIds(): number[] {
    return [...this.installedMeters.keys()].sort((a, b) => a - b);
  }

  /** Why the switch refused a meter, if it did. */
  meterError(meterId: number): string | undefined {
    return this.meterErrors.get(meterId);
  }

  /**
   * Replaces the flows (and meters) of one partition; a key no partition wants
   * any more is deleted from the switch, and so is a meter.
   */
  setPartition(name: string, flows: readonly Flow[], meters: readonly MeterSpec[] = []): void {
    this.desired.setPartition(name, flows, this.onDesiredChange);
    if (this.desiredMeters.setPartition(name, meters)) {
      for (const c of this.desiredMeters.collisions) this.log.error('meter id collision', { host: this.hostId, collision: c });
    }
    this.generation++;
    this.kick();
  }

  /** Connects the switch: a full read-and-compare happens before anything else. */
  attach(conn: OpenFlowConnection): void {
    // Already programming through this connection: what the switch has is known (or being read).
    if (this.conn === conn && conn.isOpen) return;
    this.conn = conn;
    this.needFullSync = true;
    this.tracking = false;
    this.pending.clear();
    this.generation++;
    this.setState('resyncing');
    this.kick();
  }

  detach(conn: OpenFlowConnection): void {
    if (this.conn !== conn) return;
    this.conn = undefined;
    this.tracking = false;
    this.pending = new Map();
    this.installedMeters = new Map();
    this.setState('detached');
  }

  /** Resolves once every change made so far is installed (never, while detached). */
  flushed(): Promise<void> {
    if (this.applied >= this.generation && this.isAttached && !this.needFullSync) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ generation: this.generation, resolve }));
  }

  private setState(next: HostFlowsState, fields: Record<string, unknown> = {}): void {
    if (this.state === next) return;
    const level = next === 'retrying' ? 'warn' : next === 'applying' || next === 'synced' ? 'debug' : 'info';
    // Every change set passes applying → synced: skip building a debug line nobody reads.
    if (level !== 'debug' || this.log.isDebugEnabled()) this.log[level]('host flows state', { host: this.hostId, from: this.state, to: next, ...fields });
    this.state = next;
    this.emit('state', next);
  }

  /** Starts applying after the current turn, so every partition set in it goes into one change set. */
  private kick(): void {
    if (this.kickQueued) return;
    this.kickQueued = true;
    queueMicrotask(() => {
      this.kickQueued = false;
      if (!this.running && this.isAttached) void this.run();
    });
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.isAttached && (this.needFullSync || this.applied < this.generation)) {
        const conn = this.conn!;
        const generation = this.generation;
        const full = this.needFullSync;
        this.setState(full ? 'resyncing' : 'applying');
        try {
          await this.applyOnce(conn, full);
          if (full) this.needFullSync = false;
          this.applied = generation;
          this.backoff.reset();
          if (this.conn === conn) this.setState('synced');
          this.release();
        } catch (err) {
          // What the switch has is unknown now: the next pass reads it back.
          if (this.conn === conn) {
            this.tracking = false;
            this.pending = new Map();
          }
          if (!conn.isOpen) break; // a new attach will resync
          const delayMs = this.backoff.nextDelayMs();
          this.needFullSync = true;
          this.setState('retrying', { error: (err as Error).message, delayMs });
          await sleepMs(delayMs);
        }
      }
    } finally {
      this.running = false;
    }
  }

  private release(): void {
    const ready = this.waiters.filter((w) => w.generation <= this.applied);
    this.waiters = this.waiters.filter((w) => w.generation > this.applied);
    for (const w of ready) w.resolve();
  }

  private async applyOnce(conn: OpenFlowConnection, full: boolean): Promise<void> {
    const t0 = Date.now();
    let diff: FlowDiff;
    if (full) {
      // Both dumps go out in one write and are answered back to back: one round trip, not two.
      const [meters, installed] = await Promise.all([readMeters(conn), readInstalled(conn)]);
      this.installedMeters = meters;
      diff = diffFlows(this.desired.flows, installed);
      // From here on, a change is recorded against what this pass installs.
      this.pending = new Map();
      this.tracking = true;
    } else {
      const have = this.pending;
      this.pending = new Map();
      diff = diffFlows(this.desired.flows, new Map([...have].filter((e): e is [string, KeyedFlow] => e[1] !== undefined)), have.keys());
    }
    // Meters are not bundled (Open vSwitch bundles carry flow and port mods only):
    // adds/modifies go before the flows that use them, deletes after the flows.
    const meters = diffMeters(this.desiredMeters.meters, this.installedMeters);
    const meterUps = await sendMeterUpdates(conn, meters, this.installedMeters, this.meterErrors, (meterId, reason) => this.log.warn('switch refused a meter', { host: this.hostId, meterId, reason }));
    if (!isEmptyDiff(diff)) {
      // Resyncs and large change sets go in one atomic bundle (3 round trips). A small
      // incremental change — an attach is a handful of independent flows — goes as
      // flow mods and one barrier (1 round trip); any error makes the next pass a full
      // read-and-compare, so the switch never stays half-updated.
      const mods = toFlowMods(diff);
      const errors = full || mods.length > SMALL_CHANGE ? await conn.sendBundle(mods) : await conn.sendBatch(mods);
      if (errors.length) {
        throw new ReconcileError(`switch rejected the change: ${errors.map((e) => e.message).join('; ')}`);
      }
    }
    await sendMeterDeletes(conn, meters.deletes, this.installedMeters, this.meterErrors);
    const meterMods = meterUps + meters.deletes.length;
    const stats: ApplyStats = { adds: diff.adds.length, modifies: diff.modifies.length, deletes: diff.deletes.length, meterMods, ms: Date.now() - t0, full };
    if (full || !isEmptyDiff(diff) || meterMods) this.log.info(full ? 'flows reconciled' : 'flows updated', { host: this.hostId, ...stats, total: this.desired.size });
    this.emit('applied', stats);
  }
}
