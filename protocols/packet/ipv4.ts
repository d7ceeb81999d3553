/**
 * IPv4 header (RFC 791 §3.1) with options, header checksum and fragmentation fields.
 *
 * ```
 *  0       4       8              16    19                     31
 *  +-------+-------+--------------+------------------------------+
 *  |version|  IHL  |  DSCP  |ECN  |        total length          |
 *  |        identification        |flags|   fragment offset      |
 *  |    TTL        |  protocol    |       header checksum        |
 *  |                      source address                         |
 *  |                   destination address                       |
 *  |                  options (IHL > 5) ...                      |
 *  flags: reserved | DF | MF; fragment offset in 8-byte units
 * ```
 */
import { BufferReader } from '../common/buffer-reader';
import { BufferWriter } from '../common/buffer-writer';
import { EncodeError } from '../common/errors';
import { formatIpv4, parseIpv4 } from './address';
import { computeInternetChecksum } from './checksum';

export const IPV4_MIN_HEADER_LEN = 20;

export interface Ipv4Header {
  /** Differentiated services code point (RFC 2474), 0..63. */
  readonly dscp: number;
  /** Explicit congestion notification (RFC 3168), 0..3. */
  readonly ecn: number;
  readonly identification: number;
  readonly isDontFragment: boolean;
  readonly isMoreFragments: boolean;
  /** Offset of this fragment in the original datagram, in bytes (a multiple of 8). */
  readonly fragmentOffsetBytes: number;
  readonly ttl: number;
  readonly protocol: number;
  readonly src: string;
  readonly dst: string;
  /** Raw option bytes (a multiple of 4 long, may be empty). */
  readonly options: Buffer;
}

export interface Ipv4Packet extends Ipv4Header {
  readonly headerLengthBytes: number;
  readonly totalLengthBytes: number;
  readonly checksum: number;
  readonly isChecksumValid: boolean;
  /** Bytes from the end of the header to `totalLength`; trailing link padding is dropped. */
  readonly payload: Buffer;
}

/** Fields the caller may leave out when encoding, with their defaults. */
export type Ipv4HeaderInit = Pick<Ipv4Header, 'protocol' | 'src' | 'dst'> & Partial<Ipv4Header>;

/** True when the packet is a fragment (not the whole datagram). */
export function isIpv4Fragment(h: Pick<Ipv4Header, 'isMoreFragments' | 'fragmentOffsetBytes'>): boolean {
  return h.isMoreFragments || h.fragmentOffsetBytes !== 0;
}

/**
 * Decodes an IPv4 header. A bad checksum is reported in `isChecksumValid`, not thrown,
 * so callers can count and drop such packets. Throws DecodeError on truncation, a
 * version other than 4, IHL < 5 or a total length that disagrees with the buffer.
 */
export function decodeIpv4(buf: Buffer, base = 0): Ipv4Packet {
  const r = new BufferReader(buf, 0, buf.length, base);
  const vihl = r.u8('IPv4 version/IHL');
  if (vihl >> 4 !== 4) r.fail(`IPv4 version is ${vihl >> 4}`, 0);
  const headerLengthBytes = (vihl & 0x0f) * 4;
  if (headerLengthBytes < IPV4_MIN_HEADER_LEN) r.fail(`IPv4 IHL ${vihl & 0x0f} below 5`, 0);
  const tos = r.u8('IPv4 TOS');
  const totalLengthBytes = r.u16('IPv4 total length');
  const identification = r.u16('IPv4 identification');
  const flagsFrag = r.u16('IPv4 flags/fragment offset');
  const ttl = r.u8('IPv4 TTL');
  const protocol = r.u8('IPv4 protocol');
  const checksum = r.u16('IPv4 checksum');
  const src = formatIpv4(r.bytes(4, 'IPv4 source'));
  const dst = formatIpv4(r.bytes(4, 'IPv4 destination'));
  const options = r.bytes(headerLengthBytes - IPV4_MIN_HEADER_LEN, 'IPv4 options');
  if (totalLengthBytes < headerLengthBytes) {
    r.fail(`IPv4 total length ${totalLengthBytes} below header length ${headerLengthBytes}`, 2);
  }
  if (totalLengthBytes > buf.length) {
    r.fail(`truncated IPv4 packet: total length ${totalLengthBytes}, have ${buf.length}`, 2);
  }
  return {
    dscp: tos >> 2,
    ecn: tos & 0x03,
    identification,
    isDontFragment: (flagsFrag & 0x4000) !== 0,
    isMoreFragments: (flagsFrag & 0x2000) !== 0,
    fragmentOffsetBytes: (flagsFrag & 0x1fff) * 8,
    ttl,
    protocol,
    src,
    dst,
    options,
    headerLengthBytes,
    totalLengthBytes,
    checksum,
    isChecksumValid: computeInternetChecksum(buf.subarray(0, headerLengthBytes)) === 0,
    payload: buf.subarray(headerLengthBytes, totalLengthBytes),
  };
}

/**
 * Encodes header + payload, computing total length and header checksum.
 * Defaults: dscp/ecn 0, identification 0, no flags, offset 0, TTL 64, no options.
 */
export function encodeIpv4(h: Ipv4HeaderInit, payload: Uint8Array): Buffer {
  const options = h.options ?? Buffer.alloc(0);
  if (options.length % 4 !== 0 || options.length > 40) {
    throw new EncodeError(`IPv4 options must be a multiple of 4 bytes up to 40, got ${options.length}`);
  }
  const fragmentOffsetBytes = h.fragmentOffsetBytes ?? 0;
  if (fragmentOffsetBytes % 8 !== 0 || fragmentOffsetBytes / 8 > 0x1fff) {
    throw new EncodeError(`bad IPv4 fragment offset ${fragmentOffsetBytes}`);
  }
  const dscp = h.dscp ?? 0;
  const ecn = h.ecn ?? 0;
  if (dscp > 63 || ecn > 3) throw new EncodeError(`bad IPv4 DSCP ${dscp} / ECN ${ecn}`);
  const headerLengthBytes = IPV4_MIN_HEADER_LEN + options.length;
  const w = new BufferWriter(headerLengthBytes + payload.length);
  w.u8(0x40 | (headerLengthBytes / 4)).u8((dscp << 2) | ecn);
  w.u16(headerLengthBytes + payload.length, 'IPv4 total length');
  w.u16(h.identification ?? 0, 'IPv4 identification');
  w.u16((h.isDontFragment ? 0x4000 : 0) | (h.isMoreFragments ? 0x2000 : 0) | (fragmentOffsetBytes / 8));
  w.u8(h.ttl ?? 64, 'IPv4 TTL').u8(h.protocol, 'IPv4 protocol').u16(0);
  w.bytes(parseIpv4(h.src)).bytes(parseIpv4(h.dst)).bytes(options);
  w.bytes(payload);
  const out = w.finish();
  out.writeUInt16BE(computeInternetChecksum(out.subarray(0, headerLengthBytes)), 10);
  return out;
}
