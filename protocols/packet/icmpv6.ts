/**
 * ICMPv6 (RFC 4443) echo and the Neighbor Discovery messages the controller answers
 * (RFC 4861 §4.1–§4.4) with their options (§4.6). Other types keep their 32-bit
 * rest-of-header and body raw. The checksum covers the IPv6 pseudo-header (RFC 4443 §2.3),
 * so decoding and encoding take the IPv6 source and destination.
 *
 * ```
 *  type(8) | code(8) | checksum(16)
 *  echo:  identifier(16) | sequence(16) | data
 *  RS:    reserved(32) | options
 *  RA:    cur hop limit(8) | M O reserved(8) | router lifetime(16) | reachable time(32) | retrans timer(32) | options
 *  NS:    reserved(32) | target(128) | options
 *  NA:    R S O reserved(32) | target(128) | options
 *  option: type(8) | length(8, in 8-octet units, includes type and length) | body
 * ```
 */
import { BufferReader } from '../common/buffer-reader';
import { BufferWriter } from '../common/buffer-writer';
import { EncodeError } from '../common/errors';
import { formatIpv6, formatMac, parseIpv6, parseMac } from './address';
import { computeTransportChecksum } from './checksum';
import { IP_PROTO } from './ip-protocol';

export const ICMPV6_TYPE = {
  DESTINATION_UNREACHABLE: 1,
  PACKET_TOO_BIG: 2,
  TIME_EXCEEDED: 3,
  PARAMETER_PROBLEM: 4,
  ECHO_REQUEST: 128,
  ECHO_REPLY: 129,
  ROUTER_SOLICITATION: 133,
  ROUTER_ADVERTISEMENT: 134,
  NEIGHBOR_SOLICITATION: 135,
  NEIGHBOR_ADVERTISEMENT: 136,
  REDIRECT: 137,
} as const;

/** Neighbor Discovery option types (RFC 4861 §4.6). */
export const ND_OPTION = {
  SOURCE_LINK_LAYER_ADDRESS: 1,
  TARGET_LINK_LAYER_ADDRESS: 2,
  PREFIX_INFORMATION: 3,
  REDIRECTED_HEADER: 4,
  MTU: 5,
} as const;

export type NdOption =
  | { readonly type: 'source-link-layer-address'; readonly mac: string }
  | { readonly type: 'target-link-layer-address'; readonly mac: string }
  | {
      readonly type: 'prefix-information';
      readonly prefixLength: number;
      readonly isOnLink: boolean;
      readonly isAutonomous: boolean;
      readonly validLifetimeS: number;
      readonly preferredLifetimeS: number;
      readonly prefix: string;
    }
  | { readonly type: 'mtu'; readonly mtu: number }
  /** Any other option, or a known one of unexpected size: body after the type and length bytes. */
  | { readonly type: 'raw'; readonly code: number; readonly data: Buffer };

export type Icmpv6Message =
  | {
      readonly kind: 'echo';
      /** ICMPV6_TYPE.ECHO_REQUEST or ECHO_REPLY. */
      readonly type: number;
      readonly code: number;
      readonly identifier: number;
      readonly sequence: number;
      readonly data: Buffer;
    }
  | { readonly kind: 'router-solicitation'; readonly code: number; readonly options: readonly NdOption[] }
  | {
      readonly kind: 'router-advertisement';
      readonly code: number;
      readonly curHopLimit: number;
      /** M flag: addresses via DHCPv6. */
      readonly isManaged: boolean;
      /** O flag: other configuration via DHCPv6. */
      readonly isOtherConfig: boolean;
      readonly routerLifetimeS: number;
      readonly reachableTimeMs: number;
      readonly retransTimerMs: number;
      readonly options: readonly NdOption[];
    }
  | {
      readonly kind: 'neighbor-solicitation';
      readonly code: number;
      readonly target: string;
      readonly options: readonly NdOption[];
    }
  | {
      readonly kind: 'neighbor-advertisement';
      readonly code: number;
      readonly isRouter: boolean;
      readonly isSolicited: boolean;
      readonly isOverride: boolean;
      readonly target: string;
      readonly options: readonly NdOption[];
    }
  | { readonly kind: 'other'; readonly type: number; readonly code: number; readonly rest: number; readonly data: Buffer };

export type DecodedIcmpv6 = Icmpv6Message & { readonly checksum: number; readonly isChecksumValid: boolean };

