/**
 * ICMP for IPv4 (RFC 792): echo, and the error messages that quote the offending
 * datagram. Other types keep their 4-byte rest-of-header and body raw.
 *
 * ```
 *  type(8) | code(8) | checksum(16)
 *  rest of header(32): echo → identifier(16) | sequence(16)
 *  data ...
 * ```
 */
import { BufferReader } from '../common/buffer-reader';
import { BufferWriter } from '../common/buffer-writer';
import { computeInternetChecksum } from './checksum';

export const ICMP_TYPE = {
  ECHO_REPLY: 0,
  DESTINATION_UNREACHABLE: 3,
  REDIRECT: 5,
  ECHO_REQUEST: 8,
  TIME_EXCEEDED: 11,
  PARAMETER_PROBLEM: 12,
} as const;

export const ICMP_HEADER_LEN = 8;

/** Echo request or reply (RFC 792 "Echo or Echo Reply Message"). */
export interface IcmpEcho {
  readonly kind: 'echo';
  /** ICMP_TYPE.ECHO_REQUEST or ICMP_TYPE.ECHO_REPLY. */
  readonly type: number;
  readonly code: number;
  readonly identifier: number;
  readonly sequence: number;
  readonly data: Buffer;
}

/** Any other type: the 32-bit rest-of-header (MTU, pointer, gateway...) and the body. */
export interface IcmpOther {
  readonly kind: 'other';
  readonly type: number;
  readonly code: number;
  readonly rest: number;
  /** For error types, the quoted IP header and first bytes of the offending datagram. */
  readonly data: Buffer;
}

export type IcmpMessage = IcmpEcho | IcmpOther;

export type DecodedIcmp = IcmpMessage & { readonly checksum: number; readonly isChecksumValid: boolean };

/** Decodes an ICMP message; throws DecodeError if shorter than the 8-byte header. */
export function decodeIcmp(buf: Buffer, base = 0): DecodedIcmp {
  const r = new BufferReader(buf, 0, buf.length, base);
  const type = r.u8('ICMP type');
  const code = r.u8('ICMP code');
  const checksum = r.u16('ICMP checksum');
  const isChecksumValid = computeInternetChecksum(buf) === 0;
  if (type === ICMP_TYPE.ECHO_REQUEST || type === ICMP_TYPE.ECHO_REPLY) {
    const identifier = r.u16('ICMP echo identifier');
    const sequence = r.u16('ICMP echo sequence');
    return { kind: 'echo', type, code, identifier, sequence, data: r.bytes(r.remaining), checksum, isChecksumValid };
  }
  const rest = r.u32('ICMP rest of header');
  return { kind: 'other', type, code, rest, data: r.bytes(r.remaining), checksum, isChecksumValid };
}

/** Encodes an ICMP message with its checksum. */
export function encodeIcmp(m: IcmpMessage): Buffer {
  const w = new BufferWriter(ICMP_HEADER_LEN + m.data.length);
  w.u8(m.type, 'ICMP type').u8(m.code, 'ICMP code').u16(0);
  if (m.kind === 'echo') w.u16(m.identifier, 'ICMP identifier').u16(m.sequence, 'ICMP sequence');
  else w.u32(m.rest, 'ICMP rest of header');
  w.bytes(m.data);
  const out = w.finish();
  out.writeUInt16BE(computeInternetChecksum(out), 2);
  return out;
}
