/**
 * OXM/NXM flow-match codec: OpenFlow 1.3.5 §7.2.3 (ofp_match, OXM TLVs) plus the
 * Nicira (NXM) and ONF experimenter fields that Open vSwitch implements
 * (ovs-fields(7)).
 *
 * Every field is declared once in {@link FIELDS}. A field can be reachable under
 * several wire headers (e.g. eth_dst as OXM_OF_ETH_DST and NXM_OF_ETH_DST): the
 * `match` header is what we put in ofp_match and set_field, the `ref` header is
 * what Nicira actions (reg_move, reg_load, learn, ct zone...) use for a field
 * reference, and the others are accepted when decoding. A decoded entry or
 * reference keeps the header it came with (`header`) when that is not the usual
 * one, so it re-encodes to the same bytes. Like Open vSwitch, `in_port` (16-bit
 * NXM_OF_IN_PORT) and `in_port_oxm` (32-bit OXM_OF_IN_PORT) are two fields in
 * references; in a match, OXM_OF_IN_PORT is `in_port`.
 *
 * OXM TLV header (32 bits):
 *
 *    31                16 15        9  8  7            0
 *   +--------------------+-----------+---+--------------+
 *   |     oxm_class      |   field   | M |    length    |   M = has mask
 *   +--------------------+-----------+---+--------------+
 *   [ experimenter id (32 bits), only when oxm_class = 0xffff; counted in length;
 *     a field reference to such a field is this 64-bit header ]
 *   value (n bytes) [ mask (n bytes) ]
 */
import { parseIpv4 as parseIpv4Bytes, parseIpv6 as parseIpv6Bytes } from '../packet/address';
import type { BufferReader } from '../common/buffer-reader';
import type { BufferWriter } from '../common/buffer-writer';
import { EncodeError } from '../common/errors';
import { NX_VENDOR_ID, ONF_VENDOR_ID } from './constants';
import { formatIpv6 } from '../packet/address';

/** OXM classes (§7.2.3.2) and the Nicira ones. */
export const OFPXMC = {
  NXM_0: 0x0000,
  NXM_1: 0x0001,
  OPENFLOW_BASIC: 0x8000,
  PACKET_REGS: 0x8001,
  /** Ericsson's class, for ICMPv6 ND fields Open vSwitch carries (ERICOXM_OF_*). */
  ERICSSON: 0x1000,
  EXPERIMENTER: 0xffff,
} as const;

/** ofp_match type (§7.2.3.1). */
export const OFPMT_OXM = 1;

/**
 * A field value. The representation depends on the field's kind:
 * - unsigned integers up to 32 bits: `number`
 * - unsigned integers over 32 bits (metadata, tun_id, xreg*, ct_label, xxreg*): `bigint`
 * - MAC addresses: `string` 'aa:bb:cc:dd:ee:ff' (lower case)
 * - IPv4 addresses: `string` dotted quad
 * - IPv6 addresses: `string` canonical RFC 5952 form
 * - opaque variable-length fields (tun_metadataN): `Buffer`
 */
export type OxmValue = number | bigint | string | Buffer;

/** Field names as Open vSwitch spells them in ovs-fields(7) (in_port, eth_dst, reg0, tun_id, ct_state...). */
export type OxmFieldName = string;

/** A match entry on a field this module knows: value and optional mask in the field's representation. */
export interface KnownOxm {
  readonly field: OxmFieldName;
  readonly value: OxmValue;
  readonly mask?: OxmValue;
  /**
   * The wire header by its Open vSwitch name (NXM_OF_ETH_DST...), when it is not
   * the field's usual one (`FieldDef.match`); decoders set it only then.
   */
  readonly header?: string;
}

/** An entry with a header this module does not know, kept verbatim so it re-encodes identically. */
export interface UnknownOxm {
  readonly field: 'unknown';
  readonly oxmClass: number;
  readonly fieldNum: number;
  /** Present when oxmClass is 0xffff. */
  readonly experimenter?: number;
  readonly value: Buffer;
  readonly mask?: Buffer;
}

/** One match entry. */
export type OxmField = KnownOxm | UnknownOxm;

/** ofp_match with type OFPMT_OXM: an ordered list of OXM entries. */
export type Match = readonly OxmField[];

/**
 * A bit range of a field, as Nicira actions address it (`reg0[8..15]` is
 * `{field: 'reg0', ofs: 8, nBits: 8}`). `ofs` defaults to 0 and `nBits` to the rest
 * of the field; decoders omit them when they have those defaults.
 */
export interface FieldRef {
  readonly field: OxmFieldName;
  readonly ofs?: number;
  readonly nBits?: number;
  /** The wire header by its Open vSwitch name, when it is not the field's usual reference header (`FieldDef.ref`). */
  readonly header?: string;
  /**
   * Variable-length fields (tun_metadataN): the length the header gives, in bytes;
   * default the maximum (124). A switch with a TLV mapping uses the mapped length.
   */
  readonly bytes?: number;
}

type Kind = 'uint' | 'mac' | 'ipv4' | 'ipv6' | 'bytes';

/** One wire header under which a field can appear. */
interface Header {
  readonly oxmClass: number;
  readonly fieldNum: number;
  /** Value length in bytes; for variable-length fields, the maximum. */
  readonly bytes: number;
  readonly experimenter?: number;
  /** Name Open vSwitch gives this header (NXM_NX_REG0...), for messages. */
  readonly name: string;
}

/** A match field. */
export interface FieldDef {
  readonly name: OxmFieldName;
  readonly kind: Kind;
  /** Significant bits of the value (vlan_vid: 13 including OFPVID_PRESENT). */
  readonly bits: number;
  readonly maskable: boolean;
  readonly variable: boolean;
  /** Header used in ofp_match and OFPAT_SET_FIELD. */
  readonly match: Header;
  /** Header used for field references in Nicira actions. */
  readonly ref: Header;
  readonly headers: readonly Header[];
}

