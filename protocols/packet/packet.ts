/**
 * Whole-frame decoding for packet-ins, and the builders for the replies and probes the
 * controller sends: ARP replies and requests, Neighbor Advertisements and Solicitations,
 * DHCPv4 OFFER/ACK/NAK, ICMP/ICMPv6 echo, plain UDP.
 *
 * Decoding is layered: Ethernet (+ VLAN tags) → ARP | IPv4 | IPv6 → ICMP | ICMPv6 |
 * UDP | TCP → DHCP (UDP between ports 67/68 over IPv4). Unknown EtherTypes and
 * protocols, and IP fragments, stop the walk with the rest kept raw in `payload`.
 * Decoded byte fields are views into the input buffer, not copies.
 */
import { EncodeError } from '../common/errors';
import { formatIpv6, formatMac, isIpv6Text, parseIpv6 } from './address';
import { ARP_OP, type ArpPacket, decodeArp, encodeArp } from './arp';
import {
  BOOTP_OP,
  DHCP_CLIENT_PORT,
  DHCP_MESSAGE_TYPE,
  DHCP_SERVER_PORT,
  type DhcpMessage,
  type DhcpOption,
  decodeDhcp,
  encodeDhcp,
  getDhcpMessageType,
} from './dhcp';
import {
  BROADCAST_MAC,
  ETHER_TYPE,
  type EthernetHeader,
  type VlanTag,
  decodeEthernet,
  encodeEthernet,
} from './ethernet';
import { type DecodedIcmp, ICMP_TYPE, decodeIcmp, encodeIcmp } from './icmp';
import { type DecodedIcmpv6, ICMPV6_TYPE, type Icmpv6Message, decodeIcmpv6, encodeIcmpv6 } from './icmpv6';
import { IP_PROTO } from './ip-protocol';
import { type Ipv4Packet, decodeIpv4, encodeIpv4, isIpv4Fragment } from './ipv4';
import { type Ipv6Packet, decodeIpv6, encodeIpv6, isIpv6Fragment } from './ipv6';
import { type TcpSegment, decodeTcp } from './tcp';
import { type UdpDatagram, decodeUdp, encodeUdp } from './udp';

export interface DecodedPacket {
  readonly eth: EthernetHeader;
  /** VLAN tags outermost first; absent when untagged. */
  readonly vlan?: readonly VlanTag[];
  readonly arp?: ArpPacket;
  readonly ipv4?: Ipv4Packet;
  readonly ipv6?: Ipv6Packet;
  readonly icmp?: DecodedIcmp;
  readonly icmpv6?: DecodedIcmpv6;
  readonly udp?: UdpDatagram;
  readonly tcp?: TcpSegment;
  readonly dhcp?: DhcpMessage;
  /**
   * Bytes after the innermost decoded header when nothing further was decoded: the
   * payload of an unknown EtherType or IP protocol, of a fragment, of a TCP segment,
   * or of a UDP datagram that is not DHCP.
   */
  readonly payload?: Buffer;
}

/** IPv4 limited broadcast. */
const IPV4_BROADCAST = '255.255.255.255';
const IPV4_ANY = '0.0.0.0';
const IPV6_ALL_NODES = 'ff02::1';
/** Hop limit required on every Neighbor Discovery message (RFC 4861 §7.1). */
const ND_HOP_LIMIT = 255;
const DEFAULT_TTL = 64;

/**
 * Decodes a whole Ethernet frame. Throws only DecodeError (with the byte offset in the
 * frame) for truncated or self-contradictory headers.
 */
