/**
 * A long-lived OVSDB session (RFC 7047 §4) with one database server.
 *
 * - Active: {@link OvsdbSession.connect} to `tcp:HOST:PORT`, `unix:PATH` or
 *   `ssl:HOST:PORT`; when the connection drops it reconnects with a backoff list
 *   plus jitter (reset on success), re-acquires its locks, re-issues its
 *   monitors and resyncs their replicas, emitting only the differences.
 * - Passive: {@link listen} on `ptcp:PORT[:IP]`, `punix:PATH` or `pssl:...`
 *   accepts the connections that hosts open after `ovs-vsctl set-manager`; each
 *   becomes a session with no reconnect (the host reconnects to us).
 *
 * Status is reported as a discriminated union of events (`status`), and the
 * session is a small state machine changed only through `setState()`.
 */
import { EventEmitter } from 'node:events';
import type net from 'node:net';
import type tls from 'node:tls';
import type winston from 'winston';
import { Backoff, type BackoffPolicy } from '../common/backoff';
import { ConnectionError, PlexusError } from '../common/errors';
import { OvsdbFormatError } from './errors';
import { SessionLocks } from './locks';
import type { Monitor, MonitorMethod, MonitorSpec } from './monitor';
import type { RowChange } from './replica';
import { parseSchema, type DatabaseSchema } from './rfc7047';
import { OvsdbRpc, defaultLogger, type RpcEvent, type RpcOptions } from './rpc';
import { restoreSession, routeNotification, type SessionLink } from './session-inbound';
import { SessionMonitors } from './session-monitors';
import { dialSocket, parseTarget, type Target } from './targets';
import { checkTransactResults, type Operation, type TransactResults } from './transact';

export type SessionState = 'connecting' | 'connected' | 'backoff' | 'closed';

/** Everything a session reports, discriminated by `type`. */
export type SessionStatus =
  | { readonly type: 'connecting'; readonly target: string; readonly attempt: number }
  | { readonly type: 'connected'; readonly target: string }
  /** All monitors re-issued after a reconnect; `changes` is what differed from before. */
  | { readonly type: 'resynced'; readonly monitorId: string; readonly changes: readonly RowChange[] }
  | { readonly type: 'disconnected'; readonly error: PlexusError | undefined }
  | { readonly type: 'reconnecting'; readonly attempt: number; readonly delayMs: number }
  /** §4.1.9: a lock we asked for is now ours. */
  | { readonly type: 'locked'; readonly lock: string }
  /** §4.1.10: another client stole a lock we held. */
  | { readonly type: 'stolen'; readonly lock: string }
  | { readonly type: 'notification'; readonly method: string; readonly params: readonly unknown[] }
  /** A failure that did not end the session (e.g. a re-monitor the server refused). */
  | { readonly type: 'error'; readonly error: PlexusError }
  | { readonly type: 'closed'; readonly error: PlexusError | undefined };

export interface SessionOptions extends Omit<RpcOptions, 'name'> {
  /** Reconnect delays (protocols/common/backoff.ts; default 100 ms up to 8 s, 20% jitter). */
  readonly backoff?: BackoffPolicy;
  /** Time limit for one connect attempt (default 5000 ms). */
  readonly connectTimeoutMs?: number;
  /** TLS options for `ssl:` targets (key, cert, ca, ...). */
  readonly tls?: tls.ConnectionOptions;
  /** Keep retrying when the very first connect fails instead of rejecting (default false). */
  readonly waitOnFirstConnect?: boolean;
  readonly logger?: winston.Logger;
}

export interface SessionEvents {
  status: [SessionStatus];
}

export class OvsdbSession extends EventEmitter<SessionEvents> {
  private state: SessionState = 'connecting';
  private rpc: OvsdbRpc | undefined;
  /** get_schema answers of the current connection. */
  private readonly schemas = new SchemaCache();
  private readonly monitors = new SessionMonitors();
  /** Locks requested on this session, and whether the server granted them. */
  private readonly locks = new SessionLocks();
  private readonly backoff: Backoff;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private peerAddress: string | undefined;
  private readonly log: winston.Logger;

  private constructor(
    /** Active target, or undefined for a passive (accepted) session. */
    private readonly target: Target | undefined,
    readonly name: string,
    private readonly options: SessionOptions,
  ) {
    super();
    this.log = (options.logger ?? defaultLogger()).child({ module: 'ovsdb-session', peer: name });
    this.backoff = new Backoff(options.backoff);
  }

  /**
   * Connects actively to a server; resolves once connected. A failed first
   * attempt rejects with ConnectionError unless `waitOnFirstConnect`; later
   * disconnects are retried with backoff forever (until close()).
   */
  static connect(target: string, options: SessionOptions = {}): Promise<OvsdbSession> {
    const session = new OvsdbSession(parseTarget(target), target, options);
    const connected = whenFirstConnected(session, target, options.waitOnFirstConnect ?? false);
    session.dial();
    return connected;
  }

