/**
 * IPv6 fixed header (RFC 8200 §3) and the walk over extension headers (RFC 8200 §4)
 * to the upper-layer protocol.
 *
 * ```
 *  version(4)=6 | traffic class(8) | flow label(20)
 *  payload length(16) | next header(8) | hop limit(8)
 *  source address(128)
 *  destination address(128)
 * ```
 */
import { BufferReader } from '../common/buffer-reader';
import { BufferWriter } from '../common/buffer-writer';
import { EncodeError } from '../common/errors';
import { formatIpv6, parseIpv6 } from './address';
import { IP_PROTO } from './ip-protocol';

export const IPV6_HEADER_LEN = 40;

export interface Ipv6Header {
  readonly trafficClass: number;
  /** 20 bits. */
  readonly flowLabel: number;
  /** Next header of the fixed header (the first extension header, or the upper layer). */
  readonly nextHeader: number;
  readonly hopLimit: number;
  readonly src: string;
  readonly dst: string;
}

/** An extension header passed over on the way to the upper layer. */
export interface Ipv6ExtensionHeader {
  /** The next-header value that introduced it (0, 43, 44, 51, 60, ...). */
  readonly type: number;
  /** The whole extension header, next-header byte included. */
  readonly data: Buffer;
}

/** Contents of a Fragment header (RFC 8200 §4.5). */
export interface Ipv6Fragment {
  readonly offsetBytes: number;
  readonly isMoreFragments: boolean;
  readonly identification: number;
}

export interface Ipv6Packet extends Ipv6Header {
  readonly payloadLengthBytes: number;
  readonly extensions: readonly Ipv6ExtensionHeader[];
  /** Upper-layer protocol after the extension headers (59 = no next header, 50 = ESP). */
  readonly protocol: number;
  readonly fragment?: Ipv6Fragment;
  /** Upper-layer bytes; trailing link padding is dropped. */
  readonly payload: Buffer;
  /** Offset of `payload` from the start of the IPv6 header. */
  readonly payloadOffset: number;
}

export type Ipv6HeaderInit = Pick<Ipv6Header, 'nextHeader' | 'src' | 'dst'> & Partial<Ipv6Header>;

/** Extension headers that share the (next header, length in 8-octet units - 1) layout. */
const GENERIC_EXTENSIONS: ReadonlySet<number> = new Set([
  IP_PROTO.HOPOPT,
  IP_PROTO.IPV6_ROUTE,
  IP_PROTO.IPV6_OPTS,
  IP_PROTO.MOBILITY,
  IP_PROTO.HIP,
  IP_PROTO.SHIM6,
  253, // RFC 3692 experimentation
  254,
]);

/**
 * Decodes the fixed header and walks extension headers to the upper layer. ESP stops
 * the walk (its contents are encrypted). Throws DecodeError on truncation, a version
 * other than 6, or a payload length or extension length beyond the buffer.
 */
export function decodeIpv6(buf: Buffer, base = 0): Ipv6Packet {
  const r = new BufferReader(buf, 0, buf.length, base);
  const word = r.u32('IPv6 version/class/label');
  if (word >>> 28 !== 6) r.fail(`IPv6 version is ${word >>> 28}`, 0);
  const payloadLengthBytes = r.u16('IPv6 payload length');
  const nextHeader = r.u8('IPv6 next header');
  const hopLimit = r.u8('IPv6 hop limit');
  const src = formatIpv6(r.bytes(16, 'IPv6 source'));
  const dst = formatIpv6(r.bytes(16, 'IPv6 destination'));
  if (IPV6_HEADER_LEN + payloadLengthBytes > buf.length) {
    r.fail(`truncated IPv6 packet: payload length ${payloadLengthBytes}, have ${buf.length - IPV6_HEADER_LEN}`, 4);
  }
  // Walk within the payload only, so a lying extension length cannot reach link padding.
  const p = new BufferReader(buf, IPV6_HEADER_LEN, IPV6_HEADER_LEN + payloadLengthBytes, base);
  const extensions: Ipv6ExtensionHeader[] = [];
  let fragment: Ipv6Fragment | undefined;
  let protocol = nextHeader;
  for (;;) {
    const start = p.offset;
    let lengthBytes: number;
    if (GENERIC_EXTENSIONS.has(protocol)) {
      p.skip(1, 'IPv6 extension next header');
      lengthBytes = (p.u8('IPv6 extension length') + 1) * 8;
    } else if (protocol === IP_PROTO.AH) {
      // RFC 4302 §2.2: length in 4-octet units minus 2.
      p.skip(1, 'AH next header');
      lengthBytes = (p.u8('AH length') + 2) * 4;
    } else if (protocol === IP_PROTO.IPV6_FRAG) {
      p.skip(2, 'fragment header');
      const offsetFlags = p.u16('fragment offset');
      const identification = p.u32('fragment identification');
      fragment = { offsetBytes: offsetFlags & 0xfff8, isMoreFragments: (offsetFlags & 1) !== 0, identification };
      lengthBytes = 8;
    } else {
      break;
    }
    const next = buf[start] as number;
    p.skip(lengthBytes - (p.offset - start), 'IPv6 extension header');
    extensions.push({ type: protocol, data: buf.subarray(start, start + lengthBytes) });
    protocol = next;
    // A non-first fragment carries no upper-layer header; stop here.
    if (fragment !== undefined && fragment.offsetBytes !== 0) break;
  }
  return {
    trafficClass: (word >>> 20) & 0xff,
    flowLabel: word & 0xfffff,
    nextHeader,
    hopLimit,
    src,
    dst,
    payloadLengthBytes,
    extensions,
    protocol,
    ...(fragment ? { fragment } : {}),
    payload: buf.subarray(p.offset, IPV6_HEADER_LEN + payloadLengthBytes),
    payloadOffset: p.offset,
  };
}

/** True when the packet carries a fragment of a larger datagram. */
export function isIpv6Fragment(p: Pick<Ipv6Packet, 'fragment'>): boolean {
  return p.fragment !== undefined && (p.fragment.isMoreFragments || p.fragment.offsetBytes !== 0);
}

/**
 * Encodes the fixed header followed by `payload` (which may begin with extension
 * headers the caller built). Defaults: traffic class 0, flow label 0, hop limit 64.
 */
export function encodeIpv6(h: Ipv6HeaderInit, payload: Uint8Array): Buffer {
  const trafficClass = h.trafficClass ?? 0;
  const flowLabel = h.flowLabel ?? 0;
  if (trafficClass > 0xff || flowLabel > 0xfffff || flowLabel < 0) {
    throw new EncodeError(`bad IPv6 traffic class ${trafficClass} / flow label ${flowLabel}`);
  }
  const w = new BufferWriter(IPV6_HEADER_LEN + payload.length);
  w.u32(((6 << 28) | (trafficClass << 20) | flowLabel) >>> 0);
  w.u16(payload.length, 'IPv6 payload length').u8(h.nextHeader, 'IPv6 next header').u8(h.hopLimit ?? 64, 'hop limit');
  w.bytes(parseIpv6(h.src)).bytes(parseIpv6(h.dst)).bytes(payload);
  return w.finish();
}
