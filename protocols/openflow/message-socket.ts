/**
 * OpenFlow messages over one socket: inbound chunks are framed (framer.ts) and
 * decoded one message at a time; outbound messages are encoded back to back
 * into one buffer per event-loop turn, so whatever one turn sends (every
 * answer to the packet-ins of one chunk, a burst of flow mods) costs one write,
 * not one per message. What the messages of a chunk answer goes out as soon as
 * the chunk is handled, in the same turn (no tick between the read and the
 * write); anything else written in a turn goes out on the next tick. The turn's
 * buffer is handed to the socket without a copy and reused when the socket took
 * it all at once (the usual case), so a write allocates nothing. Nagle is off:
 * a lone message is not held back either.
 *
 * Backpressure is the read gate's (common/read-gate.ts): a peer that does not
 * read what we send stops being read, and is reported once it has read
 * nothing for `stallTimeoutMs`. Bytes we cannot frame or decode, a socket
 * error, the peer closing and a stall all end in one `failed` call.
 */
import type { Socket } from 'node:net';
import { ConnectionError, PeerClosedError, PlexusError } from '../common/errors';
import { ReadGate } from '../common/read-gate';
import { BufferWriter } from '../common/buffer-writer';
import { decodeMessage, writeMessage } from './codec';
import { Framer } from './framer';
import type { Decoded, OfpMessage } from './messages';

export interface MessageSocketOptions {
  /** Stop reading from the peer while more than this many bytes wait for it to read (default 1 MiB). */
  readonly maxUnsentBytes?: number;
  /** Report a peer that reads nothing for this long while we wait for it (default 30000 ms). */
  readonly stallTimeoutMs?: number;
}

export interface MessageSocketHandlers {
  /** One decoded message and its size on the wire. */
  readonly message: (msg: Decoded, bytes: number) => void;
  /** Anything was heard from the peer (a chunk arrived). */
  readonly heard: () => void;
  /** The peer took what we sent after we had stopped reading it: it is alive. */
  readonly reading: () => void;
  /** The socket cannot go on; called once, and nothing is delivered after it. */
  readonly failed: (err: PlexusError) => void;
}

/** Every 256th message of a long batch goes out at once, so the peer works while we encode the rest. */
const FLUSH_EVERY = 256;
/** A turn's writer starts this large; one that grew past the second bound (a long batch) is not kept. */
const TURN_BYTES = 16 * 1024;
const MAX_KEPT_TURN_BYTES = 1024 * 1024;

export class MessageSocket {
  private readonly framer = new Framer();
  private readonly gate: ReadGate;
  /** What this event-loop turn sends, encoded back to back. */
  private turn = new BufferWriter(TURN_BYTES);
  private isFlushScheduled = false;
  private isDone = false;

  constructor(
    private readonly socket: Socket,
    options: MessageSocketOptions,
    private readonly on: MessageSocketHandlers,
  ) {
    socket.setNoDelay(true);
    this.gate = new ReadGate(socket, {
      ...(options.maxUnsentBytes === undefined ? {} : { maxUnsentBytes: options.maxUnsentBytes }),
      ...(options.stallTimeoutMs === undefined ? {} : { stallTimeoutMs: options.stallTimeoutMs }),
    });
    this.gate.on('stalled', (err) => this.fail(err));
    this.gate.on('state', (state) => {
      if (state === 'flowing') on.reading();
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(new ConnectionError(`socket error: ${err.message}`, { cause: err })));
    socket.on('close', () => this.fail(new PeerClosedError()));
  }

  /** Stream offset of the next inbound message (for errors about the stream). */
  get offset(): number {
    return this.framer.offset;
  }

  /** True while reading is paused because the peer does not take what we send. */
  get isPaused(): boolean {
    return this.gate.isPaused;
  }

  /** Encodes `msg` with `xid` into this turn's write. */
  write(msg: OfpMessage, xid: number): void {
    const at = this.turn.offset;
    try {
      writeMessage(this.turn, msg, xid);
    } catch (err) {
      this.turn.rewind(at);
      throw err;
    }
    this.scheduleFlush();
  }

  /** Appends an already encoded message (its xid set) to this turn's write. */
  writeEncoded(bytes: Uint8Array): void {
    this.turn.bytes(bytes);
    this.scheduleFlush();
  }

  /** Writes already encoded messages at once, after what this turn holds so far (the order kept; no copy). */
  writeNow(bytes: Buffer): void {
    this.flush();
    if (this.isDone) return;
    this.gate.noteWrite(bytes.length);
    this.socket.write(bytes);
  }

  private scheduleFlush(): void {
    if (this.isFlushScheduled) return;
    this.isFlushScheduled = true;
    process.nextTick(() => {
      this.isFlushScheduled = false;
      this.flush();
    });
  }

  /** In long batches: lets what is written so far go out now (call after each message, with its index). */
  flushEvery(i: number): void {
    if (i % FLUSH_EVERY === FLUSH_EVERY - 1) this.flush();
  }

  /** Hands this turn's bytes to the socket in one write. */
  private flush(): void {
    if (this.turn.offset === 0 || this.isDone) return;
    const bytes = this.turn.written();
    this.gate.noteWrite(bytes.length);
    this.socket.write(bytes);
    // Nothing left unsent: the kernel took the bytes in the write and the socket holds no reference to them.
    if (this.socket.writableLength === 0 && this.turn.capacity <= MAX_KEPT_TURN_BYTES) this.turn.reset();
    else this.turn = new BufferWriter(TURN_BYTES);
  }

  /** Stops reading and writing; the socket is destroyed. Idempotent. */
  destroy(): void {
    if (this.isDone) return;
    this.isDone = true;
    this.gate.dispose();
    this.socket.destroy();
  }

  private fail(err: PlexusError): void {
    if (this.isDone) return;
    this.on.failed(err);
    this.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.isDone) return;
    this.on.heard();
    let frames: Buffer[];
    try {
      frames = this.framer.push(chunk);
    } catch (err) {
      return this.fail(asPlexusError(err));
    }
    for (const frame of frames) {
      if (this.isDone) return;
      let msg: Decoded;
      try {
        msg = decodeMessage(frame, this.framer.offset);
      } catch (err) {
        return this.fail(asPlexusError(err));
      }
      this.on.message(msg, frame.length);
    }
    if (this.isDone) return;
    // The answers to this chunk leave now, in the turn that read it (a tick scheduled meanwhile finds nothing to send).
    this.flush();
    this.gate.check();
  }
}

export function asPlexusError(err: unknown): PlexusError {
  if (err instanceof PlexusError) return err;
  return new PlexusError(err instanceof Error ? err.message : String(err), { cause: err });
}
