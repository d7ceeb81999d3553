/**
 * One OpenFlow 1.3 session over a socket: HELLO negotiation, FEATURES, xid
 * correlation of requests and replies, multipart reassembly, echo keepalive both
 * ways, and batches closed by a barrier that report which messages failed.
 *
 * A peer that sends bytes we cannot frame or decode loses its own connection
 * (a `closed` event with the DecodeError); nothing escapes to the process.
 * A peer that does not read what we send stops being read (common/read-gate),
 * and is closed once it has read nothing for `stallTimeoutMs`.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { ConnectionError, DecodeError, PlexusError, TimeoutError } from '../common/errors';
import { ReadGate } from '../common/read-gate';
import { decodeMessage, encodeBundleAdds, encodeMessageWithXid } from './codec';
import { OFP_VERSION, OFPBCT, OFPBF, OFPET, OFPMPF } from './constants';
import { OpenFlowError } from './errors';
import { Framer } from './framer';
import type { Decoded, FeaturesReply, OfpMessage } from './messages';

/** OFPHFC_INCOMPATIBLE (§7.4.4): no common version. */
const OFPHFC_INCOMPATIBLE = 0;

export type ConnectionState = 'hello' | 'features' | 'ready' | 'closed';

export type ConnectionEvent =
  | { readonly kind: 'state'; readonly state: ConnectionState }
  | { readonly kind: 'ready'; readonly features: Decoded<FeaturesReply> }
  | { readonly kind: 'message'; readonly message: Decoded }
  | { readonly kind: 'closed'; readonly error?: PlexusError };

export interface ConnectionOptions {
  /** Controller side asks for FEATURES after HELLO; a simulated switch answers them. */
  readonly side: 'controller' | 'switch';
  /** Send an echo after this much silence from the peer (default 5000 ms, like OVS). */
  readonly echoIntervalMs?: number;
  /** Declare the peer dead when it stays silent this long after an echo (default 3000 ms). */
  readonly echoTimeoutMs?: number;
  /** Time limit for one request/reply exchange (default 10000 ms). */
  readonly requestTimeoutMs?: number;
  /** Handshake (HELLO + FEATURES) time limit (default 5000 ms). */
  readonly handshakeTimeoutMs?: number;
  /** Stop reading from the peer while more than this many bytes wait for it to read (default 1 MiB). */
  readonly maxUnsentBytes?: number;
  /** Close a peer that reads nothing for this long while we wait for it (default 30000 ms). */
  readonly stallTimeoutMs?: number;
  /** Largest multipart reply reassembled for one request (default 256 MiB); a peer sending more is closed. */
  readonly maxMultipartBytes?: number;
}

interface Pending {
  readonly resolve: (msgs: Decoded[]) => void;
  readonly reject: (err: PlexusError) => void;
  readonly parts: Decoded[];
  /** Bytes of the parts so far (a multipart reply is bounded by maxMultipartBytes). */
  partBytes?: number;
  readonly timer: NodeJS.Timeout;
}

/** Default bound of one reassembled multipart reply: a dump of about a million flows. */
export const DEFAULT_MAX_MULTIPART_BYTES = 256 * 1024 * 1024;

export class OpenFlowConnection extends EventEmitter {
  private state: ConnectionState = 'hello';
  private readonly framer = new Framer();
  private readonly pending = new Map<number, Pending>();
  /** Errors for xids of an open batch, keyed by the batch's barrier xid. */
  private readonly batchErrors = new Map<number, { readonly first: number; readonly errors: OpenFlowError[] }>();
  private nextXid = 1;
  private nextBundleId = 1;
  private corkedUntilTick = false;
  private lastHeardMs = Date.now();
  private echoOutstanding = false;
  private keepalive: NodeJS.Timeout | undefined;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private features: Decoded<FeaturesReply> | undefined;
  private readonly gate: ReadGate;
  readonly remote: string;

