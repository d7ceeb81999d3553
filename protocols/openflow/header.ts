import { BufferReader } from '../common/buffer-reader';
import { OFP_HEADER_LEN } from './constants';

/** ofp_header (OpenFlow 1.3.5 §7.1): version, type, length, xid. */
export interface OfpHeader {
  readonly version: number;
  readonly type: number;
  readonly length: number;
  readonly xid: number;
}

export function decodeHeader(r: BufferReader): OfpHeader {
  const version = r.u8('header version');
  const type = r.u8('header type');
  const length = r.u16('header length');
  const xid = r.u32('header xid');
  if (length < OFP_HEADER_LEN) r.fail(`message length ${length} shorter than the header`, r.offset - 6);
  return { version, type, length, xid };
}

/** Reads just the length field of a header at `offset` (framing needs only that). */
export function peekLength(buf: Buffer, offset = 0): number {
  return buf.readUInt16BE(offset + 2);
}