export function decodePacket(buf: Buffer): DecodedPacket {
  const frame = decodeEthernet(buf);
  const l2 = { eth: frame.eth, ...(frame.vlan.length > 0 ? { vlan: frame.vlan } : {}) };
  const at = frame.payloadOffset;
  switch (frame.eth.etherType) {
    case ETHER_TYPE.ARP: {
      const arp = decodeArp(frame.payload, at);
      return arp ? { ...l2, arp } : { ...l2, payload: frame.payload };
    }
    case ETHER_TYPE.IPV4: {
      const ipv4 = decodeIpv4(frame.payload, at);
      if (isIpv4Fragment(ipv4)) return { ...l2, ipv4, payload: ipv4.payload };
      const upper = decodeUpper(ipv4.protocol, ipv4.payload, ipv4.src, ipv4.dst, at + ipv4.headerLengthBytes, false);
      return { ...l2, ipv4, ...upper };
    }
    case ETHER_TYPE.IPV6: {
      const ipv6 = decodeIpv6(frame.payload, at);
      if (isIpv6Fragment(ipv6)) return { ...l2, ipv6, payload: ipv6.payload };
      const upper = decodeUpper(ipv6.protocol, ipv6.payload, ipv6.src, ipv6.dst, at + ipv6.payloadOffset, true);
      return { ...l2, ipv6, ...upper };
    }
    default:
      return { ...l2, payload: frame.payload };
  }
}

type UpperLayers = Pick<DecodedPacket, 'icmp' | 'icmpv6' | 'udp' | 'tcp' | 'dhcp' | 'payload'>;

function decodeUpper(
  protocol: number,
  buf: Buffer,
  src: string,
  dst: string,
  at: number,
  isIpv6: boolean,
): UpperLayers {
  if (protocol === IP_PROTO.ICMP && !isIpv6) return { icmp: decodeIcmp(buf, at) };
  if (protocol === IP_PROTO.ICMPV6 && isIpv6) return { icmpv6: decodeIcmpv6(buf, src, dst, at) };
  if (protocol === IP_PROTO.TCP) {
    const tcp = decodeTcp(buf, at);
    return { tcp, payload: buf.subarray(tcp.headerLengthBytes) };
  }
  if (protocol === IP_PROTO.UDP) {
    const udp = decodeUdp(buf, src, dst, at);
    if (!isIpv6 && isDhcpPort(udp.srcPort) && isDhcpPort(udp.dstPort)) {
      return { udp, dhcp: decodeDhcp(udp.payload, at + 8) };
    }
    return { udp, payload: udp.payload };
  }
  return { payload: buf };
}

function isDhcpPort(port: number): boolean {
  return port === DHCP_SERVER_PORT || port === DHCP_CLIENT_PORT;
}

/** 33:33 + low 32 bits of an IPv6 multicast address (RFC 2464 §7). */
export function getIpv6MulticastMac(address: string): string {
  const b = parseIpv6(address);
  return formatMac(Buffer.from([0x33, 0x33, b[12] as number, b[13] as number, b[14] as number, b[15] as number]));
}

/** Solicited-node multicast address ff02::1:ffXX:XXXX of `address` (RFC 4291 §2.7.1). */
export function getSolicitedNodeAddress(address: string): string {
  const b = parseIpv6(address);
  const out = parseIpv6('ff02::1:ff00:0');
  b.copy(out, 13, 13, 16);
  return formatIpv6(out);
}

// ---------------------------------------------------------------------------
// ARP

/**
 * ARP reply to `request` (RFC 826 "Packet Reception"): `mac` answers for the requested
 * target IP. The reply goes to the requester's MAC on the same VLAN tags.
 */
export function buildArpReply(request: DecodedPacket, mac: string): Buffer {
  const arp = request.arp;
  if (arp === undefined || arp.op !== ARP_OP.REQUEST) throw new EncodeError('buildArpReply needs an ARP request');
  const reply = encodeArp({
    op: ARP_OP.REPLY,
    senderMac: mac,
    senderIp: arp.targetIp,
    targetMac: arp.senderMac,
    targetIp: arp.senderIp,
  });
  return encodeEthernet({ dst: arp.senderMac, src: mac, etherType: ETHER_TYPE.ARP }, reply, request.vlan);
}

export interface ArpRequestFields {
  readonly srcMac: string;
  readonly srcIp: string;
  readonly targetIp: string;
  readonly vlan?: readonly VlanTag[];
}

/** Broadcast ARP request for `targetIp` (a probe; srcIp 0.0.0.0 makes it an RFC 5227 probe). */
export function buildArpRequest(f: ArpRequestFields): Buffer {
  const body = encodeArp({
    op: ARP_OP.REQUEST,
    senderMac: f.srcMac,
    senderIp: f.srcIp,
    targetMac: '00:00:00:00:00:00',
    targetIp: f.targetIp,
  });
  return encodeEthernet({ dst: BROADCAST_MAC, src: f.srcMac, etherType: ETHER_TYPE.ARP }, body, f.vlan);
}

