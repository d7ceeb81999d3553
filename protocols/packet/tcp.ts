/**
 * The part of a TCP header (RFC 9293 §3.1) the controller looks at: ports, sequence
 * numbers and flags. Options and payload are not interpreted.
 *
 * ```
 *  source port(16) | destination port(16) | sequence(32) | acknowledgment(32)
 *  data offset(4) | reserved(3) | flags(9: NS CWR ECE URG ACK PSH RST SYN FIN) | window(16)
 *  checksum(16) | urgent pointer(16) | options ...
 * ```
 */
import { BufferReader } from '../common/buffer-reader';

export const TCP_FLAG = {
  FIN: 0x001,
  SYN: 0x002,
  RST: 0x004,
  PSH: 0x008,
  ACK: 0x010,
  URG: 0x020,
  ECE: 0x040,
  CWR: 0x080,
  NS: 0x100,
} as const;

export const TCP_MIN_HEADER_LEN = 20;

export interface TcpSegment {
  readonly srcPort: number;
  readonly dstPort: number;
  readonly sequence: number;
  readonly acknowledgment: number;
  readonly headerLengthBytes: number;
  /** Bit set of TCP_FLAG values. */
  readonly flags: number;
  readonly window: number;
  readonly checksum: number;
}

/** Decodes the fixed TCP header. Throws DecodeError on truncation or a data offset below 5. */
export function decodeTcp(buf: Buffer, base = 0): TcpSegment {
  const r = new BufferReader(buf, 0, buf.length, base);
  const srcPort = r.u16('TCP source port');
  const dstPort = r.u16('TCP destination port');
  const sequence = r.u32('TCP sequence');
  const acknowledgment = r.u32('TCP acknowledgment');
  const offsetFlags = r.u16('TCP data offset/flags');
  const window = r.u16('TCP window');
  const checksum = r.u16('TCP checksum');
  r.skip(2, 'TCP urgent pointer');
  const headerLengthBytes = (offsetFlags >> 12) * 4;
  if (headerLengthBytes < TCP_MIN_HEADER_LEN) r.fail(`TCP data offset ${offsetFlags >> 12} below 5`, 12);
  if (headerLengthBytes > buf.length) r.fail(`truncated TCP header: ${headerLengthBytes} bytes`, 12);
  return { srcPort, dstPort, sequence, acknowledgment, headerLengthBytes, flags: offsetFlags & 0x1ff, window, checksum };
}