// ---------------------------------------------------------------------------
// The field table.

const basic = (fieldNum: number, bytes: number, name: string): Header => ({ oxmClass: OFPXMC.OPENFLOW_BASIC, fieldNum, bytes, name });
const nxm0 = (fieldNum: number, bytes: number, name: string): Header => ({ oxmClass: OFPXMC.NXM_0, fieldNum, bytes, name });
const nxm1 = (fieldNum: number, bytes: number, name: string): Header => ({ oxmClass: OFPXMC.NXM_1, fieldNum, bytes, name });
const onf = (fieldNum: number, bytes: number, name: string): Header => ({
  oxmClass: OFPXMC.EXPERIMENTER, fieldNum, bytes, experimenter: ONF_VENDOR_ID, name,
});
/** Open vSwitch's own experimenter OXMs (NXOXM_ET_*, NXOXM_NSH_*) and Ericsson's class (ERICOXM_OF_*). */
const nxoxm = (fieldNum: number, bytes: number, name: string): Header => ({
  oxmClass: OFPXMC.EXPERIMENTER, fieldNum, bytes, experimenter: NX_VENDOR_ID, name,
});
const NXOXM_NSH_VENDOR_ID = 0x005ad650;
const nsh = (fieldNum: number, bytes: number, name: string): Header => ({
  oxmClass: OFPXMC.EXPERIMENTER, fieldNum, bytes, experimenter: NXOXM_NSH_VENDOR_ID, name,
});
const ericoxm = (fieldNum: number, bytes: number, name: string): Header => ({ oxmClass: OFPXMC.ERICSSON, fieldNum, bytes, name });

interface Spec {
  kind?: Kind;
  bits?: number;
  mask?: boolean;
  variable?: boolean;
  /** Headers; the first is the match header. */
  h: Header[];
  /** Index in `h` of the field-reference header (default: the first NXM one, else 0). */
  ref?: number;
}

function def(name: string, s: Spec): FieldDef {
  const first = s.h[0]!;
  const nxmIdx = s.h.findIndex((h) => h.oxmClass === OFPXMC.NXM_0 || h.oxmClass === OFPXMC.NXM_1);
  return {
    name,
    kind: s.kind ?? 'uint',
    bits: s.bits ?? first.bytes * 8,
    maskable: s.mask ?? false,
    variable: s.variable ?? false,
    match: first,
    ref: s.h[s.ref ?? (nxmIdx === -1 ? 0 : nxmIdx)]!,
    headers: s.h,
  };
}

const M = true;

