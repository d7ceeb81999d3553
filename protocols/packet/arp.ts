/**
 * ARP for IPv4 over Ethernet (RFC 826).
 *
 * ```
 *  htype(16)=1 | ptype(16)=0x0800 | hlen(8)=6 | plen(8)=4 | op(16)
 *  sha(48) | spa(32) | tha(48) | tpa(32)
 * ```
 */
import { BufferReader } from '../common/buffer-reader';
import { BufferWriter } from '../common/buffer-writer';
import { formatIpv4, formatMac, parseIpv4, parseMac } from './address';
import { ETHER_TYPE } from './ethernet';

export const ARP_OP = { REQUEST: 1, REPLY: 2 } as const;
export const ARP_HTYPE_ETHERNET = 1;
export const ARP_LEN = 28;

export interface ArpPacket {
  readonly op: number;
  readonly senderMac: string;
  readonly senderIp: string;
  readonly targetMac: string;
  readonly targetIp: string;
}

/**
 * Decodes an Ethernet/IPv4 ARP packet. Returns undefined for ARP of another hardware or
 * protocol type (kept raw by the caller); throws DecodeError when truncated.
 * Bytes after the 28-byte body (Ethernet padding) are ignored.
 */
export function decodeArp(buf: Buffer, base = 0): ArpPacket | undefined {
  const r = new BufferReader(buf, 0, buf.length, base);
  const htype = r.u16('ARP hardware type');
  const ptype = r.u16('ARP protocol type');
  const hlen = r.u8('ARP hardware length');
  const plen = r.u8('ARP protocol length');
  if (htype !== ARP_HTYPE_ETHERNET || ptype !== ETHER_TYPE.IPV4 || hlen !== 6 || plen !== 4) return undefined;
  const op = r.u16('ARP op');
  const senderMac = formatMac(r.bytes(6, 'ARP sender MAC'));
  const senderIp = formatIpv4(r.bytes(4, 'ARP sender IP'));
  const targetMac = formatMac(r.bytes(6, 'ARP target MAC'));
  const targetIp = formatIpv4(r.bytes(4, 'ARP target IP'));
  return { op, senderMac, senderIp, targetMac, targetIp };
}

export function encodeArp(p: ArpPacket): Buffer {
  const w = new BufferWriter(ARP_LEN);
  w.u16(ARP_HTYPE_ETHERNET).u16(ETHER_TYPE.IPV4).u8(6).u8(4).u16(p.op, 'ARP op');
  w.bytes(parseMac(p.senderMac)).bytes(parseIpv4(p.senderIp));
  w.bytes(parseMac(p.targetMac)).bytes(parseIpv4(p.targetIp));
  return w.finish();
}
