/**
 * A generated corpus of flows, groups, meters and packet-outs in `ovs-ofctl` syntax, for the
 * capture test (ovs-corpus.test.ts): every match field of ovs-fields(7) that
 * OpenFlow 1.3 can carry, every action and instruction of ovs-actions(7), every
 * field as the source and destination of the actions that take field references,
 * then seeded random combinations of all of them.
 *
 * Every flow gets a distinct cookie (its index) and priority, so a captured
 * FLOW_MOD and a flow-stats entry lead back to the line that produced them.
 * Every line must be accepted by `ovs-ofctl -O OpenFlow13`; a line it rejects is a
 * bug in this generator.
 */
import { seededRandom } from '../../support/random';

/** What a flow must match for a field or action to be allowed (ovs-fields(7) "Prerequisites"). */
type Context =
  | 'any' | 'vlan' | 'mpls' | 'ip' | 'ipv6' | 'arp' | 'tcp' | 'udp' | 'sctp' | 'icmp' | 'icmp6'
  | 'nd_sol' | 'nd_adv' | 'ct' | 'ct_ip' | 'ct_ipv6' | 'ct_tcp' | 'nsh' | 'tcp6';

/** The match text for each context. */
const CONTEXT_MATCH: Readonly<Record<Context, string>> = {
  any: '',
  vlan: 'vlan_tci=0x1000/0x1000',
  mpls: 'mpls',
  ip: 'ip',
  ipv6: 'ipv6',
  arp: 'arp',
  tcp: 'tcp',
  tcp6: 'tcp6',
  udp: 'udp',
  sctp: 'sctp',
  icmp: 'icmp',
  icmp6: 'icmp6',
  nd_sol: 'icmp6,icmp_type=135,icmp_code=0',
  nd_adv: 'icmp6,icmp_type=136,icmp_code=0',
  // A valid connection-tracking entry (+trk alone does not satisfy the CT prerequisite).
  ct: 'ct_state=+trk+est',
  ct_ip: 'ct_state=+trk+est,ip',
  ct_ipv6: 'ct_state=+trk+est,ipv6',
  ct_tcp: 'ct_state=+trk+est,tcp',
  nsh: 'packet_type=(1,0x894f)',
};

/** The same prerequisites written as learn() match specs, for fields a learned flow matches. */
const CONTEXT_LEARN: Readonly<Partial<Record<Context, string>>> = {
  any: '',
  vlan: 'vlan_tci=0x1005',
  mpls: 'eth_type=0x8847',
  ip: 'eth_type=0x800',
  ipv6: 'eth_type=0x86dd',
  arp: 'eth_type=0x806',
  tcp: 'eth_type=0x800,nw_proto=6',
  tcp6: 'eth_type=0x86dd,nw_proto=6',
  udp: 'eth_type=0x800,nw_proto=17',
  sctp: 'eth_type=0x800,nw_proto=132',
  icmp: 'eth_type=0x800,nw_proto=1',
  icmp6: 'eth_type=0x86dd,nw_proto=58',
  nd_sol: 'eth_type=0x86dd,nw_proto=58,icmpv6_type=135,icmpv6_code=0',
  nd_adv: 'eth_type=0x86dd,nw_proto=58,icmpv6_type=136,icmpv6_code=0',
};

/** Contexts that include another one (a tcp flow is also an ip flow). */
const IMPLIES: Readonly<Partial<Record<Context, readonly Context[]>>> = {
  tcp: ['ip'], udp: ['ip'], sctp: ['ip'], icmp: ['ip'], tcp6: ['ipv6'], icmp6: ['ipv6'],
  nd_sol: ['icmp6', 'ipv6'], nd_adv: ['icmp6', 'ipv6'],
  ct_ip: ['ct', 'ip'], ct_ipv6: ['ct', 'ipv6'], ct_tcp: ['ct', 'ip', 'tcp'],
};

function satisfies(have: Context, need: Context): boolean {
  return need === 'any' || have === need || (IMPLIES[have] ?? []).includes(need);
}

type Kind = 'uint' | 'mac' | 'ipv4' | 'ipv6' | 'flags';

/** A field as ovs-fields(7) describes it. */
interface Field {
  /** The name ovs-ofctl uses. */
  readonly name: string;
  /** Significant bits (what `field[]` covers in a reference). */
  readonly bits: number;
  readonly kind: Kind;
  readonly mask: boolean;
  readonly pre: Context;
  /** May be the destination of set_field, load, move, pop. */
  readonly write: boolean;
  /** NXM/OXM names ovs-ofctl also accepts for this field. */
  readonly aliases: readonly string[];
  /** For kind 'flags': values to match (ct_state=+trk+est, tcp_flags=+syn...). */
  readonly values?: readonly string[];
  /** Match only, never a field reference (variable-length or special syntax). */
  readonly noRef?: boolean;
  /** Carried in an experimenter OXM (8-byte header): learn() cannot use it. */
  readonly experimenter?: boolean;
  /** What a flow must match to write the field, if more than `pre`. */
  readonly writePre?: Context;
  /**
   * References name a range within this many bits (tun_metadata: ovs-ofctl knows
   * 124 bytes, the switch maps 4, so references stay inside the first 32 bits).
   */
  readonly refBits?: number;
  /** A switch refuses it from a controller (internal to the datapath). */
  readonly internal?: boolean;
}

function f(name: string, bits: number, opts: Partial<Omit<Field, 'name' | 'bits'>> = {}): Field {
  return { name, bits, kind: 'uint', mask: false, pre: 'any', write: true, aliases: [], ...opts };
}

