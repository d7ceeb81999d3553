/**
 * The fields the pipeline matches and sets, declared once: every OXM/NXM field
 * a Plexus flow may use (ovs-fields(7) names), with the kind of value it holds,
 * and the register layout. Tables (tables.ts) name their match fields from this
 * list, so a flow matching a field Plexus never declared does not type-check.
 *
 * Register layout — every register Plexus uses, with every value it can hold:
 *
 *   reg0  NETWORK   VNI of the packet's network (24 bits), set in classify
 *   reg1  FLAGS     bit 0 FROM_TUNNEL: the packet arrived over a VXLAN tunnel
 *   reg2  OUT_PORT  OpenFlow port the packet is delivered to locally, set in L2
 *                   (external-out: the patch port a packet waiting for its next
 *                   hop's MAC would leave by, read back from the packet-in)
 *   reg3  ROUTER    NAT from the outside: 32 bits of SHA-256 of the router whose
 *                   external address the packet came to (compiler/nat.ts
 *                   routerKeyOf), set in nat-in before conntrack, matched after
 *   reg6  ZONE      security policy: the OpenFlow port of the local endpoint whose
 *                   rules are being evaluated, which is also its conntrack zone
 *                   (set in the policy stages, before ct; 1..65279)
 */
import type { SetFieldAction } from '../../protocols/openflow/actions';
import type { KnownOxm } from '../../protocols/openflow/match';

export const REG = {
  NETWORK: 'reg0',
  FLAGS: 'reg1',
  OUT_PORT: 'reg2',
  ROUTER: 'reg3',
  ZONE: 'reg6',
} as const;

/** Bits of REG.FLAGS. */
export const FLAG = {
  FROM_TUNNEL: 0x1,
} as const;

/**
 * Value kinds, in the codec's representation (protocols/openflow/match.ts):
 * integers up to 32 bits are numbers, wider ones bigints, addresses strings.
 */
interface ValueOfKind {
  readonly uint: number;
  readonly uint64: bigint;
  readonly mac: string;
  readonly ipv4: string;
  readonly ipv6: string;
}

/** Every field a Plexus flow may match or set, and its kind. */
export const FIELD_KINDS = {
  in_port: 'uint',
  tun_id: 'uint64',
  tun_src: 'ipv4',
  tun_dst: 'ipv4',
  eth_src: 'mac',
  eth_dst: 'mac',
  eth_type: 'uint',
  ip_src: 'ipv4',
  ip_proto: 'uint',
  ipv6_src: 'ipv6',
  udp_src: 'uint',
  udp_dst: 'uint',
  icmpv6_type: 'uint',
  nd_target: 'ipv6',
  arp_op: 'uint',
  arp_spa: 'ipv4',
  arp_tpa: 'ipv4',
  arp_sha: 'mac',
  arp_tha: 'mac',
  // Routing (L3 tables).
  ip_dst: 'ipv4',
  ipv6_dst: 'ipv6',
  [REG.NETWORK]: 'uint',
  [REG.FLAGS]: 'uint',
  [REG.OUT_PORT]: 'uint',
  [REG.ROUTER]: 'uint',
  // Security policy and QoS (compiler/policy.ts, compiler/qos.ts); ip_dst and ipv6_dst above.
  tcp_dst: 'uint',
  icmp_type: 'uint',
  icmp_code: 'uint',
  icmpv6_code: 'uint',
  ip_dscp: 'uint',
  ct_state: 'uint',
  ct_mark: 'uint',
  conj_id: 'uint',
  [REG.ZONE]: 'uint',
} as const satisfies Record<string, keyof ValueOfKind>;

export type FieldName = keyof typeof FIELD_KINDS;
export type FieldValue<F extends FieldName> = ValueOfKind[(typeof FIELD_KINDS)[F]];

/** One match entry on a declared field. */
export type FieldMatch<F extends FieldName = FieldName> = KnownOxm & { readonly field: F };

/** An exact (`m('eth_type', 0x0800)`) or masked match entry on a declared field. */
export function m<F extends FieldName>(field: F, value: FieldValue<F>, mask?: FieldValue<F>): FieldMatch<F> {
  return mask === undefined ? { field, value } : { field, value, mask };
}

/** OFPAT_SET_FIELD on a declared field. */
export function setField<F extends FieldName>(field: F, value: FieldValue<F>): SetFieldAction {
  return { type: 'set_field', field, value };
}

export const ETH_TYPE = { IPV4: 0x0800, ARP: 0x0806, IPV6: 0x86dd } as const;
export const IP_PROTO = { ICMP: 1, TCP: 6, UDP: 17, ICMPV6: 58 } as const;
export const ARP_OP = { REQUEST: 1, REPLY: 2 } as const;
export const ICMPV6_TYPE = { NEIGHBOR_SOLICIT: 135, NEIGHBOR_ADVERT: 136 } as const;
export const DHCP_PORT = { SERVER: 67, CLIENT: 68 } as const;

/** The group bit of the first octet: multicast and broadcast destinations. */
export const MULTICAST_BIT = { value: '01:00:00:00:00:00', mask: '01:00:00:00:00:00' } as const;

/**
 * Conntrack state bits (ovs-fields(7) ct_state): what `ct` found for the packet
 * in the zone it looked in. Matched with a mask: `+est+trk` is
 * value EST|TRK under mask EST|TRK.
 */
export const CT_STATE = {
  NEW: 0x01,
  ESTABLISHED: 0x02,
  RELATED: 0x04,
  REPLY: 0x08,
  INVALID: 0x10,
  TRACKED: 0x20,
} as const;

/** ICMPv6 neighbor discovery (RFC 4861): router solicit/advert, neighbor solicit/advert, never filtered. */
export const ICMPV6_ND_TYPES = [133, 134, 135, 136] as const;
