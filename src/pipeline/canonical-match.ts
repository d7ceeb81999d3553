/**
 * A match as Open vSwitch stores it (ovs-fields(7), OVS lib/match.c): each
 * entry reduced to its wire value and mask bytes, an all-ones mask made exact,
 * an all-zeros mask dropped (it matches everything), and the entries sorted — so two matches that select the same
 * packets compare equal whatever order or spelling they were written in.
 * Also the prerequisite rules (a field like ip_src may only be matched with
 * eth_type=0x0800) that OVS enforces when a flow is added.
 *
 * Used by the in-memory flow-table walk (flow-table-walk.ts), the simulated
 * switch (bench/sim) and the flow builder's checks (flow.ts).
 */
import { BufferWriter } from '../../protocols/common/buffer-writer';
import { EncodeError } from '../../protocols/common/errors';
import { encodeOxm, type Match, type OxmField, type UnknownOxm } from '../../protocols/openflow/match';

/** One normalized match entry: field name, wire header identity, value and mask bytes. */
export interface FieldBits {
  /** ovs-fields(7) name; for a field the codec does not know, its header identity. */
  readonly name: string;
  /** Wire header identity `class:field:experimenter`. */
  readonly id: string;
  readonly value: Buffer;
  /** Absent = exact. Never all ones or all zeros. */
  readonly mask?: Buffer;
  /** The entry as the codec spells it, without a redundant mask. */
  readonly oxm: OxmField;
}

export interface CanonicalMatch {
  /** By field name. */
  readonly fields: ReadonlyMap<string, FieldBits>;
  /** Sorted `field=value[/mask]` hex entries: equal for matches that select the same packets. */
  readonly key: string;
  /** The match without redundant entries and masks. */
  readonly match: Match;
}

/** Why Open vSwitch would refuse a match (OFPBMC_DUP_FIELD, OFPBMC_BAD_PREREQ). */
export interface MatchProblem {
  readonly problem: 'duplicate-field' | 'missing-prerequisite';
  readonly field: string;
}

const ETH_IP = [0x0800, 0x86dd];
const ETH_ARP = [0x0806, 0x8035];
const ETH_MPLS = [0x8847, 0x8848];

/**
 * Prerequisites (ovs-fields(7)): a field may only be matched when each listed
 * field is matched exactly with one of the values.
 */
export const PREREQUISITES: ReadonlyMap<string, readonly (readonly [string, readonly number[]])[]> = new Map([
  ['ip_src', [['eth_type', [0x0800]]]],
  ['ip_dst', [['eth_type', [0x0800]]]],
  ['ipv6_src', [['eth_type', [0x86dd]]]],
  ['ipv6_dst', [['eth_type', [0x86dd]]]],
  ['ipv6_label', [['eth_type', [0x86dd]]]],
  ['ipv6_exthdr', [['eth_type', [0x86dd]]]],
  ['ip_proto', [['eth_type', ETH_IP]]],
  ['ip_dscp', [['eth_type', ETH_IP]]],
  ['ip_ecn', [['eth_type', ETH_IP]]],
  ['nw_tos', [['eth_type', ETH_IP]]],
  ['nw_ttl', [['eth_type', ETH_IP]]],
  ['ip_frag', [['eth_type', ETH_IP]]],
  ['arp_op', [['eth_type', ETH_ARP]]],
  ['arp_spa', [['eth_type', ETH_ARP]]],
  ['arp_tpa', [['eth_type', ETH_ARP]]],
  ['arp_sha', [['eth_type', ETH_ARP]]],
  ['arp_tha', [['eth_type', ETH_ARP]]],
  ['tcp_src', [['eth_type', ETH_IP], ['ip_proto', [6]]]],
  ['tcp_dst', [['eth_type', ETH_IP], ['ip_proto', [6]]]],
  ['tcp_flags', [['eth_type', ETH_IP], ['ip_proto', [6]]]],
  ['udp_src', [['eth_type', ETH_IP], ['ip_proto', [17]]]],
  ['udp_dst', [['eth_type', ETH_IP], ['ip_proto', [17]]]],
  ['sctp_src', [['eth_type', ETH_IP], ['ip_proto', [132]]]],
  ['sctp_dst', [['eth_type', ETH_IP], ['ip_proto', [132]]]],
  ['icmp_type', [['eth_type', [0x0800]], ['ip_proto', [1]]]],
  ['icmp_code', [['eth_type', [0x0800]], ['ip_proto', [1]]]],
  ['icmpv6_type', [['eth_type', [0x86dd]], ['ip_proto', [58]]]],
  ['icmpv6_code', [['eth_type', [0x86dd]], ['ip_proto', [58]]]],
  ['nd_target', [['eth_type', [0x86dd]], ['ip_proto', [58]], ['icmpv6_type', [135, 136]]]],
  ['nd_sll', [['eth_type', [0x86dd]], ['ip_proto', [58]], ['icmpv6_type', [135]]]],
  ['nd_tll', [['eth_type', [0x86dd]], ['ip_proto', [58]], ['icmpv6_type', [136]]]],
  ['mpls_label', [['eth_type', ETH_MPLS]]],
  ['mpls_tc', [['eth_type', ETH_MPLS]]],
  ['mpls_bos', [['eth_type', ETH_MPLS]]],
  ['pbb_isid', [['eth_type', [0x88e7]]]],
]);