// ---------------------------------------------------------------------------
// IPv6 Neighbor Discovery

export interface NeighborAdvertisementOptions {
  /** R flag; default false. */
  readonly isRouter?: boolean;
  /** O flag; default true (the controller answers authoritatively for the owner). */
  readonly isOverride?: boolean;
}

/**
 * Neighbor Advertisement answering `solicitation` (RFC 4861 §7.2.4): from the target
 * address, with `mac` as target link-layer address. A solicitation from :: (duplicate
 * address detection) is answered to all-nodes with S clear; otherwise to the
 * solicitor with S set.
 */
export function buildNeighborAdvertisement(
  solicitation: DecodedPacket,
  mac: string,
  options: NeighborAdvertisementOptions = {},
): Buffer {
  const ns = solicitation.icmpv6;
  const ip = solicitation.ipv6;
  if (ns?.kind !== 'neighbor-solicitation' || ip === undefined) {
    throw new EncodeError('buildNeighborAdvertisement needs a Neighbor Solicitation');
  }
  const isDad = ip.src === '::';
  const dst = isDad ? IPV6_ALL_NODES : ip.src;
  const sll = ns.options.find((o) => o.type === 'source-link-layer-address');
  const dstMac = isDad ? getIpv6MulticastMac(IPV6_ALL_NODES) : sll?.type === 'source-link-layer-address' ? sll.mac : solicitation.eth.src;
  const na: Icmpv6Message = {
    kind: 'neighbor-advertisement',
    code: 0,
    isRouter: options.isRouter ?? false,
    isSolicited: !isDad,
    isOverride: options.isOverride ?? true,
    target: ns.target,
    options: [{ type: 'target-link-layer-address', mac }],
  };
  const l4 = encodeIcmpv6(na, ns.target, dst);
  const l3 = encodeIpv6({ nextHeader: IP_PROTO.ICMPV6, hopLimit: ND_HOP_LIMIT, src: ns.target, dst }, l4);
  return encodeEthernet({ dst: dstMac, src: mac, etherType: ETHER_TYPE.IPV6 }, l3, solicitation.vlan);
}

export interface NeighborSolicitationFields {
  readonly srcMac: string;
  /** '::' for duplicate address detection (then no source link-layer option is sent). */
  readonly src: string;
  readonly target: string;
  readonly vlan?: readonly VlanTag[];
}

/** Multicast Neighbor Solicitation for `target` to its solicited-node address (RFC 4861 §7.2.2). */
export function buildNeighborSolicitation(f: NeighborSolicitationFields): Buffer {
  const dst = getSolicitedNodeAddress(f.target);
  const ns: Icmpv6Message = {
    kind: 'neighbor-solicitation',
    code: 0,
    target: f.target,
    options: f.src === '::' ? [] : [{ type: 'source-link-layer-address', mac: f.srcMac }],
  };
  const l3 = encodeIpv6(
    { nextHeader: IP_PROTO.ICMPV6, hopLimit: ND_HOP_LIMIT, src: f.src, dst },
    encodeIcmpv6(ns, f.src, dst),
  );
  return encodeEthernet({ dst: getIpv6MulticastMac(dst), src: f.srcMac, etherType: ETHER_TYPE.IPV6 }, l3, f.vlan);
}

// ---------------------------------------------------------------------------
// IP datagrams

export interface IpFrameFields {
  readonly srcMac: string;
  readonly dstMac: string;
  /** IPv4 or IPv6 source; the family of `src` and `dst` picks the IP version. */
  readonly src: string;
  readonly dst: string;
  /** IPv4 TTL or IPv6 hop limit; default 64. */
  readonly ttl?: number;
  readonly vlan?: readonly VlanTag[];
}