function buildFields(): FieldDef[] {
  const f: FieldDef[] = [
    // OpenFlow 1.3 basic class (§7.2.3.7), named as ovs-fields(7) names them.
    def('in_port', { h: [basic(0, 4, 'OXM_OF_IN_PORT'), nxm0(0, 2, 'NXM_OF_IN_PORT')] }),
    // Open vSwitch's name for OXM_OF_IN_PORT as a field of its own (32-bit port numbers).
    def('in_port_oxm', { h: [basic(0, 4, 'OXM_OF_IN_PORT')] }),
    def('in_phy_port', { h: [basic(1, 4, 'OXM_OF_IN_PHY_PORT')] }),
    def('metadata', { mask: M, h: [basic(2, 8, 'OXM_OF_METADATA')] }),
    def('eth_dst', { kind: 'mac', mask: M, h: [basic(3, 6, 'OXM_OF_ETH_DST'), nxm0(1, 6, 'NXM_OF_ETH_DST')] }),
    def('eth_src', { kind: 'mac', mask: M, h: [basic(4, 6, 'OXM_OF_ETH_SRC'), nxm0(2, 6, 'NXM_OF_ETH_SRC')] }),
    def('eth_type', { h: [basic(5, 2, 'OXM_OF_ETH_TYPE'), nxm0(3, 2, 'NXM_OF_ETH_TYPE')] }),
    def('vlan_vid', { bits: 13, mask: M, h: [basic(6, 2, 'OXM_OF_VLAN_VID')] }),
    def('vlan_pcp', { bits: 3, h: [basic(7, 1, 'OXM_OF_VLAN_PCP')] }),
    def('ip_dscp', { bits: 6, h: [basic(8, 1, 'OXM_OF_IP_DSCP')] }),
    def('ip_ecn', { bits: 2, h: [basic(9, 1, 'OXM_OF_IP_ECN'), nxm1(28, 1, 'NXM_NX_IP_ECN')] }),
    def('ip_proto', { h: [basic(10, 1, 'OXM_OF_IP_PROTO'), nxm0(6, 1, 'NXM_OF_IP_PROTO')] }),
    def('ip_src', { kind: 'ipv4', mask: M, h: [basic(11, 4, 'OXM_OF_IPV4_SRC'), nxm0(7, 4, 'NXM_OF_IP_SRC')] }),
    def('ip_dst', { kind: 'ipv4', mask: M, h: [basic(12, 4, 'OXM_OF_IPV4_DST'), nxm0(8, 4, 'NXM_OF_IP_DST')] }),
    def('tcp_src', { mask: M, h: [basic(13, 2, 'OXM_OF_TCP_SRC'), nxm0(9, 2, 'NXM_OF_TCP_SRC')] }),
    def('tcp_dst', { mask: M, h: [basic(14, 2, 'OXM_OF_TCP_DST'), nxm0(10, 2, 'NXM_OF_TCP_DST')] }),
    def('udp_src', { mask: M, h: [basic(15, 2, 'OXM_OF_UDP_SRC'), nxm0(11, 2, 'NXM_OF_UDP_SRC')] }),
    def('udp_dst', { mask: M, h: [basic(16, 2, 'OXM_OF_UDP_DST'), nxm0(12, 2, 'NXM_OF_UDP_DST')] }),
    def('sctp_src', { mask: M, h: [basic(17, 2, 'OXM_OF_SCTP_SRC')] }),
    def('sctp_dst', { mask: M, h: [basic(18, 2, 'OXM_OF_SCTP_DST')] }),
    def('icmp_type', { h: [basic(19, 1, 'OXM_OF_ICMPV4_TYPE'), nxm0(13, 1, 'NXM_OF_ICMP_TYPE')] }),
    def('icmp_code', { h: [basic(20, 1, 'OXM_OF_ICMPV4_CODE'), nxm0(14, 1, 'NXM_OF_ICMP_CODE')] }),
    def('arp_op', { h: [basic(21, 2, 'OXM_OF_ARP_OP'), nxm0(15, 2, 'NXM_OF_ARP_OP')] }),
    def('arp_spa', { kind: 'ipv4', mask: M, h: [basic(22, 4, 'OXM_OF_ARP_SPA'), nxm0(16, 4, 'NXM_OF_ARP_SPA')] }),
    def('arp_tpa', { kind: 'ipv4', mask: M, h: [basic(23, 4, 'OXM_OF_ARP_TPA'), nxm0(17, 4, 'NXM_OF_ARP_TPA')] }),
    def('arp_sha', { kind: 'mac', mask: M, h: [basic(24, 6, 'OXM_OF_ARP_SHA'), nxm1(17, 6, 'NXM_NX_ARP_SHA')] }),
    def('arp_tha', { kind: 'mac', mask: M, h: [basic(25, 6, 'OXM_OF_ARP_THA'), nxm1(18, 6, 'NXM_NX_ARP_THA')] }),
    def('ipv6_src', { kind: 'ipv6', mask: M, h: [basic(26, 16, 'OXM_OF_IPV6_SRC'), nxm1(19, 16, 'NXM_NX_IPV6_SRC')] }),
    def('ipv6_dst', { kind: 'ipv6', mask: M, h: [basic(27, 16, 'OXM_OF_IPV6_DST'), nxm1(20, 16, 'NXM_NX_IPV6_DST')] }),
    def('ipv6_label', { bits: 20, mask: M, h: [basic(28, 4, 'OXM_OF_IPV6_FLABEL'), nxm1(27, 4, 'NXM_NX_IPV6_LABEL')] }),
    def('icmpv6_type', { h: [basic(29, 1, 'OXM_OF_ICMPV6_TYPE'), nxm1(21, 1, 'NXM_NX_ICMPV6_TYPE')] }),
    def('icmpv6_code', { h: [basic(30, 1, 'OXM_OF_ICMPV6_CODE'), nxm1(22, 1, 'NXM_NX_ICMPV6_CODE')] }),
    def('nd_target', { kind: 'ipv6', mask: M, h: [basic(31, 16, 'OXM_OF_IPV6_ND_TARGET'), nxm1(23, 16, 'NXM_NX_ND_TARGET')] }),
    def('nd_sll', { kind: 'mac', mask: M, h: [basic(32, 6, 'OXM_OF_IPV6_ND_SLL'), nxm1(24, 6, 'NXM_NX_ND_SLL')] }),
    def('nd_tll', { kind: 'mac', mask: M, h: [basic(33, 6, 'OXM_OF_IPV6_ND_TLL'), nxm1(25, 6, 'NXM_NX_ND_TLL')] }),
    def('mpls_label', { bits: 20, h: [basic(34, 4, 'OXM_OF_MPLS_LABEL')] }),
    def('mpls_tc', { bits: 3, h: [basic(35, 1, 'OXM_OF_MPLS_TC')] }),
    def('mpls_bos', { bits: 1, h: [basic(36, 1, 'OXM_OF_MPLS_BOS')] }),
    def('pbb_isid', { mask: M, h: [basic(37, 3, 'OXM_OF_PBB_ISID')] }),
    def('tun_id', { mask: M, h: [basic(38, 8, 'OXM_OF_TUNNEL_ID'), nxm1(16, 8, 'NXM_NX_TUN_ID')] }),
    def('ipv6_exthdr', { bits: 9, mask: M, h: [basic(39, 2, 'OXM_OF_IPV6_EXTHDR')] }),
    def('actset_output', { h: [onf(43, 4, 'ONFOXM_ET_ACTSET_OUTPUT')] }),
    def('packet_type', { h: [basic(44, 4, 'OXM_OF_PACKET_TYPE')] }),

    // Open vSwitch extensions.
    def('nw_tos', { h: [nxm0(5, 1, 'NXM_OF_IP_TOS')] }),
    def('vlan_tci', { mask: M, h: [nxm0(4, 2, 'NXM_OF_VLAN_TCI')] }),
    def('ip_frag', { bits: 2, mask: M, h: [nxm1(26, 1, 'NXM_NX_IP_FRAG')] }),
    def('nw_ttl', { h: [nxm1(29, 1, 'NXM_NX_IP_TTL')] }),
    def('mpls_ttl', { h: [nxm1(30, 1, 'NXM_NX_MPLS_TTL')] }),
    def('tun_src', { kind: 'ipv4', mask: M, h: [nxm1(31, 4, 'NXM_NX_TUN_IPV4_SRC')] }),
    def('tun_dst', { kind: 'ipv4', mask: M, h: [nxm1(32, 4, 'NXM_NX_TUN_IPV4_DST')] }),
    def('pkt_mark', { mask: M, h: [nxm1(33, 4, 'NXM_NX_PKT_MARK')] }),
    def('tcp_flags', { bits: 12, mask: M, h: [onf(42, 2, 'ONFOXM_ET_TCP_FLAGS'), nxm1(34, 2, 'NXM_NX_TCP_FLAGS')] }),
    def('dp_hash', { mask: M, h: [nxm1(35, 4, 'NXM_NX_DP_HASH')] }),
    def('recirc_id', { h: [nxm1(36, 4, 'NXM_NX_RECIRC_ID')] }),
    def('conj_id', { h: [nxm1(37, 4, 'NXM_NX_CONJ_ID')] }),
    def('tun_gbp_id', { mask: M, h: [nxm1(38, 2, 'NXM_NX_TUN_GBP_ID')] }),
    def('tun_gbp_flags', { mask: M, h: [nxm1(39, 1, 'NXM_NX_TUN_GBP_FLAGS')] }),
    def('tun_flags', { bits: 1, mask: M, h: [nxm1(104, 2, 'NXM_NX_TUN_FLAGS')] }),
    def('ct_state', { mask: M, h: [nxm1(105, 4, 'NXM_NX_CT_STATE')] }),
    def('ct_zone', { h: [nxm1(106, 2, 'NXM_NX_CT_ZONE')] }),
    def('ct_mark', { mask: M, h: [nxm1(107, 4, 'NXM_NX_CT_MARK')] }),
    def('ct_label', { mask: M, h: [nxm1(108, 16, 'NXM_NX_CT_LABEL')] }),
    def('tun_ipv6_src', { kind: 'ipv6', mask: M, h: [nxm1(109, 16, 'NXM_NX_TUN_IPV6_SRC')] }),
    def('tun_ipv6_dst', { kind: 'ipv6', mask: M, h: [nxm1(110, 16, 'NXM_NX_TUN_IPV6_DST')] }),
    def('ct_nw_proto', { h: [nxm1(119, 1, 'NXM_NX_CT_NW_PROTO')] }),
    def('ct_nw_src', { kind: 'ipv4', mask: M, h: [nxm1(120, 4, 'NXM_NX_CT_NW_SRC')] }),
    def('ct_nw_dst', { kind: 'ipv4', mask: M, h: [nxm1(121, 4, 'NXM_NX_CT_NW_DST')] }),
    def('ct_ipv6_src', { kind: 'ipv6', mask: M, h: [nxm1(122, 16, 'NXM_NX_CT_IPV6_SRC')] }),
    def('ct_ipv6_dst', { kind: 'ipv6', mask: M, h: [nxm1(123, 16, 'NXM_NX_CT_IPV6_DST')] }),
    def('ct_tp_src', { mask: M, h: [nxm1(124, 2, 'NXM_NX_CT_TP_SRC')] }),
    def('ct_tp_dst', { mask: M, h: [nxm1(125, 2, 'NXM_NX_CT_TP_DST')] }),
    def('tun_erspan_idx', { bits: 20, mask: M, h: [nxoxm(11, 4, 'NXOXM_ET_ERSPAN_IDX')] }),
    def('tun_erspan_ver', { bits: 4, mask: M, h: [nxoxm(12, 1, 'NXOXM_ET_ERSPAN_VER')] }),
    def('tun_erspan_dir', { bits: 1, mask: M, h: [nxoxm(13, 1, 'NXOXM_ET_ERSPAN_DIR')] }),
    def('tun_erspan_hwid', { bits: 6, mask: M, h: [nxoxm(14, 1, 'NXOXM_ET_ERSPAN_HWID')] }),
    def('tun_gtpu_flags', { mask: M, h: [nxoxm(15, 1, 'NXOXM_ET_GTPU_FLAGS')] }),
    def('tun_gtpu_msgtype', { mask: M, h: [nxoxm(16, 1, 'NXOXM_ET_GTPU_MSGTYPE')] }),
    def('nsh_flags', { mask: M, h: [nsh(1, 1, 'NXOXM_NSH_FLAGS')] }),
    def('nsh_mdtype', { h: [nsh(2, 1, 'NXOXM_NSH_MDTYPE')] }),
    def('nsh_np', { h: [nsh(3, 1, 'NXOXM_NSH_NP')] }),
    def('nsh_spi', { bits: 24, h: [nsh(4, 4, 'NXOXM_NSH_SPI')] }),
    def('nsh_si', { h: [nsh(5, 1, 'NXOXM_NSH_SI')] }),
    def('nsh_c1', { mask: M, h: [nsh(6, 4, 'NXOXM_NSH_C1')] }),
    def('nsh_c2', { mask: M, h: [nsh(7, 4, 'NXOXM_NSH_C2')] }),
    def('nsh_c3', { mask: M, h: [nsh(8, 4, 'NXOXM_NSH_C3')] }),
    def('nsh_c4', { mask: M, h: [nsh(9, 4, 'NXOXM_NSH_C4')] }),
    def('nsh_ttl', { bits: 6, h: [nsh(10, 1, 'NXOXM_NSH_TTL')] }),
    def('nd_reserved', { h: [ericoxm(1, 4, 'ERICOXM_OF_ICMPV6_ND_RESERVED')] }),
    def('nd_options_type', { h: [ericoxm(2, 1, 'ERICOXM_OF_ICMPV6_ND_OPTIONS_TYPE')] }),
  ];
  for (let i = 0; i < 16; i++) f.push(def(`reg${i}`, { mask: M, h: [nxm1(i, 4, `NXM_NX_REG${i}`)] }));
  for (let i = 0; i < 8; i++) {
    f.push(def(`xreg${i}`, { mask: M, h: [{ oxmClass: OFPXMC.PACKET_REGS, fieldNum: i, bytes: 8, name: `OXM_OF_PKT_REG${i}` }] }));
  }
  for (let i = 0; i < 4; i++) f.push(def(`xxreg${i}`, { mask: M, h: [nxm1(111 + i, 16, `NXM_NX_XXREG${i}`)] }));
  for (let i = 0; i < 64; i++) {
    f.push(def(`tun_metadata${i}`, { kind: 'bytes', mask: M, variable: true, h: [nxm1(40 + i, 124, `NXM_NX_TUN_METADATA${i}`)] }));
  }
  return f;
}

