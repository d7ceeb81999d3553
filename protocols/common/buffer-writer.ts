import { EncodeError } from './errors';

/**
 * Growable big-endian byte writer. Encoders write forward and patch length
 * fields afterwards with {@link BufferWriter.patchU16} / {@link BufferWriter.patchU32}.
 */
export class BufferWriter {
  private buf: Buffer;
  /** Over `buf`: setBigUint64 writes a bigint without the two bigints a split into 32-bit halves makes. */
  private view: DataView;
  private pos = 0;

  constructor(initialSize = 256) {
    this.buf = Buffer.allocUnsafe(initialSize);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
  }

  get offset(): number {
    return this.pos;
  }

  /** Starts over at offset 0, keeping the buffer (a scratch writer reused for many small encodings). */
  reset(): this {
    this.pos = 0;
    return this;
  }

  /** Drops what was written after `offset` (an encoding that failed half-way). */
  rewind(offset: number): this {
    if (offset < this.pos) this.pos = Math.max(0, offset);
    return this;
  }

  /** Bytes the writer holds room for (to replace one that grew large once). */
  get capacity(): number {
    return this.buf.length;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
    this.view = new DataView(grown.buffer, grown.byteOffset, grown.length);
  }

  private check(value: number, max: number, what: string): void {
    if (!Number.isInteger(value) || value < 0 || value > max) {
      throw new EncodeError(`${what} out of range: ${value}`);
    }
  }

  u8(value: number, what = 'u8'): this {
    this.check(value, 0xff, what);
    this.ensure(1);
    this.buf[this.pos++] = value;
    return this;
  }
  // The stores below are plain byte writes (a Uint8Array keeps the low 8 bits of
  // each): the value is checked once here, where Buffer's own writeUInt*BE would
  // check it again. Encoders of many small messages spend much of their time here.
  u16(value: number, what = 'u16'): this {
    this.check(value, 0xffff, what);
    this.ensure(2);
    this.store16(this.pos, value);
    this.pos += 2;
    return this;
  }
  u32(value: number, what = 'u32'): this {
    this.check(value, 0xffffffff, what);
    this.ensure(4);
    this.store32(this.pos, value);
    this.pos += 4;
    return this;
  }
  u64(value: bigint, what = 'u64'): this {
    if (typeof value !== 'bigint' || value < 0n || value > 0xffffffffffffffffn) {
      throw new EncodeError(`${what} out of range: ${String(value)}`);
    }
    this.ensure(8);
    this.view.setBigUint64(this.pos, value);
    this.pos += 8;
    return this;
  }
  private store16(at: number, value: number): void {
    this.buf[at] = value >>> 8;
    this.buf[at + 1] = value;
  }
  private store32(at: number, value: number): void {
    const b = this.buf;
    b[at] = value >>> 24;
    b[at + 1] = value >>> 16;
    b[at + 2] = value >>> 8;
    b[at + 3] = value;
  }
  bytes(data: Uint8Array): this {
    this.ensure(data.length);
    this.buf.set(data, this.pos);
    this.pos += data.length;
    return this;
  }
  zeros(n: number): this {
    this.ensure(n);
    // Padding is a few bytes: a loop beats fill()'s argument handling.
    if (n <= 16) for (let i = 0; i < n; i++) this.buf[this.pos + i] = 0;
    else this.buf.fill(0, this.pos, this.pos + n);
    this.pos += n;
    return this;
  }
  /** Fixed-size NUL-padded string; longer input is an error, not a silent cut. */
  cstring(value: string, size: number, what = 'string'): this {
    const raw = Buffer.from(value, 'latin1');
    if (raw.length >= size) throw new EncodeError(`${what} longer than ${size - 1} bytes: ${value}`);
    this.bytes(raw);
    return this.zeros(size - raw.length);
  }
  /** Pad with zeros to a multiple of `align` bytes, counted from `from`. */
  padTo(align: number, from = 0): this {
    const rem = (this.pos - from) % align;
    return rem === 0 ? this : this.zeros(align - rem);
  }
  patchU8(at: number, value: number, what = 'u8'): void {
    this.check(value, 0xff, what);
    this.buf[at] = value;
  }
  patchU16(at: number, value: number, what = 'length'): void {
    this.check(value, 0xffff, what);
    if (!Number.isInteger(at) || at < 0 || at + 2 > this.buf.length) throw new RangeError(`patch offset ${at} out of range`);
    this.store16(at, value);
  }
  patchU32(at: number, value: number, what = 'length'): void {
    this.check(value, 0xffffffff, what);
    if (!Number.isInteger(at) || at < 0 || at + 4 > this.buf.length) throw new RangeError(`patch offset ${at} out of range`);
    this.store32(at, value);
  }
  /** The bytes written so far (a copy owned by the caller). */
  finish(): Buffer {
    const out = Buffer.allocUnsafe(this.pos);
    out.set(this.buf.subarray(0, this.pos));
    return out;
  }
  /** The bytes written so far, not copied: valid until the next write, reset or rewind. */
  written(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}