/** Wraps an upper-layer segment in IPv4 or IPv6 (by address family) and Ethernet. */
export function buildIpFrame(f: IpFrameFields, protocol: number, segment: Uint8Array): Buffer {
  const ttl = f.ttl ?? DEFAULT_TTL;
  if (isIpv6Text(f.src) !== isIpv6Text(f.dst)) throw new EncodeError(`mixed address families ${f.src} → ${f.dst}`);
  const isV6 = isIpv6Text(f.src);
  const l3 = isV6
    ? encodeIpv6({ nextHeader: protocol, hopLimit: ttl, src: f.src, dst: f.dst }, segment)
    : encodeIpv4({ protocol, ttl, src: f.src, dst: f.dst }, segment);
  const etherType = isV6 ? ETHER_TYPE.IPV6 : ETHER_TYPE.IPV4;
  return encodeEthernet({ dst: f.dstMac, src: f.srcMac, etherType }, l3, f.vlan);
}

export interface IcmpEchoFields extends IpFrameFields {
  readonly identifier: number;
  readonly sequence: number;
  readonly data?: Uint8Array;
  /** Echo reply instead of request. */
  readonly isReply?: boolean;
}

/** ICMP (IPv4) or ICMPv6 (IPv6) echo request/reply, by the family of the addresses. */
export function buildIcmpEcho(f: IcmpEchoFields): Buffer {
  const data = Buffer.from(f.data ?? Buffer.alloc(0));
  if (isIpv6Text(f.src)) {
    const type = f.isReply ? ICMPV6_TYPE.ECHO_REPLY : ICMPV6_TYPE.ECHO_REQUEST;
    const m: Icmpv6Message = { kind: 'echo', type, code: 0, identifier: f.identifier, sequence: f.sequence, data };
    return buildIpFrame(f, IP_PROTO.ICMPV6, encodeIcmpv6(m, f.src, f.dst));
  }
  const type = f.isReply ? ICMP_TYPE.ECHO_REPLY : ICMP_TYPE.ECHO_REQUEST;
  const m = { kind: 'echo', type, code: 0, identifier: f.identifier, sequence: f.sequence, data } as const;
  return buildIpFrame(f, IP_PROTO.ICMP, encodeIcmp(m));
}

/** Echo reply to an ICMP or ICMPv6 echo request, from the address it was sent to. */
export function buildIcmpEchoReply(request: DecodedPacket, ttl = DEFAULT_TTL): Buffer {
  const ip = request.ipv4 ?? request.ipv6;
  const echo = request.icmp ?? request.icmpv6;
  const isRequest =
    (request.icmp?.type === ICMP_TYPE.ECHO_REQUEST && request.icmp.kind === 'echo') ||
    (request.icmpv6?.kind === 'echo' && request.icmpv6.type === ICMPV6_TYPE.ECHO_REQUEST);
  if (ip === undefined || echo?.kind !== 'echo' || !isRequest) throw new EncodeError('buildIcmpEchoReply needs an echo request');
  return buildIcmpEcho({
    srcMac: request.eth.dst,
    dstMac: request.eth.src,
    src: ip.dst,
    dst: ip.src,
    ttl,
    identifier: echo.identifier,
    sequence: echo.sequence,
    data: echo.data,
    isReply: true,
    ...(request.vlan ? { vlan: request.vlan } : {}),
  });
}

export interface UdpFields extends IpFrameFields {
  readonly srcPort: number;
  readonly dstPort: number;
  readonly payload: Uint8Array;
}

/** UDP over IPv4 or IPv6 (by address family) with a valid checksum. */
export function buildUdp(f: UdpFields): Buffer {
  return buildIpFrame(f, IP_PROTO.UDP, encodeUdp({ srcPort: f.srcPort, dstPort: f.dstPort }, f.payload, f.src, f.dst));
}

// ---------------------------------------------------------------------------
// DHCPv4 server replies

export interface DhcpReplyFields {
  /** The decoded DISCOVER (for an OFFER), REQUEST (for ACK/NAK) or INFORM (for ACK). */
  readonly request: DecodedPacket;
  /** DHCP_MESSAGE_TYPE.OFFER, ACK or NAK. */
  readonly messageType: number;
  readonly serverMac: string;
  /** Source address and server identifier (option 54). */
  readonly serverIp: string;
  /** Address offered or acknowledged; ignored for NAK; omit for an ACK to INFORM. */
  readonly yiaddr?: string;
  /** Next server (TFTP); default 0.0.0.0. */
  readonly siaddr?: string;
  /**
   * Options after message type and server id (lease time, subnet mask, router, DNS,
   * ...), in the order given. 'end' and padding are added.
   */
  readonly options?: readonly DhcpOption[];
}