/** Every field of ovs-fields(7) (Open vSwitch 3.1) that an OpenFlow 1.3 message can carry. */
const CORPUS_FIELDS: readonly Field[] = [
  f('conj_id', 32, { write: false }),
  f('tun_id', 64, { mask: true, aliases: ['NXM_NX_TUN_ID', 'OXM_OF_TUNNEL_ID'] }),
  f('tun_src', 32, { kind: 'ipv4', mask: true, aliases: ['NXM_NX_TUN_IPV4_SRC'] }),
  f('tun_dst', 32, { kind: 'ipv4', mask: true, aliases: ['NXM_NX_TUN_IPV4_DST'] }),
  f('tun_ipv6_src', 128, { kind: 'ipv6', mask: true, aliases: ['NXM_NX_TUN_IPV6_SRC'] }),
  f('tun_ipv6_dst', 128, { kind: 'ipv6', mask: true, aliases: ['NXM_NX_TUN_IPV6_DST'] }),
  f('tun_gbp_id', 16, { mask: true, aliases: ['NXM_NX_TUN_GBP_ID'] }),
  f('tun_gbp_flags', 8, { mask: true, aliases: ['NXM_NX_TUN_GBP_FLAGS'] }),
  f('tun_erspan_ver', 4, { mask: true, experimenter: true }),
  f('tun_erspan_idx', 20, { mask: true, experimenter: true }),
  f('tun_erspan_dir', 1, { mask: true, experimenter: true }),
  f('tun_erspan_hwid', 6, { mask: true, experimenter: true }),
  f('tun_gtpu_flags', 8, { mask: true, write: false, experimenter: true }),
  f('tun_gtpu_msgtype', 8, { mask: true, write: false, experimenter: true }),
  f('tun_flags', 1, { kind: 'flags', mask: true, values: ['+oam', '-oam'], aliases: ['NXM_NX_TUN_FLAGS'] }),
  f('in_port', 16, { aliases: ['NXM_OF_IN_PORT'] }),
  f('in_port_oxm', 32, { aliases: ['OXM_OF_IN_PORT'] }),
  f('pkt_mark', 32, { mask: true, aliases: ['NXM_NX_PKT_MARK'] }),
  f('actset_output', 32, { write: false, experimenter: true }),
  f('packet_type', 32, { write: false, noRef: true, values: ['(0,0)', '(1,0x800)', '(1,0x86dd)'], kind: 'flags' }),
  f('ct_state', 32, {
    kind: 'flags', mask: true, write: false, aliases: ['NXM_NX_CT_STATE'],
    values: ['+trk', '-trk', '+trk+est', '+trk+new-est', '+trk+rel+rpl', '+trk+inv', '+trk+snat+dnat', '+new-rel'],
  }),
  f('ct_zone', 16, { write: false, aliases: ['NXM_NX_CT_ZONE'] }),
  f('ct_mark', 32, { mask: true, write: false, aliases: ['NXM_NX_CT_MARK'] }),
  f('ct_label', 128, { mask: true, write: false, aliases: ['NXM_NX_CT_LABEL'] }),
  f('ct_nw_src', 32, { kind: 'ipv4', mask: true, pre: 'ct_ip', write: false, aliases: ['NXM_NX_CT_NW_SRC'] }),
  f('ct_nw_dst', 32, { kind: 'ipv4', mask: true, pre: 'ct_ip', write: false, aliases: ['NXM_NX_CT_NW_DST'] }),
  f('ct_ipv6_src', 128, { kind: 'ipv6', mask: true, pre: 'ct_ipv6', write: false, aliases: ['NXM_NX_CT_IPV6_SRC'] }),
  f('ct_ipv6_dst', 128, { kind: 'ipv6', mask: true, pre: 'ct_ipv6', write: false, aliases: ['NXM_NX_CT_IPV6_DST'] }),
  f('ct_nw_proto', 8, { pre: 'ct_ip', write: false, aliases: ['NXM_NX_CT_NW_PROTO'] }),
  f('ct_tp_src', 16, { mask: true, pre: 'ct_tcp', write: false, aliases: ['NXM_NX_CT_TP_SRC'] }),
  f('ct_tp_dst', 16, { mask: true, pre: 'ct_tcp', write: false, aliases: ['NXM_NX_CT_TP_DST'] }),
  f('metadata', 64, { mask: true, aliases: ['OXM_OF_METADATA'] }),
  ...Array.from({ length: 16 }, (_, i) => f(`reg${i}`, 32, { mask: true, aliases: [`NXM_NX_REG${i}`] })),
  ...Array.from({ length: 8 }, (_, i) => f(`xreg${i}`, 64, { mask: true, aliases: [`OXM_OF_PKT_REG${i}`] })),
  ...Array.from({ length: 4 }, (_, i) => f(`xxreg${i}`, 128, { mask: true, aliases: [`NXM_NX_XXREG${i}`] })),
  f('eth_src', 48, { kind: 'mac', mask: true, aliases: ['NXM_OF_ETH_SRC', 'OXM_OF_ETH_SRC'] }),
  f('eth_dst', 48, { kind: 'mac', mask: true, aliases: ['NXM_OF_ETH_DST', 'OXM_OF_ETH_DST'] }),
  f('eth_type', 16, { write: false, aliases: ['NXM_OF_ETH_TYPE', 'OXM_OF_ETH_TYPE'] }),
  f('vlan_vid', 12, { mask: true, writePre: 'vlan', aliases: ['OXM_OF_VLAN_VID'] }),
  f('vlan_pcp', 3, { pre: 'vlan', writePre: 'vlan', aliases: ['OXM_OF_VLAN_PCP'] }),
  f('vlan_tci', 16, { mask: true, aliases: ['NXM_OF_VLAN_TCI'] }),
  f('mpls_label', 20, { pre: 'mpls', aliases: ['OXM_OF_MPLS_LABEL'] }),
  f('mpls_tc', 3, { pre: 'mpls', aliases: ['OXM_OF_MPLS_TC'] }),
  f('mpls_bos', 1, { pre: 'mpls', write: false, aliases: ['OXM_OF_MPLS_BOS'] }),
  f('mpls_ttl', 8, { pre: 'mpls', aliases: ['NXM_NX_MPLS_TTL'] }),
  f('ip_src', 32, { kind: 'ipv4', mask: true, pre: 'ip', aliases: ['NXM_OF_IP_SRC', 'OXM_OF_IPV4_SRC'] }),
  f('ip_dst', 32, { kind: 'ipv4', mask: true, pre: 'ip', aliases: ['NXM_OF_IP_DST', 'OXM_OF_IPV4_DST'] }),
  f('ipv6_src', 128, { kind: 'ipv6', mask: true, pre: 'ipv6', aliases: ['NXM_NX_IPV6_SRC', 'OXM_OF_IPV6_SRC'] }),
  f('ipv6_dst', 128, { kind: 'ipv6', mask: true, pre: 'ipv6', aliases: ['NXM_NX_IPV6_DST', 'OXM_OF_IPV6_DST'] }),
  f('ipv6_label', 20, { mask: true, pre: 'ipv6', aliases: ['NXM_NX_IPV6_LABEL', 'OXM_OF_IPV6_FLABEL'] }),
  f('nw_proto', 8, { pre: 'ip', write: false, aliases: ['NXM_OF_IP_PROTO', 'OXM_OF_IP_PROTO'] }),
  f('nw_ttl', 8, { pre: 'ip', aliases: ['NXM_NX_IP_TTL'] }),
  f('ip_frag', 2, { kind: 'flags', mask: true, pre: 'ip', write: false, aliases: ['NXM_NX_IP_FRAG'], values: ['no', 'yes', 'first', 'later', 'not_later'] }),
  f('nw_tos', 8, { pre: 'ip', aliases: ['NXM_OF_IP_TOS'] }),
  f('ip_dscp', 6, { pre: 'ip', aliases: ['OXM_OF_IP_DSCP'] }),
  f('nw_ecn', 2, { pre: 'ip', aliases: ['NXM_NX_IP_ECN', 'OXM_OF_IP_ECN'] }),
  f('arp_op', 16, { pre: 'arp', aliases: ['NXM_OF_ARP_OP', 'OXM_OF_ARP_OP'] }),
  f('arp_spa', 32, { kind: 'ipv4', mask: true, pre: 'arp', aliases: ['NXM_OF_ARP_SPA', 'OXM_OF_ARP_SPA'] }),
  f('arp_tpa', 32, { kind: 'ipv4', mask: true, pre: 'arp', aliases: ['NXM_OF_ARP_TPA', 'OXM_OF_ARP_TPA'] }),
  f('arp_sha', 48, { kind: 'mac', mask: true, pre: 'arp', aliases: ['NXM_NX_ARP_SHA', 'OXM_OF_ARP_SHA'] }),
  f('arp_tha', 48, { kind: 'mac', mask: true, pre: 'arp', aliases: ['NXM_NX_ARP_THA', 'OXM_OF_ARP_THA'] }),
  f('nsh_flags', 8, { mask: true, pre: 'nsh', experimenter: true }),
  f('nsh_ttl', 8, { pre: 'nsh', experimenter: true }),
  f('nsh_mdtype', 8, { pre: 'nsh', write: false, experimenter: true }),
  f('nsh_np', 8, { pre: 'nsh', write: false, experimenter: true }),
  f('nsh_spi', 24, { pre: 'nsh', experimenter: true }),
  f('nsh_si', 8, { pre: 'nsh', experimenter: true }),
  ...[1, 2, 3, 4].map((i) => f(`nsh_c${i}`, 32, { mask: true, pre: 'nsh', experimenter: true })),
  f('tcp_src', 16, { mask: true, pre: 'tcp', aliases: ['NXM_OF_TCP_SRC', 'OXM_OF_TCP_SRC'] }),
  f('tcp_dst', 16, { mask: true, pre: 'tcp', aliases: ['NXM_OF_TCP_DST', 'OXM_OF_TCP_DST'] }),
  f('tcp_flags', 12, {
    kind: 'flags', mask: true, pre: 'tcp', write: false, aliases: ['NXM_NX_TCP_FLAGS', 'ONFOXM_ET_TCP_FLAGS'],
    values: ['+syn', '+syn-ack', '+fin+rst', '-psh+urg', '+ece+cwr', '+ns', '0x012/0x0ff'],
  }),
  f('udp_src', 16, { mask: true, pre: 'udp', aliases: ['NXM_OF_UDP_SRC', 'OXM_OF_UDP_SRC'] }),
  f('udp_dst', 16, { mask: true, pre: 'udp', aliases: ['NXM_OF_UDP_DST', 'OXM_OF_UDP_DST'] }),
  f('sctp_src', 16, { mask: true, pre: 'sctp', aliases: ['OXM_OF_SCTP_SRC'] }),
  f('sctp_dst', 16, { mask: true, pre: 'sctp', aliases: ['OXM_OF_SCTP_DST'] }),
  f('icmp_type', 8, { pre: 'icmp', aliases: ['NXM_OF_ICMP_TYPE', 'OXM_OF_ICMPV4_TYPE'] }),
  f('icmp_code', 8, { pre: 'icmp', aliases: ['NXM_OF_ICMP_CODE', 'OXM_OF_ICMPV4_CODE'] }),
  f('icmpv6_type', 8, { pre: 'icmp6', aliases: ['NXM_NX_ICMPV6_TYPE', 'OXM_OF_ICMPV6_TYPE'] }),
  f('icmpv6_code', 8, { pre: 'icmp6', aliases: ['NXM_NX_ICMPV6_CODE', 'OXM_OF_ICMPV6_CODE'] }),
  f('nd_target', 128, { kind: 'ipv6', mask: true, pre: 'nd_sol', aliases: ['NXM_NX_ND_TARGET', 'OXM_OF_IPV6_ND_TARGET'] }),
  f('nd_sll', 48, { kind: 'mac', mask: true, pre: 'nd_sol', aliases: ['NXM_NX_ND_SLL', 'OXM_OF_IPV6_ND_SLL'] }),
  f('nd_tll', 48, { kind: 'mac', mask: true, pre: 'nd_adv', aliases: ['NXM_NX_ND_TLL', 'OXM_OF_IPV6_ND_TLL'] }),
  f('nd_reserved', 32, { pre: 'nd_sol' }),
  f('nd_options_type', 8, { pre: 'nd_sol' }),
  f('dp_hash', 32, { mask: true, write: false, internal: true, aliases: ['NXM_NX_DP_HASH'] }),
  f('recirc_id', 32, { write: false, internal: true, aliases: ['NXM_NX_RECIRC_ID'] }),
  // Without a TLV mapping, ovs-ofctl gives every tun_metadata its maximum size, 124 bytes.
  ...Array.from({ length: 64 }, (_, i) => f(`tun_metadata${i}`, 992, { mask: true, refBits: 32, aliases: [`NXM_NX_TUN_METADATA${i}`] })),
];