  constructor(
    private readonly socket: Socket,
    private readonly options: ConnectionOptions,
  ) {
    super();
    this.remote = `${socket.remoteAddress ?? 'unix'}:${socket.remotePort ?? ''}`;
    socket.setNoDelay(true);
    this.gate = new ReadGate(socket, {
      ...(options.maxUnsentBytes === undefined ? {} : { maxUnsentBytes: options.maxUnsentBytes }),
      ...(options.stallTimeoutMs === undefined ? {} : { stallTimeoutMs: options.stallTimeoutMs }),
    });
    this.gate.on('stalled', (err) => this.close(err));
    // A peer that took what we sent is alive, whatever the clock says about its silence.
    this.gate.on('state', (state) => {
      if (state === 'flowing') this.lastHeardMs = Date.now();
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.close(new ConnectionError(`socket error: ${err.message}`, { cause: err })));
    socket.on('close', () => this.close(new ConnectionError('peer closed the connection')));
    this.handshakeTimer = setTimeout(
      () => this.close(new TimeoutError(`no OpenFlow handshake within ${this.handshakeTimeoutMs} ms`)),
      this.handshakeTimeoutMs,
    );
    this.send({ type: 'hello', versions: [OFP_VERSION] });
    this.keepalive = setInterval(() => this.checkLiveness(), Math.min(this.echoIntervalMs, 1000));
  }

  private get echoIntervalMs(): number {
    return this.options.echoIntervalMs ?? 5000;
  }
  private get echoTimeoutMs(): number {
    return this.options.echoTimeoutMs ?? 3000;
  }
  private get requestTimeoutMs(): number {
    return this.options.requestTimeoutMs ?? 10_000;
  }
  private get handshakeTimeoutMs(): number {
    return this.options.handshakeTimeoutMs ?? 5000;
  }

  get currentState(): ConnectionState {
    return this.state;
  }
  get isOpen(): boolean {
    return this.state !== 'closed';
  }
  /** The switch's FEATURES_REPLY (controller side, once ready). */
  get switchFeatures(): Decoded<FeaturesReply> | undefined {
    return this.features;
  }

  private setState(state: ConnectionState): void {
    if (this.state === state) return;
    this.state = state;
    this.emit('event', { kind: 'state', state } satisfies ConnectionEvent);
  }

  private allocXid(): number {
    const xid = this.nextXid;
    this.nextXid = this.nextXid >= 0xfffffff0 ? 1 : this.nextXid + 1;
    return xid;
  }

  /** In long batches, let every 256th message go out so the switch works while we encode the rest. */
  private flushEvery(i: number): void {
    if (i % 256 === 255 && this.corkedUntilTick) {
      this.socket.uncork();
      this.socket.cork();
    }
  }

  /**
   * Sends a message without waiting; returns its xid. Messages sent in the same
   * event-loop turn leave together: the socket is corked on the first and
   * uncorked on the next tick, so a burst costs one write, not one per message.
   */
  send(msg: OfpMessage): number {
    const xid = msg.xid ?? this.allocXid();
    if (this.state === 'closed') throw new ConnectionError('connection closed');
    if (!this.corkedUntilTick) {
      this.corkedUntilTick = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corkedUntilTick = false;
        this.socket.uncork();
      });
    }
    const bytes = encodeMessageWithXid(msg, xid);
    this.gate.noteWrite(bytes.length);
    this.socket.write(bytes);
    return xid;
  }

  /**
   * Sends a request and resolves with its reply (for a multipart request: all
   * parts, reassembled). An OFPT_ERROR with the same xid rejects with OpenFlowError.
   */
  async request(msg: OfpMessage): Promise<Decoded> {
    const parts = await this.exchange(msg);
    return parts.length === 1 ? parts[0]! : mergeMultipart(parts);
  }

  private exchange(msg: OfpMessage): Promise<Decoded[]> {
    return new Promise((resolve, reject) => {
      if (this.state === 'closed') return reject(new ConnectionError('connection closed'));
      const xid = msg.xid ?? this.allocXid();
      const timer = setTimeout(() => {
        this.pending.delete(xid);
        reject(new TimeoutError(`no reply to ${msg.type} (xid ${xid}) within ${this.requestTimeoutMs} ms`));
      }, this.requestTimeoutMs);
      this.pending.set(xid, { resolve, reject, parts: [], timer });
      this.send({ ...msg, xid });
    });
  }

  /**
   * Sends an echo request (§7.5.2) and resolves once the peer answers it within
   * `timeoutMs`; rejects with TimeoutError otherwise, or ConnectionError if the
   * connection closes first. Proves the peer is alive and reading right now.
   */
  async probe(timeoutMs: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      if (this.state === 'closed') return reject(new ConnectionError('connection closed'));
      const xid = this.allocXid();
      const timer = setTimeout(() => {
        this.pending.delete(xid);
        reject(new TimeoutError(`echo unanswered within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(xid, { resolve: () => resolve(), reject, parts: [], timer });
      this.send({ type: 'echo_request', xid });
    });
  }

  /** Resolves when the switch has processed everything sent before (BARRIER). */
  async barrier(): Promise<void> {
    await this.request({ type: 'barrier_request' });
  }

  /**
   * Sends `msgs` back to back, then a barrier; resolves with the OpenFlow errors
   * the switch returned for any of them (empty when all succeeded). One round
   * trip for the whole batch, however large.
   */
  sendBatch(msgs: readonly OfpMessage[]): Promise<OpenFlowError[]> {
    return this.sendThenBarrier(() => msgs.forEach((m, i) => (this.send(m), this.flushEvery(i))));
  }

  /** Writes already encoded messages now (also while the socket is corked for this turn). */
  private sendBytes(bytes: Buffer): void {
    if (this.state === 'closed') throw new ConnectionError('connection closed');
    this.gate.noteWrite(bytes.length);
    this.socket.write(bytes);
    if (this.corkedUntilTick) {
      this.socket.uncork();
      this.socket.cork();
    }
  }

  /**
   * Applies `msgs` atomically with the ONF bundle extension: open, add each,
   * then a barrier so every add has been validated, then COMMIT — or DISCARD
   * when the switch refused any add (Open vSwitch rejects a bad message at add
   * time and would otherwise commit the rest). Resolves with the switch's
   * errors; when there are any, nothing was applied.
   */
  async sendBundle(msgs: readonly OfpMessage[]): Promise<OpenFlowError[]> {
    const bundleId = this.nextBundleId++;
    const flags = OFPBF.ATOMIC | OFPBF.ORDERED;
    // The switch handles messages in order: the adds follow the OPEN without waiting for its reply.
    const opened = this.request({ type: 'bundle_control', bundleId, ctrlType: OFPBCT.OPEN_REQUEST, flags });
    opened.catch(() => undefined); // settled below
    // A few large writes (each bundle_add with its own xid, as its embedded message).
    const errors = await this.sendThenBarrier(() => encodeBundleAdds(bundleId, flags, msgs, () => this.allocXid(), (chunk) => this.sendBytes(chunk)));
    // An OPEN the switch refused throws here, as when the adds waited for it (their errors follow from it).
    await opened;
    const ctrlType = errors.length ? OFPBCT.DISCARD_REQUEST : OFPBCT.COMMIT_REQUEST;
    try {
      await this.request({ type: 'bundle_control', bundleId, ctrlType, flags });
    } catch (err) {
      if (!(err instanceof OpenFlowError)) throw err;
      errors.push(err);
    }
    return errors;
  }

  /**
   * Sends messages through `sendAll`, then a barrier, and collects the errors
   * the switch reports for any xid sent in between (the barrier reply
   * guarantees they have all arrived).
   */
  private async sendThenBarrier(sendAll: () => void): Promise<OpenFlowError[]> {
    const first = this.nextXid;
    sendAll();
    const barrierXid = this.allocXid();
    const entry = { first, errors: [] as OpenFlowError[] };
    this.batchErrors.set(barrierXid, entry);
    try {
      await this.request({ type: 'barrier_request', xid: barrierXid });
    } finally {
      this.batchErrors.delete(barrierXid);
    }
    return entry.errors;
  }

  private onData(chunk: Buffer): void {
    this.lastHeardMs = Date.now();
    this.echoOutstanding = false;
    let frames: Buffer[];
    try {
      frames = this.framer.push(chunk);
    } catch (err) {
      return this.close(asPlexusError(err));
    }
    for (const frame of frames) {
      if (this.state === 'closed') return;
      let msg: Decoded;
      try {
        msg = decodeMessage(frame, this.framer.offset);
      } catch (err) {
        return this.close(asPlexusError(err));
      }
      this.dispatch(msg, frame.length);
    }
    if (this.state !== 'closed') this.gate.check();
  }

  private dispatch(msg: Decoded, bytes: number): void {
    if (this.state === 'hello') {
      if (msg.type !== 'hello') return this.close(new DecodeError(`expected HELLO, got ${msg.type}`, 0));
      const versions = msg.versions ?? [];
      if (versions.length > 0 && !versions.includes(OFP_VERSION)) {
        this.send({ type: 'error', errType: OFPET.HELLO_FAILED, code: OFPHFC_INCOMPATIBLE, data: Buffer.from('OpenFlow 1.3 only') });
        return this.close(new PlexusError(`peer does not speak OpenFlow 1.3 (offers ${versions.join(',')})`));
      }
      if (this.options.side === 'switch') return this.becomeReady();
      this.setState('features');
      this.request({ type: 'features_request' }).then(
        (reply) => {
          if (reply.type !== 'features_reply') throw new DecodeError(`expected FEATURES_REPLY, got ${reply.type}`, 0);
          this.features = reply;
          this.becomeReady();
        },
        (err: unknown) => this.close(asPlexusError(err)),
      );
      return;
    }
    switch (msg.type) {
      case 'echo_request':
        this.send({ type: 'echo_reply', xid: msg.xid, ...(msg.data ? { data: msg.data } : {}) });
        return;
      case 'echo_reply':
        if (!this.pending.has(msg.xid)) return;
        break;
      case 'error': {
        const err = OpenFlowError.fromMessage(msg);
        for (const [closingXid, batch] of this.batchErrors) {
          if (msg.xid >= batch.first && msg.xid < closingXid) {
            batch.errors.push(err);
            return;
          }
        }
        const p = this.pending.get(msg.xid);
        if (p) {
          this.settle(msg.xid);
          p.reject(err);
          return;
        }
        break;
      }
    }
    const p = this.pending.get(msg.xid);
    if (p && isReply(msg)) {
      p.parts.push(msg);
      if (msg.type === 'multipart_reply' && ((msg.flags ?? 0) & OFPMPF.REPLY_MORE) !== 0) {
        p.partBytes = (p.partBytes ?? 0) + bytes;
        const maxBytes = this.options.maxMultipartBytes ?? DEFAULT_MAX_MULTIPART_BYTES;
        if (p.partBytes > maxBytes) {
          return this.close(new DecodeError(`multipart reply to xid ${msg.xid} exceeds ${maxBytes} bytes`, this.framer.offset));
        }
        return;
      }
      this.settle(msg.xid);
      p.resolve(p.parts);
      return;
    }
    this.emit('event', { kind: 'message', message: msg } satisfies ConnectionEvent);
  }

  private settle(xid: number): void {
    const p = this.pending.get(xid);
    if (p) clearTimeout(p.timer);
    this.pending.delete(xid);
  }

  private becomeReady(): void {
    clearTimeout(this.handshakeTimer);
    this.setState('ready');
    if (this.features) this.emit('event', { kind: 'ready', features: this.features } satisfies ConnectionEvent);
    else this.emit('event', { kind: 'ready' } as unknown as ConnectionEvent);
  }

  private checkLiveness(): void {
    // While we do not read the peer we cannot hear it either; the read gate judges it meanwhile.
    if (this.state === 'closed' || this.gate.isPaused) return;
    const silentMs = Date.now() - this.lastHeardMs;
    if (this.echoOutstanding && silentMs > this.echoIntervalMs + this.echoTimeoutMs) {
      return this.close(new TimeoutError(`peer silent for ${silentMs} ms (echo unanswered)`));
    }
    if (!this.echoOutstanding && silentMs >= this.echoIntervalMs && this.state === 'ready') {
      this.echoOutstanding = true;
      this.request({ type: 'echo_request' }).catch(() => undefined);
    }
  }

  /** Closes the session; every pending request is rejected. Idempotent. */
  close(error?: PlexusError): void {
    if (this.state === 'closed') return;
    this.setState('closed');
    clearTimeout(this.handshakeTimer);
    clearInterval(this.keepalive);
    this.gate.dispose();
    const reason = error ?? new ConnectionError('connection closed');
    for (const [xid, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(xid);
      p.reject(reason);
    }
    this.socket.destroy();
    this.emit('event', { kind: 'closed', ...(error ? { error } : {}) } satisfies ConnectionEvent);
  }
}

function isReply(msg: Decoded): boolean {
  switch (msg.type) {
    case 'hello':
    case 'echo_request':
      return false;
    default:
      return true;
  }
}

/** Joins multipart reply parts: list-valued bodies concatenate their `entries`. */
function mergeMultipart(parts: Decoded[]): Decoded {
  const first = parts[0] as Decoded & { body?: { entries?: unknown[] } };
  if (first.type !== 'multipart_reply' || !Array.isArray(first.body?.entries)) return parts[parts.length - 1]!;
  const entries = parts.flatMap((p) => ((p as typeof first).body?.entries ?? []) as unknown[]);
  return { ...first, flags: 0, body: { ...first.body, entries } } as unknown as Decoded;
}

function asPlexusError(err: unknown): PlexusError {
  if (err instanceof PlexusError) return err;
  return new PlexusError(err instanceof Error ? err.message : String(err), { cause: err });
}
