/**
 * The Internet checksum (RFC 1071) and the IPv4/IPv6 pseudo-headers that TCP, UDP
 * (RFC 768, RFC 8200 §8.1) and ICMPv6 (RFC 4443 §2.3) fold into theirs.
 */
import { isIpv6Text, parseIpv4, parseIpv6 } from './address';

/**
 * One's-complement sum of the given byte strings as if concatenated, folded to 16 bits
 * and complemented. Summing a packet that already holds its checksum yields 0 when
 * the checksum is right.
 */
export function computeInternetChecksum(...parts: readonly Uint8Array[]): number {
  let sum = 0;
  let odd = -1; // a byte left over from the previous part, still waiting for its partner
  for (const part of parts) {
    let i = 0;
    if (odd >= 0 && part.length > 0) {
      sum += (odd << 8) | (part[0] as number);
      odd = -1;
      i = 1;
    }
    for (; i + 1 < part.length; i += 2) sum += ((part[i] as number) << 8) | (part[i + 1] as number);
    if (i < part.length) odd = part[i] as number;
    // Fold before the sum can lose precision on very large inputs.
    if (sum > 0x7fffffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  }
  if (odd >= 0) sum += odd << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

/**
 * Pseudo-header for an upper-layer checksum. The family follows the address text:
 * IPv4 (RFC 768: src, dst, zero, protocol, length16) or IPv6 (RFC 8200 §8.1: src, dst,
 * length32, 3 zero bytes, next header).
 */
export function encodePseudoHeader(src: string, dst: string, protocol: number, lengthBytes: number): Buffer {
  if (isIpv6Text(src)) {
    const out = Buffer.alloc(40);
    parseIpv6(src).copy(out, 0);
    parseIpv6(dst).copy(out, 16);
    out.writeUInt32BE(lengthBytes, 32);
    out[39] = protocol;
    return out;
  }
  const out = Buffer.alloc(12);
  parseIpv4(src).copy(out, 0);
  parseIpv4(dst).copy(out, 4);
  out[9] = protocol;
  out.writeUInt16BE(lengthBytes & 0xffff, 10);
  return out;
}

/** Checksum of an upper-layer segment (with its checksum field zeroed, or present for verifying). */
export function computeTransportChecksum(src: string, dst: string, protocol: number, segment: Uint8Array): number {
  return computeInternetChecksum(encodePseudoHeader(src, dst, protocol, segment.length), segment);
}
