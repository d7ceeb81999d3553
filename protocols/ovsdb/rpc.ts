/**
 * JSON-RPC 1.0 as OVSDB uses it (RFC 7047 §4), over one stream socket:
 * requests correlated by id with a per-request timeout, notifications
 * dispatched as events, "echo" answered (§4.1.11), and an inactivity probe like
 * OVS's: after `inactivityProbeMs` of silence we send an echo, and a peer silent
 * for another `inactivityProbeMs` is closed as dead.
 *
 * Message objects are jsonrpc-lite's; on the wire they are written in the 1.0
 * form ovsdb-server requires (no "jsonrpc" member, which it rejects; `"id":
 * null` on notifications; `"error": null` on replies).
 *
 * A peer that sends bytes we cannot parse, or JSON that is not a JSON-RPC
 * message, loses its own connection: a `closed` event carries the DecodeError.
 * A peer that does not read what we send stops being read (common/read-gate),
 * and is closed once it has read nothing for `stallTimeoutMs`.
 *
 * Messages are dispatched strictly in order. One over `LARGE_MESSAGE_BYTES`
 * is parsed a slice at a time, and a handler may hold later messages while it
 * works through one in slices ({@link OvsdbRpc.holdInbound}); reading stops
 * meanwhile, so one host's huge update neither stalls the others nor piles up.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import {
  ErrorObject,
  JsonRpcError,
  NotificationObject,
  RequestObject,
  SuccessObject,
  notification as makeNotification,
  request as makeRequest,
  type ID,
} from 'jsonrpc-lite';
import winston from 'winston';
import { ConnectionError, DecodeError, PeerClosedError, PlexusError, TimeoutError } from '../common/errors';
import { ReadGate } from '../common/read-gate';
import { OvsdbError } from './errors';
import { JsonStream, type BufferBudget } from './json-stream';
import { InboundQueue } from './rpc-inbound';
import { InactivityProbe } from './rpc-probe';

/** Messages longer than this are parsed a slice at a time (json-slices), not in one JSON.parse. */
export const LARGE_MESSAGE_BYTES = 1024 * 1024;

/** A decoded JSON-RPC message (jsonrpc-lite object). */
export type RpcMessage = RequestObject | NotificationObject | SuccessObject | ErrorObject;

export type RpcState = 'open' | 'closed';

export type RpcEvent =
  | { readonly kind: 'state'; readonly state: RpcState }
  /** A notification (RFC 7047 §4.1.6 update, §4.1.9 locked, §4.1.10 stolen, ...). */
  | { readonly kind: 'notification'; readonly method: string; readonly params: readonly unknown[] }
  /** The peer sent an echo request and we answered it (§4.1.11). */
  | { readonly kind: 'echo-answered' }
  /** We sent an inactivity probe (echo) after `inactivityProbeMs` of silence. */
  | { readonly kind: 'probe-sent' }
  | { readonly kind: 'closed'; readonly error?: PlexusError };

export interface RpcOptions {
  /** Limit per request; 0 disables (default 30000 ms). */
  readonly requestTimeoutMs?: number;
  /** Silence before we probe with an echo, and again before we give up; 0 disables (default 5000 ms, as OVS). */
  readonly inactivityProbeMs?: number;
  /** Largest JSON message accepted from the peer (default 64 MiB). */
  readonly maxMessageBytes?: number;
  /** Shared by the connections of one listener: bytes they may hold together for incomplete messages. */
  readonly inputBudget?: BufferBudget;
  /** Stop reading from the peer while more than this many bytes wait for it to read (default 1 MiB). */
  readonly maxUnsentBytes?: number;
  /** Close a peer that reads nothing for this long while we wait for it (default 30000 ms). */
  readonly stallTimeoutMs?: number;
  readonly logger?: winston.Logger;
  /** Peer name for logs. */
  readonly name?: string;
}

export interface RequestOptions {
  /** Overrides the connection's requestTimeoutMs; 0 waits forever. */
  readonly timeoutMs?: number;
  /** Aborting sends a §4.1.4 "cancel" for this request and rejects it with OvsdbError "canceled". */
  readonly signal?: AbortSignal;
}