function isAll(buf: Buffer, byte: number): boolean {
  for (const b of buf) if (b !== byte) return false;
  return true;
}

/** Header identity, value and mask bytes of one entry as the codec writes it. */
function split(f: OxmField): { id: string; value: Buffer; mask?: Buffer } {
  const w = new BufferWriter(32);
  encodeOxm(w, f);
  const b = w.finish();
  const oxmClass = b.readUInt16BE(0);
  const fieldNum = b[2]! >> 1;
  const hasMask = (b[2]! & 1) === 1;
  let at = 4;
  let exp = '';
  if (oxmClass === 0xffff) {
    exp = b.readUInt32BE(4).toString(16);
    at = 8;
  }
  const n = (b.length - at) / (hasMask ? 2 : 1);
  return {
    id: `${oxmClass}:${fieldNum}:${exp}`,
    value: b.subarray(at, at + n),
    ...(hasMask ? { mask: b.subarray(at + n, at + 2 * n) } : {}),
  };
}

/** The field's ovs-fields(7) name, or `class:field:experimenter` for one the codec does not know. */
function nameOf(f: OxmField): string {
  if (f.field !== 'unknown') return f.field;
  const u = f as UnknownOxm;
  return `${u.oxmClass}:${u.fieldNum}:${u.experimenter?.toString(16) ?? ''}`;
}

/** One entry normalized, or undefined when its mask is all zeros (it matches every packet). */
function normalizeField(f: OxmField): FieldBits | undefined {
  const { id, value, mask } = split(f);
  const name = nameOf(f);
  if (!mask) return { name, id, value, oxm: f };
  if (isAll(mask, 0)) return undefined;
  if (isAll(mask, 0xff)) {
    const { mask: _drop, ...exact } = f as OxmField & { mask?: unknown };
    return { name, id, value, oxm: exact as OxmField };
  }
  return { name, id, value, mask, oxm: f };
}

/** The canonical form of a match, or why Open vSwitch would refuse it. */
export function canonicalizeMatch(match: Match): CanonicalMatch | MatchProblem {
  const fields = new Map<string, FieldBits>();
  for (const f of match) {
    // As OVS: a field is a duplicate when an earlier entry constrained it (an all-zeros mask does not).
    const name = nameOf(f);
    if (fields.has(name)) return { problem: 'duplicate-field', field: name };
    const bits = normalizeField(f);
    if (bits) fields.set(name, bits);
  }
  for (const bits of fields.values()) {
    for (const [need, values] of PREREQUISITES.get(bits.name) ?? []) {
      const have = fields.get(need);
      if (!have || have.mask || !values.includes(readUint(have.value))) return { problem: 'missing-prerequisite', field: bits.name };
    }
  }
  // By field, not wire header: OVS stores a field the same whichever of its headers (OXM, NXM) carried it.
  const key = [...fields.values()]
    .map((b) => `${b.name}=${b.value.toString('hex')}${b.mask ? `/${b.mask.toString('hex')}` : ''}`)
    .sort()
    .join(',');
  return { fields, key, match: [...fields.values()].map((b) => b.oxm) };
}

export function isMatchProblem(x: CanonicalMatch | MatchProblem): x is MatchProblem {
  return 'problem' in x;
}

/**
 * Why a masked entry is not in canonical form, or undefined when it is: its
 * mask is all ones (write the exact value), all zeros (leave the field out),
 * not a prefix when `prefixOnly`, or the codec refuses it (a value with bits
 * outside the mask, which switches reject with OFPBMC_BAD_WILDCARDS).
 */
export function describeMaskProblem(f: OxmField, prefixOnly: boolean): string | undefined {
  let parts: ReturnType<typeof split>;
  try {
    parts = split(f);
  } catch (err) {
    if (err instanceof EncodeError) return err.message; // e.g. value bits outside the mask, which switches refuse
    throw err;
  }
  const { mask } = parts;
  if (!mask) return undefined;
  const name = f.field === 'unknown' ? 'an unknown field' : f.field;
  if (isAll(mask, 0)) return `${name} has an all-zeros mask: leave the field out`;
  if (isAll(mask, 0xff)) return `${name} has an all-ones mask: match the exact value`;
  if (prefixOnly && !isPrefix(mask)) return `${name} mask ${mask.toString('hex')} is not a prefix`;
  return undefined;
}

/** Whether the mask's one bits are all leading (a CIDR prefix). */
function isPrefix(mask: Buffer): boolean {
  let seenZero = false;
  for (const b of mask) {
    for (let bit = 7; bit >= 0; bit--) {
      const one = ((b >> bit) & 1) === 1;
      if (one && seenZero) return false;
      if (!one) seenZero = true;
    }
  }
  return true;
}

/** Big-endian unsigned integer of up to 6 bytes (prerequisite fields are 1 or 2). */
function readUint(b: Buffer): number {
  let v = 0;
  for (const x of b) v = v * 256 + x;
  return v;
}
