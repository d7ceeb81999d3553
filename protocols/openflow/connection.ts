/**
 * One OpenFlow 1.3 session over a socket: HELLO, FEATURES, requests and replies,
 * echo probes, batches closed by a barrier, atomic ONF bundles. Its jobs have a
 * file each: message-socket.ts (framing, one write per turn, read gate),
 * pending-requests.ts (xids, multipart, batch errors), liveness.ts (echoes).
 * A peer that sends bytes we cannot decode, or reads nothing for
 * `stallTimeoutMs` while we wait, loses its own connection, never the process.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { ConnectionError, DecodeError, PlexusError, TimeoutError } from '../common/errors';
import { encodeBundleAdds } from './codec';
import { OFP_VERSION, OFPBCT, OFPBF, OFPET } from './constants';
import { OpenFlowError } from './errors';
import { Liveness, type LivenessOptions } from './liveness';
import { asPlexusError, MessageSocket, type MessageSocketOptions } from './message-socket';
import type { Decoded, FeaturesReply, OfpMessage } from './messages';
import { DEFAULT_MAX_MULTIPART_BYTES, mergeMultipart, PendingRequests } from './pending-requests';

/** OFPHFC_INCOMPATIBLE (§7.4.4): no common version. */
const OFPHFC_INCOMPATIBLE = 0;

export type ConnectionState = 'hello' | 'features' | 'ready' | 'closed';

export type ConnectionEvent =
  | { readonly kind: 'state'; readonly state: ConnectionState }
  | { readonly kind: 'ready'; readonly features: Decoded<FeaturesReply> }
  | { readonly kind: 'message'; readonly message: Decoded }
  | { readonly kind: 'closed'; readonly error?: PlexusError };

/** Echo (liveness.ts) and backpressure (message-socket.ts) options, and the session's own. */
export interface ConnectionOptions extends LivenessOptions, MessageSocketOptions {
  /** Controller side asks for FEATURES after HELLO; a simulated switch answers them. */
  readonly side: 'controller' | 'switch';
  /** Time limit for one request/reply exchange (default 10000 ms). */
  readonly requestTimeoutMs?: number;
  /** Handshake (HELLO + FEATURES) time limit (default 5000 ms). */
  readonly handshakeTimeoutMs?: number;
  /** Largest multipart reply reassembled for one request (default 256 MiB); a peer sending more is closed. */
  readonly maxMultipartBytes?: number;
}

export class OpenFlowConnection extends EventEmitter {
  private state: ConnectionState = 'hello';
  private readonly wire: MessageSocket;
  private readonly requests: PendingRequests;
  private readonly liveness: Liveness;
  private nextBundleId = 1;
  private readonly handshakeTimer: NodeJS.Timeout;
  private features: Decoded<FeaturesReply> | undefined;
  readonly remote: string;

  constructor(
    socket: Socket,
    private readonly options: ConnectionOptions,
  ) {
    super();
    this.remote = `${socket.remoteAddress ?? 'unix'}:${socket.remotePort ?? ''}`;
    this.requests = new PendingRequests(options.maxMultipartBytes ?? DEFAULT_MAX_MULTIPART_BYTES);
    this.wire = new MessageSocket(socket, options, {
      message: (msg, bytes) => this.dispatch(msg, bytes),
      heard: () => this.liveness.heard(),
      reading: () => this.liveness.alive(),
      failed: (err) => this.close(err),
    });
    const handshakeMs = options.handshakeTimeoutMs ?? 5000;
    this.handshakeTimer = setTimeout(() => this.close(new TimeoutError(`no OpenFlow handshake within ${handshakeMs} ms`)), handshakeMs);
    this.send({ type: 'hello', versions: [OFP_VERSION] });
    this.liveness = new Liveness(options, {
      // While we do not read the peer we cannot hear it either; the read gate judges it meanwhile.
      canJudge: () => this.state !== 'closed' && !this.wire.isPaused,
      isReady: () => this.state === 'ready',
      sendEcho: () => void this.request({ type: 'echo_request' }).catch(() => undefined),
      dead: (err) => this.close(err),
    });
  }