/** Fields a reference (move, load, output:field...) may name, with their significant bits. */
const REF_FIELDS = CORPUS_FIELDS.filter((x) => !x.noRef);

// ---------------------------------------------------------------------------
// Values.

type Rand = () => number;

function randInt(r: Rand, n: number): number {
  return Math.floor(r() * n);
}
function pick<T>(r: Rand, items: readonly T[]): T {
  return items[randInt(r, items.length)]!;
}
function randBits(r: Rand, bits: number): bigint {
  let v = 0n;
  for (let i = 0; i < bits; i += 16) v = (v << 16n) | BigInt(randInt(r, 0x10000));
  return v & ((1n << BigInt(bits)) - 1n);
}
function hex(v: bigint): string {
  return `0x${v.toString(16)}`;
}
function mac(v: bigint): string {
  return v.toString(16).padStart(12, '0').replace(/(..)(?!$)/g, '$1:');
}
function ipv4(v: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 0xffn)).join('.');
}
function ipv6(v: bigint): string {
  const groups: string[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(((v >> s) & 0xffffn).toString(16));
  return groups.join(':');
}
function format(kind: Kind, v: bigint): string {
  switch (kind) {
    case 'mac': return mac(v);
    case 'ipv4': return ipv4(v);
    case 'ipv6': return ipv6(v);
    default: return hex(v);
  }
}
/** A value that is not all zeros, so ovs-ofctl keeps the match entry. */
function nonZero(r: Rand, bits: number): bigint {
  const v = randBits(r, bits);
  return v === 0n ? 1n : v;
}
function widthOf(x: Field): number {
  return x.kind === 'mac' ? 48 : x.kind === 'ipv4' ? 32 : x.kind === 'ipv6' ? 128 : x.bits;
}

/**
 * A mask for a field. An IPv6 mask must not start with a digit: ovs-ofctl reads
 * `/43c0:...` as prefix length 43 followed by garbage.
 */
function maskOf(r: Rand, x: Field, bits: number): bigint {
  const m = nonZero(r, bits);
  return x.kind === 'ipv6' ? m | (0xfn << 124n) : m;
}

/** Bits a value may use: tun_metadata values stay short, arp_op is 8 bits inside OVS. */
function valueBits(r: Rand, x: Field): number {
  if (x.name.startsWith('tun_metadata')) return 8 * (1 + randInt(r, 4));
  if (x.name === 'arp_op') return 8;
  if (x.name === 'nsh_ttl') return 6;
  return widthOf(x);
}

/** `name=value` or `name=value/mask` for a match. */
function matchValue(r: Rand, x: Field, masked: boolean): string {
  if (x.values) return `${x.name}=${pick(r, x.values)}`;
  if (x.name === 'in_port' || x.name === 'in_port_oxm' || x.name === 'actset_output') {
    return `${x.name}=${pick(r, ['1', '2', '7', '65279', 'LOCAL'])}`;
  }
  if (x.name === 'eth_type') return `eth_type=${pick(r, ['0x88cc', '0x8100', '0x9000', '0x0805'])}`;
  if (x.name === 'nw_tos') return `nw_tos=${randInt(r, 64) * 4}`;
  if (x.name === 'vlan_tci') return `vlan_tci=${hex(nonZero(r, 16) | 0x1000n)}${masked ? `/${hex(nonZero(r, 16) | 0x1000n)}` : ''}`;
  const bits = valueBits(r, x);
  if (!masked) return `${x.name}=${format(x.kind, nonZero(r, bits))}`;
  const mask = maskOf(r, x, bits);
  return `${x.name}=${format(x.kind, nonZero(r, bits) & mask)}/${format(x.kind, mask)}`;
}

/** A constant for a field being set: set_field / load. */
function setValue(r: Rand, x: Field, bits = valueBits(r, x)): string {
  if (x.name === 'in_port' || x.name === 'in_port_oxm') return String(1 + randInt(r, 0xfeff));
  if (x.name === 'nw_tos') return String(randInt(r, 64) * 4);
  return format(bits === widthOf(x) ? x.kind : 'uint', randBits(r, bits));
}

// ---------------------------------------------------------------------------
// Field references.

interface Ref {
  readonly text: string;
  readonly bits: number;
  readonly pre: Context;
}

/** `name[]`, `name[a..b]` or `name[a]`, written with the field's name or one of its NXM/OXM names. */
function refOf(r: Rand, x: Field, opts: { bits?: number; whole?: boolean } = {}): Ref {
  const width = x.refBits ?? widthOf(x);
  const name = x.aliases.length > 0 && r() < 0.5 ? pick(r, x.aliases) : x.name;
  const n = opts.bits ?? ((opts.whole || r() < 0.4) ? width : 1 + randInt(r, Math.min(width, 64)));
  if (n === width && x.refBits === undefined) return { text: `${name}[]`, bits: n, pre: x.pre };
  const ofs = randInt(r, width - n + 1);
  return { text: n === 1 ? `${name}[${ofs}]` : `${name}[${ofs}..${ofs + n - 1}]`, bits: n, pre: x.pre };
}

/** A register range of `bits` bits to pair with another reference. */
function scratch(r: Rand, bits: number, index = 1): Ref {
  const reg = bits <= 32 ? `reg${index}` : bits <= 64 ? `xreg${index}` : `xxreg${index}`;
  const width = bits <= 32 ? 32 : bits <= 64 ? 64 : 128;
  const ofs = randInt(r, width - bits + 1);
  return { text: bits === width ? `${reg}[]` : `${reg}[${ofs}..${ofs + bits - 1}]`, bits, pre: 'any' };
}

function writable(x: Field): boolean {
  return x.write && !x.noRef;
}

// ---------------------------------------------------------------------------
// Actions. Each generator returns the action text and the context it needs.

interface Act {
  readonly text: string;
  readonly pre: Context;
  /** Must stay alone in its action list (conjunction). */
  readonly alone?: boolean;
  /** Changes the packet's type (encap, pop_mpls...): later actions would see a different packet. */
  readonly last?: boolean;
}
const act = (text: string, pre: Context = 'any', extra: Partial<Act> = {}): Act => ({ text, pre, ...extra });

const PORTS = ['1', '2', '65279', 'in_port', 'local', 'normal', 'flood', 'all', 'controller', 'table'];
const HASH_FIELDS = ['eth_src', 'nw_src', 'nw_dst', 'symmetric_l4', 'symmetric_l3l4', 'symmetric_l3l4+udp', 'symmetric_l3'];

/** Hand-written forms of every action and instruction in ovs-actions(7). */
function fixedActions(): Act[] {
  return [
    ...PORTS.map((p) => act(`output:${p}`)),
    act('output(port=1,max_len=100)'), act('output(port=local,max_len=1500)'), act('output(port=in_port,max_len=64)'),
    act('1,2,3'), act('drop'),
    act('output:reg0[0..15]'), act('output:NXM_NX_REG1[]'), act('output:OXM_OF_IN_PORT[]'), act('output:in_port_oxm[]'),
    act('output:in_port[]'), act('output:xreg0[16..47]'), act('output:tun_erspan_idx[]'), act('output:NXM_NX_REG2[8..23]'),
    act('controller'), act('controller:100'), act('controller:0'), act('controller(max_len=64,userdata=aa)'),
    act('controller(reason=no_match)'), act('controller(reason=invalid_ttl,max_len=128)'), act('controller(reason=action_set)'),
    act('controller(reason=group)'), act('controller(reason=packet_out)'), act('controller(id=5)'), act('controller(id=65535,max_len=1)'),
    act('controller(pause)'), act('controller(meter_id=3)'), act('controller(userdata=01.02.03.04.05.06.07.08.09)'),
    act('controller(reason=no_match,id=7,userdata=ff,pause,meter_id=9,max_len=200)'), act('controller(userdata=00)'),
    act('controller(max_len=65535,id=1)'), act('controller(userdata=0102030405060708)'),
    act('enqueue:1:2'), act('enqueue(in_port,5)'), act('enqueue(local,0)'),
    ...HASH_FIELDS.map((h, i) => act(`bundle(${h},${i * 10},${i % 2 ? 'hrw' : 'active_backup'},ofport,members:1,2,3)`)),
    act('bundle(eth_src,0,hrw,ofport,members:4)'),
    ...HASH_FIELDS.map((h, i) => act(`bundle_load(${h},${i},hrw,ofport,reg${i}[0..15],members:1,2)`)),
    act('bundle_load(nw_src,5,active_backup,ofport,NXM_NX_REG0[],members:7,8,9)'),
    act('bundle_load(eth_src,0,hrw,ofport,xreg2[16..47],members:1)'),
    act('group:1'), act('group:2'), act('group:4294967040'),
    act('strip_vlan', 'vlan', { last: true }), act('pop_vlan', 'vlan', { last: true }), act('push_vlan:0x8100'), act('push_vlan:0x88a8'),
    act('push_mpls:0x8847', 'any', { last: true }), act('push_mpls:0x8848', 'ip', { last: true }), act('pop_mpls:0x0800', 'mpls', { last: true }), act('pop_mpls:0x86dd', 'mpls', { last: true }),
    act('encap(nsh(md_type=1))', 'any', { last: true }), act('encap(nsh(md_type=2,tlv(0x1000,10,0x12345678)))', 'any', { last: true }), act('encap(nsh)', 'any', { last: true }),
    act('encap(nsh(md_type=2,tlv(0x1000,10,0x12345678),tlv(0x2000,20,0xabcdef)))', 'any', { last: true }), act('encap(ethernet)', 'nsh', { last: true }),
    act('encap(mpls)', 'any', { last: true }), act('encap(mpls_mc)', 'any', { last: true }), act('decap()', 'any', { last: true }), act('decap(packet_type(ns=0,type=0x800))', 'mpls', { last: true }),
    act('decap()', 'nsh', { last: true }),
    act('mod_dl_src:aa:bb:cc:dd:ee:ff'), act('mod_dl_dst:02:00:00:00:00:01'),
    act('mod_nw_src:10.1.2.3', 'ip'), act('mod_nw_dst:192.168.0.1', 'ip'), act('mod_nw_tos:16', 'ip'), act('mod_nw_ecn:2', 'ip'),
    act('mod_nw_ttl:9', 'ip'),
    act('mod_tp_src:80', 'tcp'), act('mod_tp_dst:443', 'udp'), act('mod_tp_src:9', 'sctp'),
    act('mod_vlan_vid:5', 'vlan'), act('mod_vlan_pcp:3', 'vlan'), act('mod_vlan_vid:4095', 'vlan'),
    act('dec_ttl', 'ip'), act('dec_ttl', 'ipv6'), act('dec_ttl(1,2,3)', 'ip'), act('dec_ttl(0)', 'ip'), act('dec_ttl(65535)', 'ipv6'),
    act('set_mpls_label(5)', 'mpls'), act('set_mpls_label(1048575)', 'mpls'), act('set_mpls_tc(3)', 'mpls'), act('set_mpls_ttl(10)', 'mpls'),
    act('dec_mpls_ttl', 'mpls'), act('dec_nsh_ttl', 'nsh'),
    act('check_pkt_larger(1500)->reg0[0]'), act('check_pkt_larger(100)->NXM_NX_REG9[10]'), act('check_pkt_larger(0)->xxreg3[127]'),
    act('delete_field:tun_metadata0'), act('delete_field:tun_metadata63'),
    act('set_tunnel:0x5'), act('set_tunnel:0xffffffff'), act('set_tunnel64:0x1234567890'), act('set_tunnel64:0x5'),
    act('set_queue:5'), act('set_queue:0'), act('pop_queue'),
    act('ct', 'ip'), act('ct()', 'ip'), act('ct(commit)', 'ip'), act('ct(commit,force)', 'ip'), act('ct(table=5)', 'ip'), act('ct(zone=5)', 'ip'), act('ct(zone=65535)', 'ip'),
    act('ct(zone=NXM_NX_REG0[0..15])', 'ip'), act('ct(zone=OXM_OF_IN_PORT[0..15])', 'ip'), act('ct(zone=in_port_oxm[16..31])', 'ip'),
    act('ct(zone=in_port[])', 'ip'), act('ct(zone=reg5[16..31],table=7)', 'ip'), act('ct(commit,alg=ftp)', 'tcp'), act('ct(commit,alg=tftp)', 'udp'),
    act('ct(commit,exec(set_field:1->ct_mark))', 'ip'), act('ct(commit,exec(set_field:0x5/0xff->ct_mark))', 'ip'),
    act('ct(commit,exec(set_field:0x1/0x1->ct_label))', 'ip'), act('ct(commit,exec(set_field:0x1234567890abcdef1234567890abcdef->ct_label))', 'ip'),
    act('ct(commit,exec(load:0x1->NXM_NX_CT_MARK[]))', 'ip'), act('ct(commit,exec(load:0x3->NXM_NX_CT_LABEL[64..65]))', 'ip'),
    act('ct(commit,exec(move:NXM_NX_REG0[]->NXM_NX_CT_MARK[]))', 'ip'), act('ct(commit,exec(move:xxreg1[]->ct_label[]))', 'ip'),
    act('ct(commit,exec(set_field:1->ct_mark,set_field:2->ct_label))', 'ip'),
    act('ct(nat)', 'ip'), act('ct(commit,nat(src=10.0.0.1))', 'ip'), act('ct(commit,nat(dst=10.0.0.1-10.0.0.9))', 'ip'),
    act('ct(commit,nat(src=10.0.0.1-10.0.0.5:1000-2000,persistent,random))', 'ip'),
    act('ct(commit,nat(dst=10.0.0.1:80,hash))', 'tcp'), act('ct(commit,nat(src=0.0.0.0))', 'ip'),
    act('ct(commit,nat(dst=[fe80::1]-[fe80::5]:80,hash))', 'ipv6'), act('ct(commit,nat(src=fe80::1))', 'ipv6'),
    act('ct(commit,nat(src=[2001:db8::1]:53))', 'ipv6'), act('ct(nat(src))', 'ip'), act('ct(commit,nat(dst))', 'ip'),
    act('ct(commit,table=30,zone=7,nat(src=10.0.0.1),exec(set_field:3->ct_mark))', 'ip'),
    act('ct(commit,alg=ftp,nat(src=10.0.0.1))', 'tcp'),
    act('ct_clear'),
    act('learn(table=1)'), act('learn(table=2,idle_timeout=10,hard_timeout=20,priority=7,cookie=0x99,send_flow_rem,delete_learned)'),
    act('learn(table=1,hard_timeout=10,NXM_OF_VLAN_TCI[0..11],NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[])'),
    act('learn(table=1,eth_type=0x800,nw_proto=17,udp_dst=udp_src)', 'udp'),
    act('learn(table=1,eth_type=0x800,ip_dst=10.0.0.1,load:0x5->reg0[0..7],load:NXM_NX_REG1[]->NXM_NX_REG2[])'),
    act('learn(table=3,fin_idle_timeout=5,fin_hard_timeout=10,eth_dst=eth_src)'),
    act('learn(table=4,limit=5,result_dst=reg0[0],eth_dst)'), act('learn(table=5,limit=100,eth_src)'),
    act('learn(table=1,OXM_OF_IN_PORT[]=NXM_NX_REG0[])'), act('learn(table=1,in_port_oxm=reg3,load:in_port_oxm[]->reg4[])'),
    act('learn(table=1,in_port=reg3[0..15],output:in_port_oxm[])'),
    act('learn(table=1,load:0x1234567890abcdef->xreg0[],load:0x1->xxreg0[])'),
    act('learn(table=1,tun_id=tun_id,load:tun_id[]->tun_id[])'),
    act('learn(table=1,idle_timeout=65535,hard_timeout=65535,priority=65535,cookie=0xffffffffffffffff,eth_src)'),
    act('learn(table=1,eth_type=0x800,nw_src=nw_dst,nw_dst=nw_src,load:1->reg0[0])', 'ip'),
    act('learn(table=1,eth_type=0x86dd,ipv6_src=ipv6_dst,load:ipv6_src[]->xxreg0[])', 'ipv6'),
    act('fin_timeout(idle_timeout=10,hard_timeout=20)', 'tcp'), act('fin_timeout(idle_timeout=5)', 'tcp'), act('fin_timeout(hard_timeout=3)', 'tcp'),
    act('resubmit:1'), act('resubmit(,5)'), act('resubmit(1,5)'), act('resubmit(in_port,254)'),
    act('resubmit(local,)'), act('resubmit(,5,ct)', 'ct_ip'), act('resubmit(2,3,ct)', 'ct_ipv6'),
    act('clone(output:1)'), act('clone(clone(output:2),set_field:5->reg0)'), act('clone(set_field:0x1->reg0,resubmit(,3))'),
    act('clone()'), act('clone(ct(commit),output:3)', 'ip'),
    act('push:reg0[]'), act('push:NXM_NX_REG2[0..5]'), act('pop:reg1[]'), act('pop:NXM_NX_REG2[0..5]'), act('push:xxreg0[]'),
    act('push:eth_src[]'), act('pop:eth_dst[]'), act('push:OXM_OF_IN_PORT[]'), act('pop:in_port_oxm[]'), act('push:tun_erspan_idx[]'),
    act('exit'),
    ...['modulo_n', 'hash_threshold', 'hrw', 'iter_hash'].flatMap((alg, i) => [
      act(`multipath(${HASH_FIELDS[i]},${i * 7},${alg},${2 + i},${i},reg${i}[0..15])`),
      act(`multipath(${HASH_FIELDS[i + 3]},50,${alg},1024,0,NXM_NX_REG7[4..14])`),
    ]),
    act('multipath(nw_dst,0,modulo_n,65535,0,xreg0[0..15])'),
    act('conjunction(1,1/2)', 'any', { alone: true }), act('conjunction(5,2/3),conjunction(6,1/2)', 'any', { alone: true }),
    act('conjunction(4294967295,64/64)', 'any', { alone: true }),
    act('note:'), act('note:01'), act('note:01.02.03.04.05.06'), act('note:0102030405060708'), act('note:aa.bb.cc.dd.ee.ff.00.11.22.33.44.55.66.77'),
    act('sample(probability=100,collector_set_id=1,obs_domain_id=2,obs_point_id=3)'), act('sample(probability=65535)'),
    act('sample(probability=1,sampling_port=1,ingress)'), act('sample(probability=5,collector_set_id=4294967295,egress)'),
    act('sample(probability=10,sampling_port=local)'),
    act('debug_recirc'), act('debug_slow'),
  ];
}

/** set_field, load, move, push/pop over every field (and some of their NXM/OXM names). */
function fieldActions(r: Rand): Act[] {
  const out: Act[] = [];
  for (const x of REF_FIELDS) {
    const width = x.refBits ?? widthOf(x);
    const wpre = x.writePre ?? x.pre;
    if (writable(x)) {
      out.push(act(`set_field:${setValue(r, x)}->${x.name}`, wpre));
      if (x.mask && x.kind !== 'flags') {
        const bits = valueBits(r, x);
        const mask = maskOf(r, x, bits);
        out.push(act(`set_field:${format(x.kind, randBits(r, bits) & mask)}/${format(x.kind, mask)}->${x.name}`, wpre));
      }
      const dst = refOf(r, x);
      out.push(act(`load:${hex(randBits(r, Math.min(dst.bits, valueBits(r, x))))}->${dst.text}`, wpre));
      if (width <= 128) out.push(act(`load:${hex(randBits(r, valueBits(r, x)))}->${refOf(r, x, { whole: true }).text}`, wpre));
      out.push(act(`move:${scratch(r, dst.bits).text}->${dst.text}`, wpre));
      out.push(act(`pop:${refOf(r, x).text}`, wpre));
      // The top bits of the field, where a value may exceed what a match allows (nsh_ttl[4..7]).
      if (width >= 4) out.push(act(`load:${hex(nonZero(r, 4))}->${x.name}[${width - 4}..${width - 1}]`, wpre));
    }
    const src = refOf(r, x);
    out.push(act(`move:${src.text}->${scratch(r, src.bits, 2).text}`, x.pre));
    out.push(act(`push:${refOf(r, x).text}`, x.pre));
    if (src.bits >= 16) out.push(act(`output:${refOf(r, x, { bits: 16 }).text}`, x.pre));
  }
  // Whole-field moves between fields of the same width.
  for (const x of REF_FIELDS.filter((y) => writable(y) && y.refBits === undefined)) {
    const width = widthOf(x);
    const wpre = x.writePre ?? x.pre;
    const peers = REF_FIELDS.filter((y) => y !== x && y.refBits === undefined && widthOf(y) === width && width <= 128 && (y.pre === 'any' || wpre === 'any' || y.pre === wpre));
    if (peers.length === 0) continue;
    const y = pick(r, peers);
    out.push(act(`move:${refOf(r, y, { whole: true }).text}->${refOf(r, x, { whole: true }).text}`, wpre === 'any' ? y.pre : wpre));
  }
  return out;
}

/**
 * learn() with every field as a match spec (immediate and from a packet field), as
 * the source of a load and as its destination. Fields in experimenter OXMs cannot
 * be learned (NXAST_LEARN carries 32-bit headers).
 */
function learnActions(r: Rand): Act[] {
  const out: Act[] = [];
  for (const x of REF_FIELDS) {
    const learnPre = CONTEXT_LEARN[x.writePre ?? x.pre];
    if (learnPre === undefined || x.experimenter) continue;
    const prefix = learnPre === '' ? '' : `${learnPre},`;
    const width = widthOf(x);
    if (x.kind !== 'flags' && x.name !== 'eth_type' && x.name !== 'nw_proto' && x.name !== 'vlan_tci') {
      out.push(act(`learn(table=10,${prefix}${x.name}=${setValue(r, x)})`));
      // A field wider than a register (tun_metadata) is learned 32 bits at a time.
      const [dst, bits] = width <= 128 ? [x.name, width] : [`${x.name}[0..31]`, 32];
      out.push(act(`learn(table=10,${prefix}${dst}=${scratch(r, bits).text})`));
    }
    const src = refOf(r, x);
    out.push(act(`learn(table=11,load:${src.text}->${scratch(r, src.bits, 3).text})`, x.pre));
    if (writable(x)) {
      const dst = refOf(r, x);
      out.push(act(`learn(table=12,${prefix}load:${hex(randBits(r, Math.min(dst.bits, valueBits(r, x))))}->${dst.text})`));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Matches.

/** One flow per field: exact, and masked where the field allows it. */
function fieldMatches(r: Rand): { match: string; ctx: Context }[] {
  const out: { match: string; ctx: Context }[] = [];
  for (const x of CORPUS_FIELDS) {
    const join = (m: string): string => [CONTEXT_MATCH[x.pre], m].filter(Boolean).join(',');
    out.push({ match: join(matchValue(r, x, false)), ctx: x.pre });
    if (x.mask && !x.values) out.push({ match: join(matchValue(r, x, true)), ctx: x.pre });
  }
  // The OpenFlow 1.0 spellings ovs-ofctl still accepts.
  for (const m of ['dl_vlan=5', 'dl_vlan=0xffff', 'dl_vlan_pcp=5', 'dl_src=00:11:22:33:44:55', 'dl_dst=01:00:00:00:00:00/01:00:00:00:00:00',
    'dl_type=0x0800,nw_src=10.0.0.0/8', 'ip,nw_dst=10.1.0.0/16', 'tcp,tp_src=80,tp_dst=0x400/0xfc00', 'udp,tp_src=68,tp_dst=67',
    'icmp6,icmp_type=135,nd_target=fe80::/64', 'ip,nw_frag=later', 'vlan_tci=0', 'ipv6,ipv6_label=0x12345',
    'arp,arp_op=2,arp_sha=00:00:00:00:00:01,arp_tha=00:00:00:00:00:02', 'rarp', 'ip6', 'sctp6', 'udp6', 'icmp,icmp_type=8,icmp_code=0',
    'in_port=1,dl_vlan=7,dl_vlan_pcp=2,ip,nw_tos=8,nw_ecn=1,nw_ttl=64', 'tun_id=0x5/0xff,tun_src=1.2.3.4,tun_dst=1.2.3.0/24',
    'ct_state=+trk+est,ct_zone=5,ct_mark=0x1/0x1,ct_label=0x1/0x1', 'conj_id=7,ip', 'metadata=0x5/0xf,reg0=1,reg15=0x2/0x3',
    'pkt_mark=0xff/0xff00ff00', 'mpls,mpls_label=7,mpls_tc=3,mpls_bos=1,mpls_ttl=9']) {
    out.push({ match: m, ctx: 'any' });
  }
  return out;
}

/**
 * Fields random matches leave out, because a value would contradict the context
 * or the actions: eth_type, nw_proto and packet_type are the context; vlan_tci
 * could clear the VLAN a context asks for; ip_frag=later removes the L4 header an
 * action may use; tun_metadata is added separately.
 */
const NOT_RANDOM = new Set(['eth_type', 'nw_proto', 'packet_type', 'vlan_tci', 'ip_frag']);

/** Random match: a context, then up to four more fields that it allows. */
function randomMatch(r: Rand): { match: string; ctx: Context } {
  // NSH packets have no Ethernet header: most actions do not apply; the fixed part covers them.
  const ctx = pick(r, (Object.keys(CONTEXT_MATCH) as Context[]).filter((c) => c !== 'nsh'));
  const allowed = CORPUS_FIELDS.filter((x) => !x.internal && satisfies(ctx, x.pre) && !NOT_RANDOM.has(x.name)
    && !x.name.startsWith('tun_metadata')
    // The context already has these (the VLAN, ct_state=+trk+est, ND's icmpv6 type and code).
    && !(ctx === 'vlan' && x.name === 'vlan_vid') && !(ctx.startsWith('ct') && x.name === 'ct_state') && !((ctx === 'nd_sol' || ctx === 'nd_adv') && x.name.startsWith('icmpv6')));
  const parts = [CONTEXT_MATCH[ctx]];
  const used = new Set<string>();
  for (let n = randInt(r, 5); n > 0; n--) {
    const x = pick(r, allowed);
    if (used.has(x.name)) continue;
    used.add(x.name);
    parts.push(matchValue(r, x, x.mask && r() < 0.5));
  }
  // One tun_metadata at most: the switch maps them to option space.
  if (r() < 0.1) parts.push(`tun_metadata${randInt(r, 64)}=${hex(nonZero(r, 32))}`);
  return { match: parts.filter(Boolean).join(','), ctx };
}

// ---------------------------------------------------------------------------
// Flows, groups and meters.

export interface OfctlCorpus {
  /** Lines for `ovs-ofctl add-flows` (some start with a command: modify, delete...). */
  readonly flows: readonly string[];
  /** Lines for `ovs-ofctl add-groups`. */
  readonly groups: readonly string[];
  /** Arguments for `ovs-ofctl add-meter`, one meter each. */
  readonly meters: readonly string[];
  /** Arguments for `ovs-ofctl packet-out`: an ARP request through action lists of the fixed part. */
  readonly packetOuts: readonly string[];
}

/** The frame packet-outs carry: a broadcast ARP request, 10.0.0.1 asking for 10.0.0.2. */
const ARP_REQUEST = 'ffffffffffff000000000001080600010800060400010000000000010a0000010000000000000a000002';

/** Meters and groups that flows refer to; the switch test creates them first. */
export const REFERENCED_METERS = [1, 2, 3, 4];
export const REFERENCED_GROUPS = [1, 2, 4294967040];

function header(index: number, r: Rand, table?: number): string {
  const parts = [`cookie=${hex(BigInt(index))}`, `priority=${1 + (index % 65535)}`];
  if (table !== undefined) parts.push(`table=${table}`);
  if (r() < 0.15) parts.push(`idle_timeout=${randInt(r, 65536)}`);
  if (r() < 0.15) parts.push(`hard_timeout=${randInt(r, 65536)}`);
  for (const flag of ['send_flow_rem', 'check_overlap', 'reset_counts', 'no_packet_counts', 'no_byte_counts']) {
    if (r() < 0.05) parts.push(flag);
  }
  return parts.join(',');
}

/** Instructions around an action list, in the order ovs-ofctl requires. */
function instructions(r: Rand, apply: readonly Act[], written: readonly Act[], table: number): string {
  const parts: string[] = [];
  if (r() < 0.15) parts.push(`meter:${pick(r, REFERENCED_METERS)}`);
  parts.push(...apply.map((a) => a.text).filter((t) => t !== 'drop'));
  if (r() < 0.1) parts.push('clear_actions');
  if (written.length > 0) parts.push(`write_actions(${written.map((a) => a.text).join(',')})`);
  if (r() < 0.15) parts.push(r() < 0.5 ? `write_metadata:${hex(randBits(r, 64))}` : `write_metadata:${hex(randBits(r, 16))}/0xffff`);
  if (table < 254 && r() < 0.2) parts.push(`goto_table:${table + 1 + randInt(r, 254 - table)}`);
  return parts.length === 0 ? 'drop' : parts.join(',');
}

/** Actions for write_actions: at most one of each kind, as an action set holds them. */
function actionSet(r: Rand, ctx: Context): Act[] {
  const candidates = [
    act('output:1'), act('output:2'), act(`group:${pick(r, REFERENCED_GROUPS)}`), act('set_queue:3'), act('push_vlan:0x8100'),
    act('set_field:5->reg0'), act('set_field:aa:bb:cc:dd:ee:ff->eth_dst'), act('dec_ttl', 'ip'), act('set_field:1.2.3.4->ip_src', 'ip'),
    act('pop_vlan', 'vlan', { last: true }), act('set_mpls_ttl(3)', 'mpls'),
  ].filter((a) => satisfies(ctx, a.pre));
  const out: Act[] = [];
  const kinds = new Set<string>();
  for (let n = 1 + randInt(r, 3); n > 0; n--) {
    const a = pick(r, candidates);
    const kind = a.text.replace(/[:(].*$/, '').replace(/^set_field.*->/, 'set_field ');
    if (kinds.has(kind) || a.text.startsWith('output') && kinds.has('group')) continue;
    kinds.add(kind);
    out.push(a);
  }
  return out;
}

/** Builds the corpus. The same seed gives the same corpus. */
export function buildOfctlCorpus(seed: number, randomFlows: number): OfctlCorpus {
  const r = seededRandom(seed);
  const flows: string[] = [];
  const add = (match: string, actions: string, table = 0): void => {
    const head = header(flows.length + 1, r, table === 0 ? undefined : table);
    flows.push([head, match, `actions=${actions}`].filter(Boolean).join(','));
  };

  // 1. Every match field.
  for (const m of fieldMatches(r)) add(m.match, 'drop');

  // 2. Every action and instruction form, each in a flow matching what it needs.
  const all = [...fixedActions(), ...fieldActions(r), ...learnActions(r)];
  for (const a of all) add(CONTEXT_MATCH[a.pre], a.text);
  add('', 'meter:1,output:1');
  add('', 'clear_actions');
  add('ip', 'write_actions(output:1,set_field:5->reg0,dec_ttl,group:1)');
  add('', 'write_metadata:0x5');
  add('', 'write_metadata:0x5/0xff,goto_table:2');
  add('', 'goto_table:254', 3);
  add('', 'meter:4,set_field:1->reg1,clear_actions,write_actions(set_queue:1,output:2),write_metadata:0x1/0x1,goto_table:9', 4);
  add('', 'write_actions()');

  // 3. Random combinations.
  const applicable = (ctx: Context): Act[] => all.filter((a) => satisfies(ctx, a.pre) && !a.alone);
  for (let i = 0; i < randomFlows; i++) {
    const { match, ctx } = randomMatch(r);
    const table = r() < 0.7 ? 0 : randInt(r, 254);
    if (r() < 0.05) {
      add(match, pick(r, all.filter((a) => a.alone)).text, table);
      continue;
    }
    const pool = applicable(ctx);
    const apply = Array.from({ length: randInt(r, 6) }, () => pick(r, pool));
    // An action that changes the packet's type may only come last.
    const last = apply.findIndex((a) => a.last);
    if (last >= 0) apply.splice(last + 1);
    const written = last < 0 && r() < 0.2 ? actionSet(r, ctx) : [];
    add(match, instructions(r, apply, written, table), table);
  }

  // 4. The other flow-mod commands, as add-flows accepts them at the start of a line.
  const commands = ['modify', 'modify_strict', 'delete', 'delete_strict'];
  for (let i = 0; i < 40; i++) {
    const { match } = randomMatch(r);
    const cmd = commands[i % commands.length]!;
    const head = `${cmd} cookie=${hex(BigInt(flows.length + 1))}/-1`;
    const extra = cmd.startsWith('delete') ? `,out_port=${pick(r, ['1', 'any'])}${r() < 0.5 ? ',out_group=1' : ''}` : '';
    const strict = cmd.endsWith('strict') ? `,priority=${1 + randInt(r, 65535)}` : '';
    const actions = cmd.startsWith('modify') ? `,actions=${pick(r, all.filter((a) => a.pre === 'any' && !a.alone)).text}` : '';
    flows.push(`${head}${strict}${match ? `,${match}` : ''}${extra}${actions}`);
  }

  // Packet-outs: every action of the fixed part that applies to an ARP packet, eight at a time.
  const forPackets = fixedActions().filter((a) => (a.pre === 'any' || a.pre === 'arp') && !a.alone && !a.last && a.text !== 'drop');
  const packetOuts: string[] = [];
  for (let i = 0; i < forPackets.length; i += 8) {
    const actions = forPackets.slice(i, i + 8).map((a) => a.text).join(',');
    packetOuts.push(`in_port=controller,packet=${ARP_REQUEST},actions=${actions}`);
  }
  return { flows, groups: buildGroups(r, all), meters: buildMeters(r), packetOuts };
}

function buildGroups(r: Rand, all: readonly Act[]): string[] {
  const plain = all.filter((a) => a.pre === 'any' && !a.alone && a.text !== 'drop' && !a.text.startsWith('group:') && !a.text.startsWith('resubmit')
    && !a.text.startsWith('learn') && !a.text.startsWith('clone')
    // ovs-ofctl reads the rest of a group's text as check_pkt_larger's destination.
    && !a.text.startsWith('check_pkt_larger') && !a.text.startsWith('ct(') && !a.text.startsWith('output:table'));
  const bucketActions = (): string => Array.from({ length: 1 + randInt(r, 3) }, () => pick(r, plain).text).join(',');
  const groups: string[] = [];
  let id = 10;
  const addGroup = (type: string, buckets: string[], extra = '', groupId = id++): void => {
    groups.push(`group_id=${groupId},type=${type}${extra}${buckets.map((b) => `,bucket=${b}`).join('')}`);
  };
  // The groups flows refer to come first, so a switch has them before any flow.
  for (const g of REFERENCED_GROUPS) addGroup('all', ['output:1'], '', g);
  addGroup('all', []);
  addGroup('all', ['output:1', 'output:2', 'output:3']);
  addGroup('select', ['weight:10,output:1', 'weight:20,output:2']);
  addGroup('select', ['weight:0,output:1', 'weight:65535,output:2']);
  addGroup('indirect', ['output:1']);
  addGroup('ff', ['watch_port:1,output:1', 'watch_port:2,output:2']);
  addGroup('ff', ['watch_group:1,output:1', 'watch_port:3,watch_group:2,output:2']);
  addGroup('select', ['weight:1,actions=set_field:5->reg0,output:1'], ',selection_method=hash,fields(ip_src,ip_dst)');
  addGroup('select', ['weight:1,output:1'], ',selection_method=dp_hash');
  addGroup('select', ['bucket_id:5,weight:1,output:1', 'bucket_id:7,weight:2,output:2']);
  for (let i = 0; i < 60; i++) {
    const type = pick(r, ['all', 'select', 'indirect', 'ff']);
    const n = type === 'indirect' ? 1 : 1 + randInt(r, 4);
    addGroup(type, Array.from({ length: n }, () => {
      const parts: string[] = [];
      if (type === 'select') parts.push(`weight:${randInt(r, 100)}`);
      if (type === 'ff') parts.push(r() < 0.7 ? `watch_port:${1 + randInt(r, 10)}` : `watch_group:${pick(r, REFERENCED_GROUPS)}`);
      parts.push(`actions=${bucketActions()}`);
      return parts.join(',');
    }));
  }
  return groups;
}

function buildMeters(r: Rand): string[] {
  const meters: string[] = [];
  const fixed = [
    'kbps,bands=type=drop,rate=1000',
    'pktps,bands=type=drop,rate=10',
    'kbps,burst,bands=type=drop,rate=1000,burst_size=100',
    'pktps,burst,stats,bands=type=drop,rate=5,burst_size=1',
    'kbps,stats,bands=type=dscp_remark,rate=500,prec_level=1',
    'kbps,bands=type=drop,rate=1000 type=dscp_remark,rate=100,prec_level=2',
    'pktps,burst,bands=type=dscp_remark,rate=1,burst_size=1,prec_level=63',
  ];
  let id = 1;
  for (const m of fixed) meters.push(`meter=${id++},${m}`);
  for (let i = 0; i < 16; i++) {
    const unit = pick(r, ['kbps', 'pktps']);
    const burst = r() < 0.5;
    const flags = [unit, ...(burst ? ['burst'] : []), ...(r() < 0.5 ? ['stats'] : [])].join(',');
    const bands = Array.from({ length: 1 + randInt(r, 2) }, () => {
      const kind = r() < 0.7 ? 'drop' : 'dscp_remark';
      const parts = [`type=${kind}`, `rate=${1 + randInt(r, 1_000_000)}`];
      if (burst) parts.push(`burst_size=${1 + randInt(r, 10_000)}`);
      if (kind === 'dscp_remark') parts.push(`prec_level=${1 + randInt(r, 63)}`);
      return parts.join(',');
    });
    meters.push(`meter=${id++},${flags},bands=${bands.join(' ')}`);
  }
  return meters;
}