/** Every field this codec knows, in declaration order. */
export const FIELDS: readonly FieldDef[] = buildFields();

const BY_NAME = new Map<string, FieldDef>(FIELDS.map((d) => [d.name, d]));

interface Hit {
  readonly def: FieldDef;
  readonly header: Header;
}

/** Header → field for OXM entries (matches, set_field): the first field declaring it. */
const BY_HEADER = new Map<string, Hit>();
/** Header → field for references: the field whose reference header it is, else as above. */
const REF_BY_HEADER = new Map<string, Hit>();
for (const d of FIELDS) {
  for (const h of d.headers) {
    const key = headerKey(h.oxmClass, h.fieldNum, h.experimenter);
    if (!BY_HEADER.has(key)) BY_HEADER.set(key, { def: d, header: h });
    if (!REF_BY_HEADER.has(key)) REF_BY_HEADER.set(key, { def: d, header: h });
  }
}
// OXM_OF_IN_PORT is in_port in a match but in_port_oxm in a reference.
for (const d of FIELDS) REF_BY_HEADER.set(headerKey(d.ref.oxmClass, d.ref.fieldNum, d.ref.experimenter), { def: d, header: d.ref });

function headerKey(oxmClass: number, fieldNum: number, experimenter?: number): string {
  return `${oxmClass}:${fieldNum}:${experimenter ?? ''}`;
}