interface Pending {
  readonly method: string;
  readonly resolve: (result: unknown) => void;
  readonly reject: (err: PlexusError) => void;
  readonly timer: NodeJS.Timeout | undefined;
  readonly cleanup: () => void;
}

let silentLogger: winston.Logger | undefined;
/** Logger used when none is injected: silent, so libraries never print. */
export function defaultLogger(): winston.Logger {
  silentLogger ??= winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
  return silentLogger;
}

/** Serialises a message in the JSON-RPC 1.0 form of RFC 7047 §4. */
export function encodeRpcMessage(msg: RpcMessage): string {
  if (msg instanceof RequestObject) return JSON.stringify({ method: msg.method, params: msg.params ?? [], id: msg.id });
  if (msg instanceof NotificationObject) return JSON.stringify({ method: msg.method, params: msg.params ?? [], id: null });
  if (msg instanceof SuccessObject) return JSON.stringify({ id: msg.id, result: msg.result, error: null });
  return JSON.stringify({ id: msg.id, result: null, error: msg.error.data ?? msg.error.message });
}

/**
 * Classifies one JSON value as a JSON-RPC 1.0 message (RFC 7047 §4). `offset`
 * is the value's stream offset, for the DecodeError of a malformed message.
 */
export function decodeRpcMessage(value: unknown, offset: number): RpcMessage {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new DecodeError('JSON-RPC message is not an object (RFC 7047 §4)', offset);
  }
  const o = value as Record<string, unknown>;
  const id = o.id as ID | undefined;
  if (o.method !== undefined) {
    if (typeof o.method !== 'string') throw new DecodeError('JSON-RPC "method" is not a string', offset);
    if (!Array.isArray(o.params)) throw new DecodeError(`JSON-RPC "params" of ${o.method} is not an array`, offset);
    return id === undefined || id === null
      ? new NotificationObject(o.method, o.params)
      : new RequestObject(id, o.method, o.params);
  }
  if (id === undefined || id === null) throw new DecodeError('JSON-RPC reply without "id"', offset);
  if (o.error !== undefined && o.error !== null) {
    const tag = typeof o.error === 'string' ? o.error : typeof (o.error as { error?: unknown }).error === 'string' ? String((o.error as { error: string }).error) : 'error';
    return new ErrorObject(id, new JsonRpcError(tag, 0, o.error));
  }
  if (!('result' in o)) throw new DecodeError('JSON-RPC reply has neither "result" nor "error"', offset);
  return new SuccessObject(id, o.result as SuccessObject['result']);
}

export interface RpcEvents {
  event: [RpcEvent];
}

/** One JSON-RPC peer over a connected socket (TCP, unix or TLS). */
export class OvsdbRpc extends EventEmitter<RpcEvents> {
  private state: RpcState = 'open';
  private readonly stream: JsonStream;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private readonly probe: InactivityProbe;
  private readonly gate: ReadGate;
  /** Set from a turn's first write until its check phase uncorks the socket. */
  private isCorked = false;
  private readonly inbound: InboundQueue;
  private readonly log: winston.Logger;
  readonly name: string;