/** The ICMPv6 type number of a message. */
export function getIcmpv6Type(m: Icmpv6Message): number {
  switch (m.kind) {
    case 'echo':
    case 'other':
      return m.type;
    case 'router-solicitation':
      return ICMPV6_TYPE.ROUTER_SOLICITATION;
    case 'router-advertisement':
      return ICMPV6_TYPE.ROUTER_ADVERTISEMENT;
    case 'neighbor-solicitation':
      return ICMPV6_TYPE.NEIGHBOR_SOLICITATION;
    case 'neighbor-advertisement':
      return ICMPV6_TYPE.NEIGHBOR_ADVERTISEMENT;
  }
}

/**
 * Decodes an ICMPv6 message carried between `src` and `dst`. Throws DecodeError on
 * truncation or an ND option of length 0 (RFC 4861 §4.6: such packets must be dropped).
 */
export function decodeIcmpv6(buf: Buffer, src: string, dst: string, base = 0): DecodedIcmpv6 {
  const r = new BufferReader(buf, 0, buf.length, base);
  const type = r.u8('ICMPv6 type');
  const code = r.u8('ICMPv6 code');
  const checksum = r.u16('ICMPv6 checksum');
  const sum = { checksum, isChecksumValid: computeTransportChecksum(src, dst, IP_PROTO.ICMPV6, buf) === 0 };
  switch (type) {
    case ICMPV6_TYPE.ECHO_REQUEST:
    case ICMPV6_TYPE.ECHO_REPLY: {
      const identifier = r.u16('ICMPv6 echo identifier');
      const sequence = r.u16('ICMPv6 echo sequence');
      return { kind: 'echo', type, code, identifier, sequence, data: r.bytes(r.remaining), ...sum };
    }
    case ICMPV6_TYPE.ROUTER_SOLICITATION:
      r.skip(4, 'RS reserved');
      return { kind: 'router-solicitation', code, options: decodeNdOptions(r), ...sum };
    case ICMPV6_TYPE.ROUTER_ADVERTISEMENT: {
      const curHopLimit = r.u8('RA cur hop limit');
      const flags = r.u8('RA flags');
      const routerLifetimeS = r.u16('RA router lifetime');
      const reachableTimeMs = r.u32('RA reachable time');
      const retransTimerMs = r.u32('RA retrans timer');
      return {
        kind: 'router-advertisement',
        code,
        curHopLimit,
        isManaged: (flags & 0x80) !== 0,
        isOtherConfig: (flags & 0x40) !== 0,
        routerLifetimeS,
        reachableTimeMs,
        retransTimerMs,
        options: decodeNdOptions(r),
        ...sum,
      };
    }
    case ICMPV6_TYPE.NEIGHBOR_SOLICITATION: {
      r.skip(4, 'NS reserved');
      const target = formatIpv6(r.bytes(16, 'NS target'));
      return { kind: 'neighbor-solicitation', code, target, options: decodeNdOptions(r), ...sum };
    }
    case ICMPV6_TYPE.NEIGHBOR_ADVERTISEMENT: {
      const flags = r.u32('NA flags');
      const target = formatIpv6(r.bytes(16, 'NA target'));
      return {
        kind: 'neighbor-advertisement',
        code,
        isRouter: (flags & 0x80000000) !== 0,
        isSolicited: (flags & 0x40000000) !== 0,
        isOverride: (flags & 0x20000000) !== 0,
        target,
        options: decodeNdOptions(r),
        ...sum,
      };
    }
    default: {
      const rest = r.u32('ICMPv6 rest of header');
      return { kind: 'other', type, code, rest, data: r.bytes(r.remaining), ...sum };
    }
  }
}

function decodeNdOptions(r: BufferReader): NdOption[] {
  const options: NdOption[] = [];
  while (r.remaining > 0) {
    const at = r.offset;
    const code = r.u8('ND option type');
    const units = r.u8('ND option length');
    if (units === 0) r.fail('ND option with length 0', at + 1);
    const body = r.sub(units * 8 - 2, 'ND option');
    options.push(decodeNdOption(code, body));
  }
  return options;
}