/** The field called `name` (ovs-fields(7) spelling), or undefined. */
export function findField(name: string): FieldDef | undefined {
  return BY_NAME.get(name);
}

function requireField(name: unknown): FieldDef {
  const d = typeof name === 'string' ? BY_NAME.get(name) : undefined;
  if (!d) throw new EncodeError(`unknown match field ${JSON.stringify(name)}`);
  return d;
}

/** The header a value names (`header: 'NXM_OF_ETH_DST'`), or the default; it must belong to the field. */
function chooseHeader(d: FieldDef, name: unknown, fallback: Header, what: string): Header {
  if (name === undefined) return fallback;
  const h = d.headers.find((x) => x.name === name);
  if (!h) throw new EncodeError(`${what}: ${d.name} has no header ${JSON.stringify(name)} (it has ${d.headers.map((x) => x.name).join(', ')})`);
  return h;
}

function header32(h: Header, hasMask: boolean, length: number): number {
  return ((h.oxmClass << 16) | (h.fieldNum << 9) | (hasMask ? 0x100 : 0) | length) >>> 0;
}

/**
 * The 32-bit OXM/NXM header of `name` as used in ofp_match (no mask, full length).
 * For experimenter-class fields this is only the first word of the header.
 */
export function oxmHeader(name: OxmFieldName, hasMask = false): number {
  const d = requireField(name);
  return header32(d.match, hasMask, (d.match.experimenter === undefined ? 0 : 4) + d.match.bytes * (hasMask ? 2 : 1));
}

// ---------------------------------------------------------------------------
// Field references (Nicira actions address fields by NXM/OXM header, without mask).

/** A field reference resolved for the wire. */
export interface ResolvedRef {
  /** First 32 bits of the header (class, field, length). */
  readonly header: number;
  /** The second word of a 64-bit experimenter header. */
  readonly experimenter?: number;
  readonly ofs: number;
  readonly nBits: number;
  /** Width in bits of the referenced field under `header`. */
  readonly width: number;
}

/**
 * Validates a field reference and gives its wire header, offset and width.
 * `experimenter: false` is for actions whose header slot is 32 bits (reg_load,
 * output_reg, learn, ct zone): a field with a 64-bit experimenter header is refused.
 */
export function resolveFieldRef(ref: FieldRef, what = 'field reference', opts: { experimenter?: boolean } = {}): ResolvedRef {
  if (ref === null || typeof ref !== 'object') throw new EncodeError(`${what}: expected {field, ofs?, nBits?}`);
  const d = requireField(ref.field);
  const h = chooseHeader(d, ref.header, d.ref, what);
  if (h.experimenter !== undefined && opts.experimenter === false) {
    throw new EncodeError(`${what}: field ${d.name} has no 32-bit header`);
  }
  let bytes = h.bytes;
  if (d.variable) {
    bytes = ref.bytes ?? h.bytes;
    if (!Number.isInteger(bytes) || bytes < 1 || bytes > h.bytes) throw new EncodeError(`${what}: ${d.name} length ${bytes} not in 1..${h.bytes}`);
  } else if (ref.bytes !== undefined) {
    throw new EncodeError(`${what}: ${d.name} has a fixed length`);
  }
  const width = bytes * 8;
  const ofs = ref.ofs ?? 0;
  if (!Number.isInteger(ofs) || ofs < 0 || ofs >= width) throw new EncodeError(`${what}: ofs ${ofs} outside ${d.name} (${width} bits)`);
  const nBits = ref.nBits ?? width - ofs;
  if (!Number.isInteger(nBits) || nBits < 1 || ofs + nBits > width) {
    throw new EncodeError(`${what}: ${d.name}[${ofs}..${ofs + nBits - 1}] outside the field's ${width} bits`);
  }
  const exp = h.experimenter === undefined ? 0 : 4;
  return {
    header: header32(h, false, exp + bytes),
    ...(h.experimenter === undefined ? {} : { experimenter: h.experimenter }),
    ofs, nBits, width,
  };
}

/** Writes the 32- or 64-bit header of a resolved reference. */
export function writeRefHeader(w: BufferWriter, ref: ResolvedRef): void {
  w.u32(ref.header);
  if (ref.experimenter !== undefined) w.u32(ref.experimenter);
}

/** A header read off the wire: its first word, and the experimenter id of a 64-bit one. */
export interface WireHeader {
  readonly header: number;
  readonly experimenter?: number;
}