  constructor(
    private readonly socket: Duplex,
    private readonly options: RpcOptions = {},
  ) {
    super();
    this.name = options.name ?? 'ovsdb';
    this.log = (options.logger ?? defaultLogger()).child({ module: 'ovsdb-rpc', peer: this.name });
    this.stream = new JsonStream({
      deferAboveBytes: LARGE_MESSAGE_BYTES,
      ...(options.maxMessageBytes === undefined ? {} : { maxMessageBytes: options.maxMessageBytes }),
      ...(options.inputBudget === undefined ? {} : { budget: options.inputBudget }),
    });
    this.gate = new ReadGate(socket, {
      ...(options.maxUnsentBytes === undefined ? {} : { maxUnsentBytes: options.maxUnsentBytes }),
      ...(options.stallTimeoutMs === undefined ? {} : { stallTimeoutMs: options.stallTimeoutMs }),
    });
    this.gate.on('state', (state) => {
      this.log.debug('reading from peer', { state, unsentBytes: this.gate.unsentBytes });
      // A peer that took what we sent is alive, whatever the clock says about its silence.
      if (state === 'flowing') this.probe.alive();
    });
    this.gate.on('stalled', (err) => {
      this.log.warn('peer does not read what we send, closing', { error: err.message });
      this.close(err);
    });
    this.inbound = new InboundQueue({
      isOpen: () => this.state === 'open',
      holdReading: () => this.gate.hold(),
      onReleased: () => this.probe.alive(),
      dispatch: (value, offset) => this.decodeAndDispatch(value, offset),
      onUnreadable: (err) => this.closeUnreadable(err),
      log: this.log,
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.close(new ConnectionError(`socket error: ${err.message}`, { cause: err })));
    socket.on('close', () => this.close(new PeerClosedError()));
    socket.on('end', () => this.close(new PeerClosedError()));
    this.probe = new InactivityProbe(options.inactivityProbeMs ?? 5000, {
      isReading: () => this.gate.isReading,
      sendProbe: () => {
        this.emit('event', { kind: 'probe-sent' } satisfies RpcEvent);
        this.request('echo', [], { timeoutMs: 0 }).catch(() => undefined);
      },
      onSilent: (silentMs) => {
        this.log.warn('peer silent after inactivity probe, closing', { silentMs });
        this.close(new TimeoutError(`no message from peer for ${silentMs} ms (inactivity probe unanswered)`));
      },
    });
  }

  get currentState(): RpcState {
    return this.state;
  }
  get isOpen(): boolean {
    return this.state === 'open';
  }

  private setState(state: RpcState): void {
    if (this.state === state) return;
    this.log.debug('rpc state', { from: this.state, to: state });
    this.state = state;
    this.emit('event', { kind: 'state', state } satisfies RpcEvent);
  }

  /**
   * Sends a request and resolves with its `result`; a non-null `error` rejects
   * with {@link OvsdbError}; a closed connection with ConnectionError; no answer
   * in time with TimeoutError.
   */
  request(method: string, params: readonly unknown[], options: RequestOptions = {}): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.state === 'closed') return reject(new ConnectionError(`cannot send ${method}: connection closed`));
      const id = this.nextId++;
      const timeoutMs = options.timeoutMs ?? this.options.requestTimeoutMs ?? 30_000;
      const timer =
        timeoutMs > 0
          ? setTimeout(() => {
              this.settle(id);
              reject(new TimeoutError(`no reply to ${method} (id ${id}) within ${timeoutMs} ms`));
            }, timeoutMs)
          : undefined;
      const signal = options.signal;
      // RFC 7047 §4.1.4 says the server answers a cancelled request with a
      // "canceled" error; ovsdb-server drops it silently instead (unless the
      // session is database-change-aware), so we settle it ourselves.
      const onAbort = (): void => {
        if (!this.pending.has(id)) return;
        this.settle(id);
        if (this.state === 'open') this.notify('cancel', [id]);
        reject(new OvsdbError('canceled', { details: `${method} cancelled by the client`, method }));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const cleanup = (): void => signal?.removeEventListener('abort', onAbort);
      this.pending.set(id, { method, resolve, reject, timer, cleanup });
      this.write(makeRequest(id, method, [...params]));
      if (signal?.aborted) onAbort();
    });
  }

  /** Sends a notification (no reply expected), e.g. §4.1.4 cancel. */
  notify(method: string, params: readonly unknown[]): void {
    if (this.state === 'closed') throw new ConnectionError(`cannot send ${method}: connection closed`);
    this.write(makeNotification(method, [...params]));
  }

  /** §4.1.11 Echo: resolves with what the peer echoed back. */
  async echo(params: readonly unknown[] = []): Promise<unknown[]> {
    const result = await this.request('echo', params);
    if (!Array.isArray(result)) throw new DecodeError('echo reply is not an array (RFC 7047 §4.1.11)', this.stream.messageOffset);
    return result;
  }

  /**
   * What one event-loop turn sends goes out in one write (the socket corked
   * until the turn's check phase): a burst of marks on a host, a transaction
   * per endpoint, was one syscall per message (~10 % of plexusd's CPU in a
   * 6,000-endpoint burst over 300 hosts).
   */
  private write(msg: RpcMessage): void {
    const bytes = Buffer.from(encodeRpcMessage(msg));
    this.gate.noteWrite(bytes.length);
    if (!this.isCorked) {
      this.isCorked = true;
      this.socket.cork();
      setImmediate(() => {
        this.isCorked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(bytes);
  }

  private onData(chunk: Buffer): void {
    this.probe.heard();
    let values: unknown[];
    try {
      values = this.stream.push(chunk);
    } catch (err) {
      return this.closeUnreadable(err);
    }
    const offsets = this.stream.lastOffsets;
    for (const [i, value] of values.entries()) this.inbound.push(value, offsets[i] ?? this.stream.messageOffset);
    this.inbound.drain();
    if (this.state === 'open') this.gate.check();
  }

  private closeUnreadable(err: unknown): void {
    this.log.warn('cannot read from peer, closing', { error: (err as Error).message });
    this.close(asPlexusError(err));
  }

  /**
   * Holds every later message, and reading from the peer, until `work`
   * settles: for a message handled in slices (a large update), so messages stay
   * in order and input does not pile up meanwhile (rpc-inbound.ts). The caller
   * handles `work`'s failure (typically by closing the connection).
   */
  holdInbound(work: Promise<unknown>): void {
    this.inbound.hold(work);
  }

  private decodeAndDispatch(value: unknown, offset: number): void {
    let msg: RpcMessage;
    try {
      msg = decodeRpcMessage(value, offset);
    } catch (err) {
      this.log.warn('bad JSON-RPC message from peer, closing', { error: (err as Error).message });
      return this.close(asPlexusError(err));
    }
    this.dispatch(msg);
  }

  private dispatch(msg: RpcMessage): void {
    if (msg instanceof RequestObject) {
      if (msg.method === 'echo') {
        this.write(new SuccessObject(msg.id, (msg.params ?? []) as SuccessObject['result']));
        this.emit('event', { kind: 'echo-answered' } satisfies RpcEvent);
        return;
      }
      // A client library serves no other methods (RFC 7047 §4: the server sends only echo requests).
      this.write(new ErrorObject(msg.id, new JsonRpcError('unknown method', 0, { error: 'unknown method', details: msg.method })));
      return;
    }
    if (msg instanceof NotificationObject) {
      this.emit('event', {
        kind: 'notification',
        method: msg.method,
        params: (msg.params ?? []) as unknown[],
      } satisfies RpcEvent);
      return;
    }
    const id = typeof msg.id === 'number' ? msg.id : Number.NaN;
    const p = this.pending.get(id);
    if (!p) {
      this.log.debug('reply to no pending request', { id: msg.id });
      return;
    }
    this.settle(id);
    if (msg instanceof ErrorObject) p.reject(OvsdbError.fromJson(msg.error.data ?? msg.error.message, { method: p.method }));
    else p.resolve(msg.result);
  }

  private settle(id: number): void {
    const p = this.pending.get(id);
    if (!p) return;
    clearTimeout(p.timer);
    p.cleanup();
    this.pending.delete(id);
  }

  /** Closes the connection; every pending request is rejected. Idempotent. */
  close(error?: PlexusError): void {
    if (this.state === 'closed') return;
    this.setState('closed');
    this.probe.stop();
    this.gate.dispose();
    this.stream.dispose();
    const reason = error ?? new ConnectionError('connection closed');
    for (const [id, p] of this.pending) {
      this.settle(id);
      p.reject(reason instanceof ConnectionError || reason instanceof TimeoutError ? reason : new ConnectionError(`connection closed: ${reason.message}`, { cause: reason }));
    }
    this.socket.destroy();
    this.emit('event', { kind: 'closed', ...(error ? { error } : {}) } satisfies RpcEvent);
  }
}

function asPlexusError(err: unknown): PlexusError {
  if (err instanceof PlexusError) return err;
  return new PlexusError(err instanceof Error ? err.message : String(err), { cause: err });
}