  /** New echo interval and timeout from now on (liveness.ts `retune`). */
  retuneEcho(options: LivenessOptions): void {
    this.liveness.retune(options);
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

  /**
   * Sends a message without waiting; returns its xid. Messages sent in the same
   * event-loop turn leave together (message-socket.ts): a burst costs one
   * write, not one per message.
   */
  send(msg: OfpMessage): number {
    const xid = msg.xid ?? this.requests.allocXid();
    if (this.state === 'closed') throw new ConnectionError('connection closed');
    this.wire.write(msg, xid);
    return xid;
  }

  /** Sends a message encoded beforehand, xid included (a load generator replaying templates). */
  sendEncoded(bytes: Uint8Array): void {
    if (this.state === 'closed') throw new ConnectionError('connection closed');
    this.wire.writeEncoded(bytes);
  }

  /**
   * Sends a request and resolves with its reply (for a multipart request: all
   * parts, reassembled). An OFPT_ERROR with the same xid rejects with OpenFlowError.
   */
  async request(msg: OfpMessage): Promise<Decoded> {
    const xid = msg.xid ?? this.requests.allocXid();
    const parts = await this.exchange({ ...msg, xid }, this.options.requestTimeoutMs ?? 10_000, `no reply to ${msg.type} (xid ${xid})`);
    return parts.length === 1 ? parts[0]! : mergeMultipart(parts);
  }

  /**
   * Sends an echo request (§7.5.2) and resolves once the peer answers it within
   * `timeoutMs`; rejects with TimeoutError otherwise, or ConnectionError if the
   * connection closes first. Proves the peer is alive and reading right now.
   */
  async probe(timeoutMs: number): Promise<void> {
    await this.exchange({ type: 'echo_request', xid: this.requests.allocXid() }, timeoutMs, 'echo unanswered');
  }

  /** Sends `msg` (its xid set) and waits for the reply; a message that cannot be encoded rejects the wait with why. */
  private exchange(msg: OfpMessage & { readonly xid: number }, timeoutMs: number, what: string): Promise<Decoded[]> {
    if (this.state === 'closed') return Promise.reject(new ConnectionError('connection closed'));
    const reply = this.requests.wait(msg.xid, timeoutMs, what);
    try {
      this.send(msg);
    } catch (err) {
      this.requests.abandon(msg.xid, asPlexusError(err));
    }
    return reply;
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
    return this.sendThenBarrier(() => msgs.forEach((m, i) => (this.send(m), this.wire.flushEvery(i))));
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
    const errors = await this.sendThenBarrier(() => {
      if (this.state === 'closed') throw new ConnectionError('connection closed');
      encodeBundleAdds(bundleId, flags, msgs, () => this.requests.allocXid(), (chunk) => this.wire.writeNow(chunk));
    });
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
  private sendThenBarrier(sendAll: () => void): Promise<OpenFlowError[]> {
    const first = this.requests.peekXid;
    sendAll();
    const barrierXid = this.requests.allocXid();
    return this.requests.collectErrors(first, barrierXid, () => this.request({ type: 'barrier_request', xid: barrierXid }));
  }

  private dispatch(msg: Decoded, bytes: number): void {
    if (this.state === 'closed') return;
    if (this.state === 'hello') return this.onHello(msg);
    if (msg.type === 'echo_request') {
      this.send({ type: 'echo_reply', xid: msg.xid, ...(msg.data ? { data: msg.data } : {}) });
      return;
    }
    const taken = this.requests.take(msg, bytes);
    if (taken === 'overflow') {
      const max = this.options.maxMultipartBytes ?? DEFAULT_MAX_MULTIPART_BYTES;
      return this.close(new DecodeError(`multipart reply to xid ${msg.xid} exceeds ${max} bytes`, this.wire.offset));
    }
    // An echo reply nobody waits for (a late answer to a keepalive) is not news.
    if (taken === 'taken' || msg.type === 'echo_reply') return;
    this.emit('event', { kind: 'message', message: msg } satisfies ConnectionEvent);
  }

  private onHello(msg: Decoded): void {
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
  }

  private becomeReady(): void {
    clearTimeout(this.handshakeTimer);
    this.setState('ready');
    this.emit('event', (this.features ? { kind: 'ready', features: this.features } : { kind: 'ready' }) as ConnectionEvent);
  }

  /** Closes the session; every pending request is rejected. Idempotent. */
  close(error?: PlexusError): void {
    if (this.state === 'closed') return;
    this.setState('closed');
    clearTimeout(this.handshakeTimer);
    this.liveness.stop();
    this.requests.rejectAll(error ?? new ConnectionError('connection closed'));
    this.wire.destroy();
    this.emit('event', { kind: 'closed', ...(error ? { error } : {}) } satisfies ConnectionEvent);
  }
}