/** Reads a 32-bit header, or a 64-bit one when its class is experimenter (nx_pull_header). */
export function readRefHeader(r: BufferReader, what: string): WireHeader {
  const header = r.u32(what);
  return header >>> 16 === OFPXMC.EXPERIMENTER ? { header, experimenter: r.u32(`${what} experimenter`) } : { header };
}

/**
 * The canonical FieldRef for a header/ofs/nBits read off the wire (defaults
 * omitted), or undefined if the header is unknown, masked, of the wrong length,
 * or the range does not fit the field.
 */
export function makeFieldRef(wire: WireHeader | number, ofs: number, nBits: number): FieldRef | undefined {
  const { header, experimenter } = typeof wire === 'number' ? { header: wire, experimenter: undefined } : wire;
  const oxmClass = header >>> 16;
  if ((oxmClass === OFPXMC.EXPERIMENTER) !== (experimenter !== undefined)) return undefined;
  if (header & 0x100) return undefined;
  const hit = REF_BY_HEADER.get(headerKey(oxmClass, (header >>> 9) & 0x7f, experimenter));
  if (!hit) return undefined;
  const { def: d, header: h } = hit;
  const bytes = (header & 0xff) - (experimenter === undefined ? 0 : 4);
  if (d.variable ? bytes < 1 || bytes > h.bytes : bytes !== h.bytes) return undefined;
  const width = bytes * 8;
  if (nBits < 1 || ofs + nBits > width) return undefined;
  const out: { field: string; ofs?: number; nBits?: number; header?: string; bytes?: number } = { field: d.name };
  if (ofs !== 0) out.ofs = ofs;
  if (ofs + nBits !== width) {
    out.ofs = ofs;
    out.nBits = nBits;
  }
  if (h !== d.ref) out.header = h.name;
  if (d.variable && bytes !== h.bytes) out.bytes = bytes;
  return out;
}

// ---------------------------------------------------------------------------
// Values.

/**
 * A field value whose bytes have a fixed size and fit a scalar: uint fields (a
 * number up to 32 bits, else a bigint), MACs (a 48-bit number) and IPv4
 * addresses (a 32-bit number). Every flow has several, so they go from the
 * value straight into the writer, without a Buffer each.
 */
type Scalar = number | bigint;

/** 2^bits for the range checks: numbers up to 32 bits, bigints up to 128 (the widest field). */
const LIMITS: readonly number[] = Array.from({ length: 33 }, (_, bits) => 2 ** bits);
const BIG_LIMITS: readonly bigint[] = Array.from({ length: 129 }, (_, bits) => 1n << BigInt(bits));

/**
 * Validates a uint, MAC or IPv4 value (or mask, `isMask`) and returns it as a
 * scalar; `which` names it in errors ("reg0 value", "eth_dst mask").
 */
function scalarOf(d: FieldDef, h: Header, v: unknown, which: 'value' | 'mask', isMask: boolean): Scalar {
  switch (d.kind) {
    case 'mac': {
      const x = typeof v === 'string' ? macNumber(v) : -1;
      if (x < 0) throw new EncodeError(`${d.name} ${which}: bad MAC address ${JSON.stringify(v)}`);
      return x;
    }
    case 'ipv4': {
      const x = typeof v === 'string' ? ipv4Number(v) : -1;
      if (x >= 0) return x;
      const message = `${d.name} ${which}: bad IPv4 address ${JSON.stringify(v)}`;
      if (typeof v !== 'string') throw new EncodeError(message);
      // Anything but a plain dotted quad gets the address library's verdict (as the cause).
      return reword(() => parseIpv4Bytes(v), message).readUInt32BE(0);
    }
    default: {
      const bytes = h.bytes;
      const bits = isMask ? bytes * 8 : Math.min(d.bits, bytes * 8);
      if (bytes <= 4) {
        if (typeof v !== 'number' || !Number.isInteger(v)) throw new EncodeError(`${d.name} ${which}: expected an integer number, got ${describe(v)}`);
        if (v < 0 || v >= LIMITS[bits]!) throw new EncodeError(`${d.name} ${which}: ${v} does not fit in ${bits} bits`);
        return v;
      }
      if (typeof v !== 'bigint') throw new EncodeError(`${d.name} ${which}: expected a bigint, got ${describe(v)}`);
      if (v < 0n || v >= BIG_LIMITS[bits]!) throw new EncodeError(`${d.name} ${which}: ${v} does not fit in ${bits} bits`);
      return v;
    }
  }
}

/** Writes a scalar as `bytes` big-endian bytes (it fits: scalarOf checked it). */
function writeScalar(w: BufferWriter, x: Scalar, bytes: number): void {
  if (typeof x === 'bigint') {
    if (bytes === 8) {
      w.u64(x);
      return;
    }
    for (let shift = BigInt(8 * (bytes - 1)); shift >= 0n; shift -= 8n) w.u8(Number((x >> shift) & 0xffn));
    return;
  }
  switch (bytes) {
    case 1:
      w.u8(x);
      return;
    case 2:
      w.u16(x);
      return;
    case 3:
      w.u8(x >>> 16).u16(x & 0xffff);
      return;
    case 4:
      w.u32(x);
      return;
    default: {
      // A MAC: 48 bits, more than the 32 that bitwise operators take.
      const hi = Math.floor(x / 0x1_0000_0000);
      w.u16(hi).u32(x - hi * 0x1_0000_0000);
    }
  }
}

/** Whether `value` has a bit set that `mask` does not (switches reject such entries: OFPBMC_BAD_WILDCARDS). */
function hasBitsOutside(value: Scalar, mask: Scalar): boolean {
  if (typeof value === 'bigint') return (value & ~(mask as bigint)) !== 0n;
  const m = mask as number;
  if (value <= 0xffffffff && m <= 0xffffffff) return (value & ~m) !== 0;
  const hv = Math.floor(value / 0x1_0000_0000);
  const hm = Math.floor(m / 0x1_0000_0000);
  return (hv & ~hm) !== 0 || ((value - hv * 0x1_0000_0000) & ~(m - hm * 0x1_0000_0000)) !== 0;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48; // 0-9
  const l = c | 0x20; // A-F → a-f
  return l >= 97 && l <= 102 ? l - 87 : -1;
}

