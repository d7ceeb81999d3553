/**
 * Monitors (RFC 7047 §4.1.5 monitor, ovsdb-server(7) §4.1.12 monitor_cond) and
 * the replica each one keeps. `monitor_cond` is preferred — its update2 diffs
 * are smaller and it supports `where` — and plain `monitor` is used when the
 * server answers "unknown method".
 *
 * A monitor outlives connections: after a reconnect the session calls
 * {@link Monitor.start} again on the new connection and the replica is resynced
 * from the new initial result, reporting only the differences.
 *
 * Notifications for a monitor can arrive in the same read as its reply, before
 * the reply's promise continuation runs; they are queued until the initial
 * result is applied, so the replica never sees an update before its base.
 *
 * A large result or update (100,000 rows) is applied a turn of `SLICE_MS` at
 * a time (Replica.applyInTurns), and the connection holds its later messages
 * and stops reading meanwhile (OvsdbRpc.holdInbound): other hosts' sessions
 * keep being served, and nothing piles up.
 */
import { EventEmitter } from 'node:events';
import { OvsdbError, OvsdbFormatError } from './errors';
import { Replica, type RowChange, type UpdateFormat } from './replica';
import type { DatabaseSchema } from './rfc7047';
import type { OvsdbRpc } from './rpc';
import { SLICE_MS } from './rpc-inbound';
import type { Condition } from './transact';

/** §4.1.5 <monitor-select>: which kinds of change to report (all default to true). */
export interface MonitorSelect {
  readonly initial?: boolean;
  readonly insert?: boolean;
  readonly delete?: boolean;
  readonly modify?: boolean;
}

/** What to monitor in one table: §4.1.5 <monitor-request> / §4.1.12 <monitor-cond-request>. */
export interface MonitorTableSpec {
  /** Columns to replicate; all schema columns when omitted. */
  readonly columns?: readonly string[];
  /** monitor_cond only: rows matching any condition (true when omitted). */
  readonly where?: readonly (Condition | boolean)[];
  readonly select?: MonitorSelect;
}

/** Table name → what to monitor in it. */
export type MonitorSpec = Readonly<Record<string, MonitorTableSpec>>;

export type MonitorMethod = 'monitor_cond' | 'monitor';

export type MonitorState = 'idle' | 'starting' | 'active' | 'cancelled';

/** Encodes <monitor-requests> (§4.1.5) or <monitor-cond-requests> (§4.1.12). */
export function encodeMonitorRequests(spec: MonitorSpec, method: MonitorMethod): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const [table, t] of Object.entries(spec)) {
    if (method === 'monitor' && t.where !== undefined) {
      throw new OvsdbError('not supported', { details: `"where" on ${table} needs monitor_cond`, method });
    }
    const req: Record<string, unknown> = {};
    if (t.columns) req.columns = [...t.columns];
    if (t.where) req.where = [...t.where];
    if (t.select) req.select = { ...t.select };
    out[table] = [req];
  }
  return out;
}

/** The update notification for a monitor (§4.1.6 update / §4.1.14 update2), or undefined for any other. */
export function parseUpdateNotification(
  method: string,
  params: readonly unknown[],
): { readonly monitorId: unknown; readonly updates: unknown; readonly format: UpdateFormat } | undefined {
  if (method !== 'update' && method !== 'update2') return undefined;
  if (params.length !== 2) {
    const sec = method === 'update' ? 'RFC 7047 §4.1.6' : 'ovsdb-server(7) §4.1.14';
    throw new OvsdbFormatError(sec, `"params" of ${method} must be [<json-value>, <table-updates>]`);
  }
  return { monitorId: params[0], updates: params[1], format: method === 'update' ? 1 : 2 };
}

export interface MonitorEvents {
  state: [MonitorState];
}

/** One monitor and its replica (see the module comment). */
export class Monitor extends EventEmitter<MonitorEvents> {
  private state: MonitorState = 'idle';
  private methodUsed: MonitorMethod | undefined;
  private queued: { updates: unknown; format: UpdateFormat }[] = [];
  /** The update being applied over several turns, if any (later ones chain after it). */
  private applying: Promise<void> | undefined;
  readonly replica: Replica;

  constructor(
    /** The <json-value> that tags this monitor's notifications. */
    readonly id: string,
    readonly db: string,
    readonly spec: MonitorSpec,
    schema: DatabaseSchema,
    /** Force a method instead of trying monitor_cond first. */
    forceMethod?: MonitorMethod,
  ) {
    super();
    this.methodUsed = forceMethod;
    const columns = new Map(Object.entries(spec).map(([t, s]) => [t, s.columns ? [...s.columns] : undefined]));
    this.replica = new Replica(schema, columns);
  }

