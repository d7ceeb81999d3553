import { DecodeError } from './errors';

/**
 * Cursor over a byte buffer. Every read checks bounds and throws {@link DecodeError}
 * with the absolute offset of the failure, so a truncated or lying peer can never
 * cause a RangeError or read past its own message.
 */
export class BufferReader {
  private pos: number;

  /**
   * @param buf   the bytes
   * @param start first byte this reader may read
   * @param end   one past the last byte this reader may read (default: buf.length)
   * @param base  absolute offset of `buf[0]` in the enclosing stream, for error messages
   */
  constructor(
    readonly buf: Buffer,
    start = 0,
    readonly end = buf.length,
    private readonly base = 0,
  ) {
    if (end > buf.length || start > end) throw new DecodeError('reader window out of range', base + start);
    this.pos = start;
  }

  get offset(): number {
    return this.pos;
  }

  /** Absolute position, for error messages. */
  get absoluteOffset(): number {
    return this.base + this.pos;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  fail(message: string, at = this.pos): never {
    throw new DecodeError(message, this.base + at);
  }

  private need(n: number, what: string): number {
    if (n < 0 || this.pos + n > this.end) {
      this.fail(`truncated ${what}: need ${n} bytes, have ${this.end - this.pos}`);
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u8(what = 'u8'): number {
    return this.buf.readUInt8(this.need(1, what));
  }
  u16(what = 'u16'): number {
    return this.buf.readUInt16BE(this.need(2, what));
  }
  u32(what = 'u32'): number {
    return this.buf.readUInt32BE(this.need(4, what));
  }
  u64(what = 'u64'): bigint {
    return this.buf.readBigUInt64BE(this.need(8, what));
  }
  bytes(n: number, what = 'bytes'): Buffer {
    const at = this.need(n, what);
    return this.buf.subarray(at, at + n);
  }
  skip(n: number, what = 'padding'): void {
    this.need(n, what);
  }
  /** Fixed-size NUL-padded string (e.g. OFP_MAX_PORT_NAME_LEN). */
  cstring(n: number, what = 'string'): string {
    const raw = this.bytes(n, what);
    const nul = raw.indexOf(0);
    return raw.subarray(0, nul === -1 ? raw.length : nul).toString('latin1');
  }

  /**
   * A sub-reader over the next `n` bytes; this reader moves past them.
   * Used for length-prefixed structures so that a bad inner length cannot
   * escape its container.
   */
  sub(n: number, what = 'structure'): BufferReader {
    const at = this.need(n, what);
    return new BufferReader(this.buf, at, at + n, this.base);
  }
}