/** 'aa:bb:cc:dd:ee:ff' (either case) as a 48-bit number; -1 when malformed. */
function macNumber(s: string): number {
  if (s.length !== 17) return -1;
  let x = 0;
  for (let i = 0; i < 17; i += 3) {
    if (i > 0 && s.charCodeAt(i - 1) !== 58) return -1; // ':'
    const hi = hexDigit(s.charCodeAt(i));
    const lo = hexDigit(s.charCodeAt(i + 1));
    if (hi < 0 || lo < 0) return -1;
    x = x * 256 + hi * 16 + lo;
  }
  return x;
}

/**
 * A plain dotted quad ('192.0.2.1': four decimal parts of at most 255, no
 * leading zeros) as a 32-bit number; -1 for anything else, which the address
 * library then judges.
 */
function ipv4Number(s: string): number {
  let x = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46;
    if (c === 46) {
      if (digits === 0) return -1;
      x = x * 256 + part;
      part = 0;
      digits = 0;
      if (i < s.length && ++dots > 3) return -1;
      continue;
    }
    if (c < 48 || c > 57 || (digits === 1 && part === 0)) return -1;
    part = part * 10 + (c - 48);
    if (++digits > 3 || part > 255) return -1;
  }
  return dots === 3 ? x : -1;
}

/** Parses any valid IPv6 text form (including embedded IPv4) into 16 bytes (protocols/packet/address.ts). */
export function parseIpv6(s: unknown, what = 'IPv6 address'): Buffer {
  if (typeof s !== 'string') throw new EncodeError(`${what}: bad IPv6 address ${JSON.stringify(s)}`);
  return reword(() => parseIpv6Bytes(s), `${what}: bad IPv6 address ${JSON.stringify(s)}`);
}

/** The address library's EncodeError, said in terms of the field being encoded. */
function reword(parse: () => Buffer, message: string): Buffer {
  try {
    return parse();
  } catch (err) {
    throw new EncodeError(message, { cause: err });
  }
}

/** RFC 5952 text for 16 bytes: lower case, no leading zeros, longest zero run (≥ 2 groups, first wins) as '::'. */
export { formatIpv6 };

function describe(v: unknown): string {
  if (typeof v === 'bigint') return `bigint ${v}`;
  if (Buffer.isBuffer(v)) return `Buffer(${v.length})`;
  return `${typeof v} ${JSON.stringify(v)}`;
}

/** Values of the kinds that are not scalars: IPv6 addresses and opaque bytes (tun_metadataN). */
function valueToBytes(def: FieldDef, h: Header, v: unknown, what: string, len?: number): Buffer {
  if (def.kind === 'ipv6') return parseIpv6(v, what);
  if (!Buffer.isBuffer(v)) throw new EncodeError(`${what}: expected a Buffer, got ${describe(v)}`);
  if (v.length > h.bytes) throw new EncodeError(`${what}: length ${v.length} not in 0..${h.bytes}`);
  if (len !== undefined && v.length !== len) throw new EncodeError(`${what}: mask length ${v.length} differs from value length ${len}`);
  return v;
}

/** Converts raw value bytes of a known field into its representation. */
function bytesToValue(kind: Kind, b: Buffer): OxmValue {
  switch (kind) {
    case 'uint':
      if (b.length <= 4) return b.length === 0 ? 0 : b.readUIntBE(0, b.length);
      return b.reduce((acc, x) => (acc << 8n) | BigInt(x), 0n);
    case 'mac':
      return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
    case 'ipv4':
      return [...b].join('.');
    case 'ipv6':
      return formatIpv6(b);
    case 'bytes':
      return Buffer.from(b);
  }
}

// ---------------------------------------------------------------------------
// TLVs.

/** In an action (NXAST_REG_LOAD2) a mask says which bits to write, so any field, and any bit of it, takes one. */
export interface OxmOptions {
  readonly writeMask?: boolean;
}

/** Writes one OXM TLV (OpenFlow 1.3.5 §7.2.3.2), validating the field, value and mask. */
export function encodeOxm(w: BufferWriter, field: OxmField, opts: OxmOptions = {}): void {
  if (field === null || typeof field !== 'object') throw new EncodeError(`match entry must be an object, got ${describe(field)}`);
  if (field.field === 'unknown') {
    encodeUnknownOxm(w, field as UnknownOxm);
    return;
  }
  const known = field as KnownOxm;
  const d = requireField(known.field);
  const h = known.header === undefined ? d.match : chooseHeader(d, known.header, d.match, d.name);
  const exp = h.experimenter === undefined ? 0 : 4;
  if (d.kind !== 'ipv6' && d.kind !== 'bytes') {
    // A load's mask may reach bits a match never uses (nsh_ttl[4..7]): any bit of its bytes.
    const value = scalarOf(d, h, known.value, 'value', opts.writeMask === true);
    let mask: Scalar | undefined;
    if (known.mask !== undefined) {
      if (!d.maskable && !opts.writeMask) throw new EncodeError(`${d.name} is not maskable`);
      mask = scalarOf(d, h, known.mask, 'mask', true);
      if (hasBitsOutside(value, mask)) throw new EncodeError(`${d.name}: value has bits set outside its mask`);
    }
    w.u32(header32(h, mask !== undefined, exp + h.bytes * (mask === undefined ? 1 : 2)));
    if (h.experimenter !== undefined) w.u32(h.experimenter);
    writeScalar(w, value, h.bytes);
    if (mask !== undefined) writeScalar(w, mask, h.bytes);
    return;
  }
  const value = valueToBytes(d, h, known.value, `${d.name} value`);
  let mask: Buffer | undefined;
  if (known.mask !== undefined) {
    if (!d.maskable && !opts.writeMask) throw new EncodeError(`${d.name} is not maskable`);
    mask = valueToBytes(d, h, known.mask, `${d.name} mask`, value.length);
    // Switches reject (OFPBMC_BAD_WILDCARDS) a value with bits the mask does not select.
    if (value.some((b, i) => (b & ~mask![i]!) !== 0)) throw new EncodeError(`${d.name}: value has bits set outside its mask`);
  }
  w.u32(header32(h, mask !== undefined, exp + value.length * (mask ? 2 : 1)));
  if (h.experimenter !== undefined) w.u32(h.experimenter);
  w.bytes(value);
  if (mask) w.bytes(mask);
}