function decodeNdOption(code: number, body: BufferReader): NdOption {
  const size = body.remaining;
  // Link-layer address options are 8 bytes on Ethernet; anything else stays raw.
  if (code === ND_OPTION.SOURCE_LINK_LAYER_ADDRESS && size === 6) {
    return { type: 'source-link-layer-address', mac: formatMac(body.bytes(6)) };
  }
  if (code === ND_OPTION.TARGET_LINK_LAYER_ADDRESS && size === 6) {
    return { type: 'target-link-layer-address', mac: formatMac(body.bytes(6)) };
  }
  if (code === ND_OPTION.PREFIX_INFORMATION && size === 30) {
    const prefixLength = body.u8();
    const flags = body.u8();
    const validLifetimeS = body.u32();
    const preferredLifetimeS = body.u32();
    body.skip(4);
    return {
      type: 'prefix-information',
      prefixLength,
      isOnLink: (flags & 0x80) !== 0,
      isAutonomous: (flags & 0x40) !== 0,
      validLifetimeS,
      preferredLifetimeS,
      prefix: formatIpv6(body.bytes(16)),
    };
  }
  if (code === ND_OPTION.MTU && size === 6) {
    body.skip(2);
    return { type: 'mtu', mtu: body.u32() };
  }
  return { type: 'raw', code, data: body.bytes(size) };
}

function encodeNdOptions(w: BufferWriter, options: readonly NdOption[]): void {
  for (const o of options) {
    switch (o.type) {
      case 'source-link-layer-address':
      case 'target-link-layer-address':
        w.u8(o.type === 'source-link-layer-address' ? 1 : 2).u8(1).bytes(parseMac(o.mac));
        break;
      case 'prefix-information':
        w.u8(ND_OPTION.PREFIX_INFORMATION).u8(4).u8(o.prefixLength, 'prefix length');
        w.u8((o.isOnLink ? 0x80 : 0) | (o.isAutonomous ? 0x40 : 0));
        w.u32(o.validLifetimeS, 'valid lifetime').u32(o.preferredLifetimeS, 'preferred lifetime').u32(0);
        w.bytes(parseIpv6(o.prefix));
        break;
      case 'mtu':
        w.u8(ND_OPTION.MTU).u8(1).u16(0).u32(o.mtu, 'MTU');
        break;
      case 'raw':
        if ((o.data.length + 2) % 8 !== 0 || o.data.length + 2 > 255 * 8) {
          throw new EncodeError(`ND option ${o.code} body of ${o.data.length} bytes does not fill 8-octet units`);
        }
        w.u8(o.code, 'ND option type').u8((o.data.length + 2) / 8).bytes(o.data);
        break;
    }
  }
}

/** Encodes an ICMPv6 message with its pseudo-header checksum for `src` → `dst`. */
export function encodeIcmpv6(m: Icmpv6Message, src: string, dst: string): Buffer {
  const w = new BufferWriter(64);
  w.u8(getIcmpv6Type(m), 'ICMPv6 type').u8(m.code, 'ICMPv6 code').u16(0);
  switch (m.kind) {
    case 'echo':
      w.u16(m.identifier, 'identifier').u16(m.sequence, 'sequence').bytes(m.data);
      break;
    case 'router-solicitation':
      w.u32(0);
      encodeNdOptions(w, m.options);
      break;
    case 'router-advertisement':
      w.u8(m.curHopLimit, 'cur hop limit').u8((m.isManaged ? 0x80 : 0) | (m.isOtherConfig ? 0x40 : 0));
      w.u16(m.routerLifetimeS, 'router lifetime').u32(m.reachableTimeMs, 'reachable time');
      w.u32(m.retransTimerMs, 'retrans timer');
      encodeNdOptions(w, m.options);
      break;
    case 'neighbor-solicitation':
      w.u32(0).bytes(parseIpv6(m.target));
      encodeNdOptions(w, m.options);
      break;
    case 'neighbor-advertisement':
      w.u32(((m.isRouter ? 0x80000000 : 0) | (m.isSolicited ? 0x40000000 : 0) | (m.isOverride ? 0x20000000 : 0)) >>> 0);
      w.bytes(parseIpv6(m.target));
      encodeNdOptions(w, m.options);
      break;
    case 'other':
      w.u32(m.rest, 'rest of header').bytes(m.data);
      break;
  }
  const out = w.finish();
  out.writeUInt16BE(computeTransportChecksum(src, dst, IP_PROTO.ICMPV6, out), 2);
  return out;
}
