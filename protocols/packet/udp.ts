/**
 * UDP (RFC 768) with the IPv4 / IPv6 (RFC 8200 §8.1) pseudo-header checksum.
 *
 * ```
 *  source port(16) | destination port(16) | length(16) | checksum(16) | data
 * ```
 */
import { BufferReader } from '../common/buffer-reader';
import { BufferWriter } from '../common/buffer-writer';
import { isIpv6Text } from './address';
import { computeTransportChecksum } from './checksum';
import { IP_PROTO } from './ip-protocol';

export const UDP_HEADER_LEN = 8;

export interface UdpHeader {
  readonly srcPort: number;
  readonly dstPort: number;
}

export interface UdpDatagram extends UdpHeader {
  readonly lengthBytes: number;
  readonly checksum: number;
  /**
   * True when the checksum is right, or absent (0) over IPv4 where that is allowed.
   * Over IPv6 a zero checksum is invalid (RFC 8200 §8.1).
   */
  readonly isChecksumValid: boolean;
  /** Bytes up to the UDP length; anything after it in the IP payload is ignored. */
  readonly payload: Buffer;
}

/**
 * Decodes a UDP datagram sent from `src` to `dst`. Throws DecodeError when shorter than
 * 8 bytes or when the length field is below 8 or beyond the buffer.
 */
export function decodeUdp(buf: Buffer, src: string, dst: string, base = 0): UdpDatagram {
  const r = new BufferReader(buf, 0, buf.length, base);
  const srcPort = r.u16('UDP source port');
  const dstPort = r.u16('UDP destination port');
  const lengthBytes = r.u16('UDP length');
  const checksum = r.u16('UDP checksum');
  if (lengthBytes < UDP_HEADER_LEN) r.fail(`UDP length ${lengthBytes} below 8`, 4);
  if (lengthBytes > buf.length) r.fail(`truncated UDP datagram: length ${lengthBytes}, have ${buf.length}`, 4);
  const datagram = buf.subarray(0, lengthBytes);
  const isChecksumValid =
    checksum === 0 ? !isIpv6Text(src) : computeTransportChecksum(src, dst, IP_PROTO.UDP, datagram) === 0;
  return { srcPort, dstPort, lengthBytes, checksum, isChecksumValid, payload: buf.subarray(UDP_HEADER_LEN, lengthBytes) };
}

/** Encodes a UDP datagram from `src` to `dst` with its checksum (never 0: 0 is sent as 0xffff). */
export function encodeUdp(h: UdpHeader, payload: Uint8Array, src: string, dst: string): Buffer {
  const w = new BufferWriter(UDP_HEADER_LEN + payload.length);
  w.u16(h.srcPort, 'UDP source port').u16(h.dstPort, 'UDP destination port');
  w.u16(UDP_HEADER_LEN + payload.length, 'UDP length').u16(0).bytes(payload);
  const out = w.finish();
  out.writeUInt16BE(computeTransportChecksum(src, dst, IP_PROTO.UDP, out) || 0xffff, 6);
  return out;
}
