/**
 * Backpressure from a peer's reading to our reading of it. Whatever a peer
 * makes us send (echo replies, errors, answers to its requests) waits in the
 * socket's write buffer until the peer reads it; a peer that keeps sending and
 * never reads would grow that buffer without bound. So after each chunk from
 * the peer is handled, the gate checks what is still unsent: above
 * `maxUnsentBytes` it stops reading from the peer (its requests then wait in
 * the kernel, on its side), and resumes once the buffer has drained. A peer
 * that reads nothing at all for `stallTimeoutMs` while we are paused is
 * reported as `stalled`: its owner closes the connection.
 *
 * Our own writes (a large bundle of flow mods) can also exceed the threshold;
 * that pauses reading until the peer has taken them, which costs nothing, and
 * a peer that is reading — however slowly — is never called stalled.
 *
 * The owner may also `hold()` reading while it is busy with what it already
 * read (a large update processed in slices), so input does not pile up
 * meanwhile; the gate is the only one that pauses and resumes the socket.
 *
 * ```
 *   flowing ──unsent > max──▶ paused ──drained──▶ flowing
 *                               │
 *                               └──nothing read for stallTimeoutMs──▶ stalled
 * ```
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { ConnectionError } from './errors';

/** Default limit of bytes waiting for the peer before we stop reading it: 1 MiB. */
export const DEFAULT_MAX_UNSENT_BYTES = 1024 * 1024;
/** Default time a paused peer may read nothing before it is dropped. */
export const DEFAULT_STALL_TIMEOUT_MS = 30_000;

export interface ReadGateOptions {
  /** Stop reading from the peer while more than this many bytes wait to be sent to it (default 1 MiB). */
  readonly maxUnsentBytes?: number;
  /** While paused, a peer that reads nothing for this long is `stalled` (default 30 s). */
  readonly stallTimeoutMs?: number;
}

export type ReadGateState = 'flowing' | 'paused' | 'stalled';

export interface ReadGateEvents {
  state: [ReadGateState];
  /** The peer read nothing for `stallTimeoutMs` while we waited: close its connection. */
  stalled: [ConnectionError];
}

export class ReadGate extends EventEmitter<ReadGateEvents> {
  private state: ReadGateState = 'flowing';
  private readonly maxUnsentBytes: number;
  private readonly stallTimeoutMs: number;
  /** Bytes handed to the socket since the last sample (to tell the peer's reading from our writing). */
  private writtenSinceSample = 0;
  private unsentAtSample = 0;
  private queuedAtSample: number | undefined;
  private progressAtMs = 0;
  private pausedAtMs = 0;
  private timer: NodeJS.Timeout | undefined;
  private holds = 0;
  private readonly onDrain = (): void => this.resume();

  constructor(
    private readonly socket: Duplex,
    options: ReadGateOptions = {},
  ) {
    super();
    this.maxUnsentBytes = options.maxUnsentBytes ?? DEFAULT_MAX_UNSENT_BYTES;
    this.stallTimeoutMs = options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
    socket.on('drain', this.onDrain);
  }

  get currentState(): ReadGateState {
    return this.state;
  }
  /** True while reading is paused because the peer does not take what we send. */
  get isPaused(): boolean {
    return this.state !== 'flowing';
  }
  /** True while we read from the peer (neither paused by backpressure nor held). */
  get isReading(): boolean {
    return this.state === 'flowing' && this.holds === 0;
  }

  /** Stops reading until the returned function is called (once). Holds nest. */
  hold(): () => void {
    this.holds++;
    this.socket.pause();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds--;
      if (this.isReading) this.socket.resume();
    };
  }
  /** Bytes written to the socket that the peer has not taken yet. */
  get unsentBytes(): number {
    return this.socket.writableLength;
  }

  private setState(state: ReadGateState): void {
    if (this.state === state) return;
    this.state = state;
    this.emit('state', state);
  }

  /** Call with the size of every write, so the peer's progress can be told from our own writing. */
  noteWrite(bytes: number): void {
    this.writtenSinceSample += bytes;
  }

  /** Call after handling a chunk from the peer: pauses reading while too much waits for it. */
  check(): void {
    if (this.state !== 'flowing' || this.socket.writableLength <= this.maxUnsentBytes) return;
    this.socket.pause();
    this.pausedAtMs = this.progressAtMs = Date.now();
    this.unsentAtSample = this.socket.writableLength;
    this.queuedAtSample = kernelQueuedBytes(this.socket);
    this.writtenSinceSample = 0;
    this.setState('paused');
    this.timer = setInterval(() => this.sample(), Math.max(10, Math.min(1000, this.stallTimeoutMs / 4)));
  }

  private sample(): void {
    if (this.state !== 'paused') return;
    const unsent = this.socket.writableLength;
    const queued = kernelQueuedBytes(this.socket);
    // A write request leaves writableLength only once the kernel took all of it (one writev
    // can carry megabytes): the handle's queue shows the peer's reading within a request.
    const takenBytes = this.unsentAtSample + this.writtenSinceSample - unsent;
    const tookPart = queued !== undefined && this.queuedAtSample !== undefined && queued < this.queuedAtSample;
    this.unsentAtSample = unsent;
    this.queuedAtSample = queued;
    this.writtenSinceSample = 0;
    const now = Date.now();
    if (takenBytes > 0 || tookPart) this.progressAtMs = now;
    else if (now - this.progressAtMs >= this.stallTimeoutMs) {
      clearInterval(this.timer);
      this.setState('stalled');
      const pausedMs = now - this.pausedAtMs;
      this.emit('stalled', new ConnectionError(`peer does not read: ${unsent} bytes unsent, nothing taken for ${now - this.progressAtMs} ms (reading paused for ${pausedMs} ms)`));
    }
  }

  private resume(): void {
    if (this.state !== 'paused') return;
    clearInterval(this.timer);
    this.setState('flowing');
    if (this.holds === 0) this.socket.resume();
  }

  /** Stops the timer and forgets the socket's events (the connection is closed). */
  dispose(): void {
    clearInterval(this.timer);
    this.socket.off('drain', this.onDrain);
  }
}

/**
 * Bytes of in-flight write requests the kernel has not taken yet: libuv's
 * write queue size, which Node's stream handles (TCP, pipes) expose as
 * `writeQueueSize`; undefined for streams without one.
 */
function kernelQueuedBytes(socket: Duplex): number | undefined {
  const handle = (socket as { _handle?: { writeQueueSize?: unknown } })._handle;
  return typeof handle?.writeQueueSize === 'number' ? handle.writeQueueSize : undefined;
}