  /** Wraps a socket a host opened to our listener (passive mode; no reconnect). */
  static accept(socket: net.Socket, options: SessionOptions = {}): OvsdbSession {
    const name = socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : 'unix';
    const session = new OvsdbSession(undefined, name, options);
    session.peerAddress = socket.remoteAddress;
    session.attach(socket);
    return session;
  }

  /** A passive session's peer IP address (undefined over unix sockets and for active sessions). */
  get remoteAddress(): string | undefined {
    return this.peerAddress;
  }

  get currentState(): SessionState {
    return this.state;
  }
  get isConnected(): boolean {
    return this.state === 'connected';
  }
  get isPassive(): boolean {
    return this.target === undefined;
  }
  /** The current connection (undefined while disconnected). */
  get connection(): OvsdbRpc | undefined {
    return this.rpc;
  }

  private setState(state: SessionState): void {
    if (this.state === state) return;
    this.log.info('ovsdb session state', { from: this.state, to: state });
    this.state = state;
  }

  private status(s: SessionStatus): void {
    this.emit('status', s);
  }

  // -------------------------------------------------------------------------
  // Connection lifecycle

  private dial(): void {
    this.setState('connecting');
    this.status({ type: 'connecting', target: this.name, attempt: this.backoff.attempt + 1 });
    dialSocket(this.target!, this.name, this.options).then(
      (socket) => {
        if (this.isClosed) socket.destroy();
        else this.attach(socket);
      },
      (err: PlexusError) => {
        if (this.isClosed) return;
        this.status({ type: 'disconnected', error: err });
        this.scheduleReconnect();
      },
    );
  }

  private attach(socket: net.Socket): void {
    socket.setNoDelay?.(true);
    const rpc = new OvsdbRpc(socket, rpcOptions(this.options, this.name));
    this.rpc = rpc;
    this.schemas.clear();
    const link = this.link(rpc);
    rpc.on('event', (e: RpcEvent) => this.onRpcEvent(link, e));
    this.setState('connected');
    this.backoff.reset(); // success starts the delay list over
    this.status({ type: 'connected', target: this.name });
    if (this.monitors.size > 0 || this.locks.size > 0) void restoreSession(link);
  }

  /** The session's side of `rpc`, for routing its notifications and restoring after a reconnect (session-inbound.ts). */
  private link(rpc: OvsdbRpc): SessionLink {
    return {
      rpc,
      monitors: this.monitors,
      locks: this.locks,
      log: this.log,
      isCurrent: () => rpc === this.rpc,
      getSchema: (db) => this.getSchema(db),
      report: (s) => this.status(s),
    };
  }

  private onRpcEvent(link: SessionLink, e: RpcEvent): void {
    if (link.rpc !== this.rpc) return;
    if (e.kind === 'notification') routeNotification(link, e.method, e.params);
    else if (e.kind === 'closed') this.onDisconnect(e.error);
  }

  private onDisconnect(error: PlexusError | undefined): void {
    this.rpc = undefined;
    this.schemas.clear();
    this.monitors.suspendAll();
    this.locks.dropAll();
    if (this.state === 'closed') return;
    this.status({ type: 'disconnected', error });
    if (this.target === undefined) return this.finish(error);
    this.scheduleReconnect();
  }

  private get isClosed(): boolean {
    return this.state === 'closed';
  }

  private scheduleReconnect(): void {
    // A status listener may have closed the session meanwhile.
    if (this.isClosed) return;
    const delayMs = this.backoff.nextDelayMs();
    this.setState('backoff');
    this.status({ type: 'reconnecting', attempt: this.backoff.attempt, delayMs });
    this.reconnectTimer = setTimeout(() => this.dial(), delayMs);
  }

  private finish(error: PlexusError | undefined): void {
    if (this.state === 'closed') return;
    this.setState('closed');
    clearTimeout(this.reconnectTimer);
    this.monitors.suspendAll();
    this.status({ type: 'closed', error });
  }

  /** Ends the session for good: no reconnect; pending requests reject with ConnectionError. */
  close(): void {
    if (this.state === 'closed') return;
    const rpc = this.rpc;
    this.finish(undefined);
    this.rpc = undefined;
    rpc?.close();
  }

  // -------------------------------------------------------------------------
  // Requests

  private requireRpc(): OvsdbRpc {
    if (!this.rpc || !this.rpc.isOpen) throw new ConnectionError(`not connected to ${this.name}`);
    return this.rpc;
  }

  /** §4.1.1 list_dbs. */
  async listDbs(): Promise<string[]> {
    const result = await this.requireRpc().request('list_dbs', []);
    if (!Array.isArray(result) || !result.every((d) => typeof d === 'string')) {
      throw new OvsdbFormatError('RFC 7047 §4.1.1', 'list_dbs result is not an array of strings');
    }
    return result as string[];
  }