/** Which request message types each reply may answer (RFC 2131 §3.1, §3.2, §4.3). */
const DHCP_REPLY_TO: Readonly<Record<number, readonly number[]>> = {
  [DHCP_MESSAGE_TYPE.OFFER]: [DHCP_MESSAGE_TYPE.DISCOVER],
  [DHCP_MESSAGE_TYPE.ACK]: [DHCP_MESSAGE_TYPE.REQUEST, DHCP_MESSAGE_TYPE.INFORM],
  [DHCP_MESSAGE_TYPE.NAK]: [DHCP_MESSAGE_TYPE.REQUEST],
};

/**
 * DHCPOFFER / DHCPACK / DHCPNAK for a decoded client message. Fields follow RFC 2131
 * Table 3 (xid, flags, giaddr, chaddr copied; ciaddr kept only in an ACK) and the
 * destination follows RFC 2131 §4.1: to the relay if giaddr is set; NAKs broadcast;
 * to ciaddr if set; broadcast if the client set B; otherwise unicast to yiaddr at chaddr.
 */
export function buildDhcpReply(f: DhcpReplyFields): Buffer {
  const { request, messageType } = f;
  const req = request.dhcp;
  if (req === undefined || request.ipv4 === undefined || req.op !== BOOTP_OP.REQUEST) {
    throw new EncodeError('buildDhcpReply needs a decoded DHCP client message');
  }
  const requestType = getDhcpMessageType(req);
  const allowed = DHCP_REPLY_TO[messageType];
  if (allowed === undefined) throw new EncodeError(`DHCP reply type ${messageType} is not OFFER, ACK or NAK`);
  if (requestType === undefined || !allowed.includes(requestType)) {
    throw new EncodeError(`DHCP message type ${messageType} cannot answer message type ${String(requestType)}`);
  }
  const isNak = messageType === DHCP_MESSAGE_TYPE.NAK;
  const hasRelay = req.giaddr !== IPV4_ANY;
  const extra = f.options ?? [];
  const options: DhcpOption[] = [{ type: 'message-type', messageType }];
  if (!extra.some((o) => o.type === 'server-id')) options.push({ type: 'server-id', address: f.serverIp });
  options.push(...extra.filter((o) => o.type !== 'message-type' && o.type !== 'end'));
  const yiaddr = isNak ? IPV4_ANY : (f.yiaddr ?? IPV4_ANY);
  const ciaddr = messageType === DHCP_MESSAGE_TYPE.ACK ? req.ciaddr : IPV4_ANY;
  const reply = encodeDhcp({
    op: BOOTP_OP.REPLY,
    htype: req.htype,
    xid: req.xid,
    // RFC 2131 §4.3.2: a NAK through a relay asks the relay to broadcast it.
    isBroadcast: req.isBroadcast || (isNak && hasRelay),
    ciaddr,
    yiaddr,
    siaddr: f.siaddr ?? IPV4_ANY,
    giaddr: req.giaddr,
    chaddr: req.chaddr,
    options,
  });

  let dstIp: string;
  let dstMac: string;
  let dstPort: number = DHCP_CLIENT_PORT;
  if (hasRelay) {
    dstIp = req.giaddr;
    dstMac = request.eth.src;
    dstPort = DHCP_SERVER_PORT;
  } else if (isNak) {
    dstIp = IPV4_BROADCAST;
    dstMac = BROADCAST_MAC;
  } else if (req.ciaddr !== IPV4_ANY) {
    dstIp = req.ciaddr;
    dstMac = request.eth.src;
  } else if (req.isBroadcast || yiaddr === IPV4_ANY) {
    dstIp = IPV4_BROADCAST;
    dstMac = BROADCAST_MAC;
  } else {
    dstIp = yiaddr;
    dstMac = req.htype === 1 && req.chaddr.length === 17 ? req.chaddr : request.eth.src;
  }
  return buildUdp({
    srcMac: f.serverMac,
    dstMac,
    src: f.serverIp,
    dst: dstIp,
    srcPort: DHCP_SERVER_PORT,
    dstPort,
    payload: reply,
    ...(request.vlan ? { vlan: request.vlan } : {}),
  });
}
