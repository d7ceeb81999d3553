import { DecodeError } from '../common/errors';
import { OFP_HEADER_LEN } from './constants';
import { peekLength } from './header';

/** Read once: the loop below runs for every message. */
const HEADER_LEN = OFP_HEADER_LEN;
const EMPTY = Buffer.alloc(0);

/**
 * Splits a TCP byte stream into whole OpenFlow messages. Handles a message split
 * across many chunks and many messages in one chunk. A length field shorter than
 * the header is unrecoverable (the stream has lost sync): it throws DecodeError
 * and the caller must drop the connection.
 */
export class Framer {
  private pending: Buffer = EMPTY;
  /** Bytes consumed so far, so errors carry stream offsets. */
  private consumed = 0;

  /**
   * Feeds a chunk, which the framer then owns; returns every message it
   * completes. A chunk that is exactly one message (the usual read of a
   * packet-in or a reply) is returned as it is; any other message is a fresh
   * Buffer, so a message kept for long never pins a larger chunk.
   */
  push(chunk: Buffer): Buffer[] {
    if (this.pending.length === 0 && chunk.length >= HEADER_LEN && peekLength(chunk, 0) === chunk.length) {
      this.consumed += chunk.length;
      return [chunk];
    }
    const buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const out: Buffer[] = [];
    let at = 0;
    while (buf.length - at >= HEADER_LEN) {
      const length = peekLength(buf, at);
      if (length < HEADER_LEN) {
        throw new DecodeError(`message length ${length} shorter than the header`, this.consumed + at + 2);
      }
      if (buf.length - at < length) break;
      out.push(Buffer.from(buf.subarray(at, at + length)));
      at += length;
    }
    this.consumed += at;
    this.pending = at === buf.length ? EMPTY : Buffer.from(buf.subarray(at));
    return out;
  }

  /** Stream offset of the next message's first byte. */
  get offset(): number {
    return this.consumed;
  }

  get bufferedBytes(): number {
    return this.pending.length;
  }
}
