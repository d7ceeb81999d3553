/**
 * OpenFlow messages over one socket: inbound chunks are framed (framer.ts) and
 * decoded one message at a time; outbound messages are encoded straight into
 * the socket, which is corked on the first write of an event-loop turn and
 * uncorked on the next tick, so whatever one turn sends (every answer to the
 * packet-ins of one chunk, a burst of flow mods) leaves in one write, not one
 * per message. Nagle is off: a lone message is not held back either.
 *
 * Backpressure is the read gate's (common/read-gate.ts): a peer that does not
 * read what we send stops being read, and is reported once it has read
 * nothing for `stallTimeoutMs`. Bytes we cannot frame or decode, a socket
 * error, the peer closing and a stall all end in one `failed` call.
 */
import type { Socket } from 'node:net';
import { ConnectionError, PlexusError } from '../common/errors';
import { ReadGate } from '../common/read-gate';
import { decodeMessage, encodeMessageWithXid } from './codec';
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

export class MessageSocket {
  private readonly framer = new Framer();
  private readonly gate: ReadGate;
  private isCorked = false;
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
    socket.on('close', () => this.fail(new ConnectionError('peer closed the connection')));
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
    if (!this.isCorked) {
      this.isCorked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.isCorked = false;
        this.socket.uncork();
      });
    }
    const bytes = encodeMessageWithXid(msg, xid);
    this.gate.noteWrite(bytes.length);
    this.socket.write(bytes);
  }

  /** In long batches: lets what is written so far go out now (call after each message, with its index). */
  flushEvery(i: number): void {
    if (i % FLUSH_EVERY === FLUSH_EVERY - 1 && this.isCorked) {
      this.socket.uncork();
      this.socket.cork();
    }
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
    if (!this.isDone) this.gate.check();
  }
}

export function asPlexusError(err: unknown): PlexusError {
  if (err instanceof PlexusError) return err;
  return new PlexusError(err instanceof Error ? err.message : String(err), { cause: err });
}