  /** §4.1.2 get_schema, parsed (§3.2); cached per connection. */
  getSchema(db: string): Promise<DatabaseSchema> {
    return this.schemas.get(this.requireRpc(), db);
  }

  /**
   * §4.1.3 transact: runs `ops` atomically; resolves with one typed result per
   * operation, or rejects with OvsdbError naming the failed operation. `signal`
   * cancels the request (§4.1.4), e.g. a transaction blocked in a `wait`.
   */
  async transact<const Ops extends readonly Operation[]>(
    db: string,
    ops: Ops,
    options: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<TransactResults<Ops>> {
    const result = await this.requireRpc().request('transact', [db, ...ops], options);
    return checkTransactResults(ops, result);
  }

  /** §4.1.11 echo. */
  echo(...params: unknown[]): Promise<unknown[]> {
    return this.requireRpc().echo(params);
  }

  /**
   * Starts a monitor (monitor_cond if the server has it, else monitor) and
   * resolves once its replica holds the initial content. The monitor is
   * re-issued after every reconnect until cancelled.
   */
  async monitor(db: string, spec: MonitorSpec, options: { id?: string; method?: MonitorMethod } = {}): Promise<Monitor> {
    const rpc = this.requireRpc();
    if (options.id !== undefined && this.monitors.get(options.id)) throw new PlexusError(`monitor id "${options.id}" already in use`);
    return this.monitors.start(rpc, db, spec, await this.getSchema(db), options);
  }

  /** §4.1.7 monitor_cancel; the replica keeps its last content. */
  async cancelMonitor(monitor: Monitor | string): Promise<void> {
    await this.monitors.cancel(monitor, this.rpc);
  }

  /**
   * §4.1.8 lock: resolves true if granted now; otherwise a `locked` status
   * follows when the holder lets go. The lock is re-requested after reconnects.
   */
  async lock(name: string): Promise<boolean> {
    this.locks.want(name);
    return this.locks.request(this.requireRpc(), 'lock', name);
  }

  /** §4.1.8 steal: takes the lock from its holder (who gets `stolen`). */
  async steal(name: string): Promise<boolean> {
    this.locks.want(name);
    return this.locks.request(this.requireRpc(), 'steal', name);
  }

  /** §4.1.8 unlock: gives up (or stops waiting for) the lock. */
  async unlock(name: string): Promise<void> {
    this.locks.forget(name);
    await this.requireRpc().request('unlock', [name]);
  }

  /** True while the server says we hold `name`. */
  hasLock(name: string): boolean {
    return this.locks.isHeld(name);
  }
}

/** The connection options a session passes on to each of its connections. */
function rpcOptions(o: SessionOptions, name: string): RpcOptions {
  return {
    ...(o.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: o.requestTimeoutMs }),
    ...(o.inactivityProbeMs === undefined ? {} : { inactivityProbeMs: o.inactivityProbeMs }),
    ...(o.maxMessageBytes === undefined ? {} : { maxMessageBytes: o.maxMessageBytes }),
    ...(o.inputBudget === undefined ? {} : { inputBudget: o.inputBudget }),
    ...(o.maxUnsentBytes === undefined ? {} : { maxUnsentBytes: o.maxUnsentBytes }),
    ...(o.stallTimeoutMs === undefined ? {} : { stallTimeoutMs: o.stallTimeoutMs }),
    ...(o.logger === undefined ? {} : { logger: o.logger }),
    name,
  };
}

/** Resolves with the session once it is connected; rejects (and closes it) when the first attempt fails, unless it waits for one that succeeds. */
function whenFirstConnected(session: OvsdbSession, target: string, waitOnFirstConnect: boolean): Promise<OvsdbSession> {
  return new Promise((resolve, reject) => {
    const onStatus = (s: SessionStatus): void => {
      if (s.type === 'connected') {
        session.off('status', onStatus);
        resolve(session);
      } else if ((s.type === 'disconnected' && !waitOnFirstConnect) || s.type === 'closed') {
        session.off('status', onStatus);
        session.close();
        reject(s.error ?? new ConnectionError(`cannot connect to ${target}`));
      }
    };
    session.on('status', onStatus);
  });
}

/** §4.1.2 get_schema answers, one request per database for as long as the connection lasts. */
class SchemaCache {
  private readonly byDb = new Map<string, Promise<DatabaseSchema>>();

  get(rpc: OvsdbRpc, db: string): Promise<DatabaseSchema> {
    let p = this.byDb.get(db);
    if (!p) {
      p = rpc.request('get_schema', [db]).then(parseSchema);
      this.byDb.set(db, p);
      p.catch(() => this.byDb.delete(db));
    }
    return p;
  }

  clear(): void {
    this.byDb.clear();
  }
}