  get currentState(): MonitorState {
    return this.state;
  }
  /** Which method the server accepted (undefined before the first start). */
  get method(): MonitorMethod | undefined {
    return this.methodUsed;
  }

  private setState(state: MonitorState): void {
    if (this.state === state) return;
    this.state = state;
    this.emit('state', state);
  }

  /**
   * Issues the monitor request on `rpc` and applies its initial result. On a
   * reconnect (`resync`), the replica is rebuilt and only differences are
   * reported. Resolves with the changes applied.
   */
  async start(rpc: OvsdbRpc, schema: DatabaseSchema, resync: boolean): Promise<RowChange[]> {
    if (this.state === 'cancelled') return [];
    this.setState('starting');
    this.queued = [];
    this.replica.setSchema(schema);
    let initial: unknown;
    const preferred: MonitorMethod = this.methodUsed ?? 'monitor_cond';
    try {
      initial = await rpc.request(preferred, [this.db, this.id, encodeMonitorRequests(this.spec, preferred)]);
      this.methodUsed = preferred;
    } catch (err) {
      if (!(err instanceof OvsdbError && err.error === 'unknown method' && preferred === 'monitor_cond')) {
        this.setState('idle');
        throw err;
      }
      initial = await rpc.request('monitor', [this.db, this.id, encodeMonitorRequests(this.spec, 'monitor')]);
      this.methodUsed = 'monitor';
    }
    const format: UpdateFormat = this.methodUsed === 'monitor' ? 1 : 2;
    if ((this.state as MonitorState) === 'cancelled') return [];
    // An update of the previous connection may still be going in (it must finish first).
    if (this.applying) await this.applying.catch(() => undefined);
    const applied = this.applyStart(initial, format, resync);
    let changes: RowChange[];
    if (Array.isArray(applied)) changes = applied;
    else {
      rpc.holdInbound(applied);
      changes = await applied;
    }
    this.setState('active');
    return changes;
  }

  /** The initial result, then what was queued behind it: synchronously while each fits in a turn. */
  private applyStart(initial: unknown, format: UpdateFormat, resync: boolean): RowChange[] | Promise<RowChange[]> {
    const changes: RowChange[] = [];
    let next: (() => RowChange[] | Promise<RowChange[]>) | undefined = () =>
      resync ? this.replica.resyncInTurns(initial, format, SLICE_MS) : this.replica.applyInTurns(initial, format, SLICE_MS);
    const takeQueued = (): typeof next => {
      const q = this.queued.shift();
      return q && (() => this.replica.applyInTurns(q.updates, q.format, SLICE_MS));
    };
    for (; next; next = takeQueued()) {
      const r = next();
      if (Array.isArray(r)) {
        changes.push(...r);
        continue;
      }
      return (async () => {
        changes.push(...(await r));
        for (let more = takeQueued(); more; more = takeQueued()) {
          const m = more();
          changes.push(...(Array.isArray(m) ? m : await m));
        }
        return changes;
      })();
    }
    return changes;
  }

  /**
   * Feeds an update notification for this monitor. Throws OvsdbFormatError on a
   * malformed update (the replica is unchanged; the caller should drop the
   * connection so a resync restores a trustworthy view). A large update is
   * applied over several turns: the promise returned settles once it is (and
   * rejects as the throw would); the caller should hold later messages meanwhile.
   */
  handleUpdate(updates: unknown, format: UpdateFormat): Promise<void> | undefined {
    switch (this.state) {
      case 'starting':
        this.queued.push({ updates, format });
        return undefined;
      case 'active': {
        const pending = this.applying
          ? this.applying.then(() => this.applyUpdate(updates, format))
          : this.applyUpdate(updates, format);
        if (pending === undefined) return undefined;
        this.applying = pending;
        const settle = (): void => {
          if (this.applying === pending) this.applying = undefined;
        };
        pending.then(settle, settle);
        return pending;
      }
      default:
        return undefined;
    }
  }

  /** Applies one update: undefined when done within this turn, else a promise (see the module comment). */
  private applyUpdate(updates: unknown, format: UpdateFormat): Promise<void> | undefined {
    const r = this.replica.applyInTurns(updates, format, SLICE_MS);
    return Array.isArray(r) ? undefined : r.then(() => undefined);
  }

  /** The connection dropped: wait for the next start(). */
  suspend(): void {
    if (this.state !== 'cancelled') this.setState('idle');
  }

  /** §4.1.7 monitor_cancel on `rpc` (if connected); the replica keeps its last content. */
  async cancel(rpc: OvsdbRpc | undefined): Promise<void> {
    if (this.state === 'cancelled') return;
    const wasLive = this.state === 'active' || this.state === 'starting';
    this.setState('cancelled');
    if (rpc?.isOpen && wasLive) await rpc.request('monitor_cancel', [this.id]);
  }
}