function encodeUnknownOxm(w: BufferWriter, f: UnknownOxm): void {
  if (!Buffer.isBuffer(f.value)) throw new EncodeError('unknown OXM: value must be a Buffer');
  if (f.mask !== undefined && (!Buffer.isBuffer(f.mask) || f.mask.length !== f.value.length)) {
    throw new EncodeError('unknown OXM: mask must be a Buffer as long as the value');
  }
  const isExp = f.oxmClass === OFPXMC.EXPERIMENTER;
  if (isExp !== (f.experimenter !== undefined)) throw new EncodeError('unknown OXM: experimenter id is required exactly for class 0xffff');
  const len = (isExp ? 4 : 0) + f.value.length * (f.mask ? 2 : 1);
  if (len > 0xff) throw new EncodeError(`unknown OXM: payload of ${len} bytes exceeds 255`);
  w.u16(f.oxmClass, 'oxm_class').u8(((f.fieldNum << 1) | (f.mask ? 1 : 0)), 'oxm_field').u8(len);
  if (!Number.isInteger(f.fieldNum) || f.fieldNum < 0 || f.fieldNum > 0x7f) throw new EncodeError(`unknown OXM: field ${f.fieldNum} out of range`);
  if (isExp) w.u32(f.experimenter!, 'experimenter');
  w.bytes(f.value);
  if (f.mask) w.bytes(f.mask);
}

/**
 * Reads one OXM TLV. Unknown headers come back as {@link UnknownOxm}; lying lengths
 * throw DecodeError, and so does, with `strictMask`, a value with bits its mask
 * does not select (which encodeOxm refuses to write).
 */
export function decodeOxm(r: BufferReader, opts: { strictMask?: boolean } = {}): OxmField {
  const at = r.offset;
  const oxmClass = r.u16('oxm_class');
  const fb = r.u8('oxm_field');
  const len = r.u8('oxm_length');
  const fieldNum = fb >> 1;
  const hasMask = (fb & 1) === 1;
  const body = r.sub(len, 'OXM payload');
  let experimenter: number | undefined;
  if (oxmClass === OFPXMC.EXPERIMENTER) experimenter = body.u32('OXM experimenter');
  const n = body.remaining;
  if (hasMask && n % 2 !== 0) r.fail(`masked OXM with odd payload length ${n}`, at + 3);
  const vlen = hasMask ? n / 2 : n;
  const value = body.bytes(vlen, 'OXM value');
  const mask = hasMask ? body.bytes(vlen, 'OXM mask') : undefined;
  if (mask && opts.strictMask && value.some((b, i) => (b & ~mask[i]!) !== 0)) r.fail('OXM value has bits set outside its mask', at);

  const hit = BY_HEADER.get(headerKey(oxmClass, fieldNum, experimenter));
  if (!hit) {
    const u: UnknownOxm = {
      field: 'unknown', oxmClass, fieldNum,
      ...(experimenter !== undefined ? { experimenter } : {}),
      value: Buffer.from(value),
      ...(mask ? { mask: Buffer.from(mask) } : {}),
    };
    return u;
  }
  const { def: d, header: h } = hit;
  // Variable-length values may be empty: Open vSwitch drops the leading zero bytes
  // of a tun_metadata value, so it writes `set_field:0->tun_metadata0` as no bytes.
  if (d.variable ? vlen > h.bytes : vlen !== h.bytes) {
    r.fail(`${h.name}: value length ${vlen}, expected ${d.variable ? `0..${h.bytes}` : h.bytes}`, at + 3);
  }
  const out: { field: string; value: OxmValue; mask?: OxmValue; header?: string } = { field: d.name, value: bytesToValue(d.kind, value) };
  if (mask) out.mask = bytesToValue(d.kind, mask);
  if (h !== d.match) out.header = h.name;
  return out;
}

/** Writes a complete ofp_match (type, length, OXM TLVs, padding to 8 bytes); OpenFlow 1.3.5 §7.2.3.1. */
export function encodeMatch(w: BufferWriter, match: Match): void {
  if (!Array.isArray(match)) throw new EncodeError('match must be an array of OXM entries');
  const start = w.offset;
  w.u16(OFPMT_OXM).u16(0);
  for (const f of match) encodeOxm(w, f);
  w.patchU16(start + 2, w.offset - start, 'match length');
  w.padTo(8, start);
}

/** Reads a complete ofp_match including its padding. */
export function decodeMatch(r: BufferReader): Match {
  const at = r.offset;
  const type = r.u16('match type');
  const length = r.u16('match length');
  if (type !== OFPMT_OXM) r.fail(`unsupported match type ${type}`, at);
  if (length < 4) r.fail(`match length ${length} < 4`, at + 2);
  const body = r.sub(length - 4, 'match');
  r.skip(((length + 7) & ~7) - length, 'match padding');
  const out: OxmField[] = [];
  while (body.remaining > 0) out.push(decodeOxm(body));
  return out;
}
