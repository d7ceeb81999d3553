/**
 * Security groups (SPEC §3, §4 tables 30/31 and 60/61): stateful rules with
 * conntrack. Only endpoints with at least one group get policy flows; one
 * without keeps the open behaviour (its IP skips the policy tables).
 *
 *   egress-policy (30)     in_port=P, ip  → reg6=P, ct(zone=P, table=31)
 *   ingress-policy (60)    reg2=P,    ip  → reg6=P, ct(zone=P, table=61)
 *                          ICMPv6 ND (133..136) to/from P passes untracked
 *   *-policy-eval (31/61)  +inv                       → drop
 *                          +est, reg6=P, ct_mark=M(R) → pass (R a rule of P's groups)
 *                          +rel                       → pass
 *                          +new, reg6=P, rule R       → ct(commit, ct_mark=M(R)), pass
 *                          else                       → drop (table miss)
 *
 * Zones are per endpoint (its OpenFlow port, unique on its host), as OVN zones
 * per logical port: A's egress and B's ingress are separate conntrack
 * decisions even when A and B share a host, and two tenants using the same
 * addresses never share a conntrack entry. Since both directions of one
 * endpoint use its zone, a reply (+est+rpl) of a connection it opened passes
 * ingress without an ingress rule.
 *
 * Revocation: a connection is committed with the 32-bit mark of the rule that
 * admitted it, and established packets pass only while a flow for that mark
 * exists for that endpoint. Removing the rule (or the endpoint's group) removes
 * the flow, so the connection's next packet is dropped — in both directions.
 *
 * Remote groups use conjunctive matches (ovs-fields(7) conj_id): clause 1 is
 * the peer address, one flow per member address per table on each host where
 * the member's network is present, in the *member's* partition, carrying
 * conjunction(c(R), 1/2) for every rule R that names one of its groups; clause 2
 * is the rule's endpoint and protocol/ports, in the local endpoint's partition.
 * A member joining a group therefore changes its own one or two flows per
 * host, whatever the size of the group and the number of rules naming it.
 */
import type { Action } from '../../protocols/openflow/actions';
import { cookie, FEATURE, objectIdOf } from '../pipeline/cookies';
import { CT_STATE, ETH_TYPE, ICMPV6_ND_TYPES, IP_PROTO, m, REG, setField, type FieldMatch } from '../pipeline/fields';
import { applyThenGoto, buildFlow, type Flow } from '../pipeline/flow';
import { EGRESS_POLICY, EGRESS_POLICY_EVAL, INGRESS_POLICY, INGRESS_POLICY_EVAL, L3, OUTPUT, type TableDef } from '../pipeline/tables';
import type { Network, SecurityGroup, SecurityGroupRule } from '../store/model';
import { ipv4Of, ipv6Of } from './addresses';
import type { Placed, Snapshot } from './snapshot';

const markMemo = new Map<string, number>();

/** The 32-bit ct_mark (and conjunction id) of a rule: from its id, stable like cookies; never 0 (0 is "no mark"). */
export function markOfRule(ruleId: string): number {
  let v = markMemo.get(ruleId);
  if (v === undefined) {
    v = Number(objectIdOf(`rule:${ruleId}`) & 0xffffffffn) || 1;
    if (markMemo.size >= 500_000) markMemo.clear();
    markMemo.set(ruleId, v);
  }
  return v;
}

/** What a rule compiles to whatever endpoint it applies to (all but the zone): worked out once per rule record. */
interface RuleParts {
  readonly cookie: bigint;
  readonly mark: number;
  readonly protos: readonly FieldMatch[][];
  /** Remote CIDR match on the peer (none: any peer, or a remote group). */
  readonly remote: FieldMatch | undefined;
  readonly commit: Action[];
}

/**
 * Rule records are immutable and replaced when their group changes (the model
 * cache holds new objects), so the parts are keyed by the record itself: an
 * endpoint with 5 groups of 20 rules recompiled, or another endpoint of the same
 * groups, reuses them instead of hashing and masking again.
 */
const partsMemo = new WeakMap<SecurityGroupRule, RuleParts>();
function partsOf(rule: SecurityGroupRule): RuleParts {
  let p = partsMemo.get(rule);
  if (!p) {
    p = { cookie: cookie(FEATURE.POLICY_RULE, rule.id), mark: markOfRule(rule.id), protos: protocolMatches(rule), remote: remoteCidrMatch(directionOf(rule), rule), commit: commitActions(rule) };
    partsMemo.set(rule, p);
  }
  return p;
}

/** A rule with the group it belongs to. */
export interface GroupRule {
  readonly group: SecurityGroup;
  readonly rule: SecurityGroupRule;
}

/** The rules in force for an endpoint: those of its groups that exist, in group order. */
export function rulesOfEndpoint(snapshot: Snapshot, groupIds: readonly string[]): GroupRule[] {
  const out: GroupRule[] = [];
  for (const id of groupIds) {
    const group = snapshot.securityGroups?.get(id);
    if (group) for (const rule of group.rules) out.push({ group, rule });
  }
  return out;
}

/** Whether the endpoint has security policy (at least one group named). */
export function hasPolicy(p: Placed): boolean {
  return p.endpoint.securityGroups.length > 0;
}

interface Direction {
  readonly entry: typeof EGRESS_POLICY | typeof INGRESS_POLICY;
  readonly evalTable: typeof EGRESS_POLICY_EVAL | typeof INGRESS_POLICY_EVAL;
  readonly next: TableDef;
  /** The endpoint's port in the entry table: the packet's source port (egress) or output port (ingress). */
  readonly portField: 'in_port' | typeof REG.OUT_PORT;
  /** The peer's address: the destination (egress) or the source (ingress). */
  readonly peer4: 'ip_dst' | 'ip_src';
  readonly peer6: 'ipv6_dst' | 'ipv6_src';
}

const EGRESS: Direction = { entry: EGRESS_POLICY, evalTable: EGRESS_POLICY_EVAL, next: L3, portField: 'in_port', peer4: 'ip_dst', peer6: 'ipv6_dst' };
const INGRESS: Direction = { entry: INGRESS_POLICY, evalTable: INGRESS_POLICY_EVAL, next: OUTPUT, portField: REG.OUT_PORT, peer4: 'ip_src', peer6: 'ipv6_src' };
const directionOf = (r: SecurityGroupRule): Direction => (r.direction === 'egress' ? EGRESS : INGRESS);

const ctNew = m('ct_state', CT_STATE.NEW | CT_STATE.TRACKED, CT_STATE.NEW | CT_STATE.TRACKED | CT_STATE.INVALID);
const ctEst = m('ct_state', CT_STATE.ESTABLISHED | CT_STATE.TRACKED, CT_STATE.ESTABLISHED | CT_STATE.TRACKED | CT_STATE.INVALID);
const ctRel = m('ct_state', CT_STATE.RELATED | CT_STATE.TRACKED, CT_STATE.RELATED | CT_STATE.TRACKED | CT_STATE.INVALID);
const ctInv = m('ct_state', CT_STATE.INVALID | CT_STATE.TRACKED, CT_STATE.INVALID | CT_STATE.TRACKED);
const zoneRef = { field: REG.ZONE, ofs: 0, nBits: 16 } as const;

const ethTypeOf = (r: SecurityGroupRule): number => (r.ethertype === 'IPv6' ? ETH_TYPE.IPV6 : ETH_TYPE.IPV4);

/** Flows every endpoint with policy needs, shared by all of them (the same key and content in each partition). */
function compileSharedEvalFlows(): Flow[] {
  const c = cookie(FEATURE.POLICY_PORT, 'policy');
  const out: Flow[] = [];
  for (const d of [EGRESS, INGRESS]) {
    out.push(buildFlow(d.evalTable, 'invalid', [ctInv], [], c));
    out.push(buildFlow(d.evalTable, 'related', [ctRel], applyThenGoto([], d.next), c));
  }
  return out;
}

/** IPv4/IPv6 into conntrack in the endpoint's zone; ND around it. */
function compileEntryFlows(p: Placed): Flow[] {
  const c = cookie(FEATURE.POLICY_PORT, p.endpoint.id);
  const out: Flow[] = [];
  for (const d of [EGRESS, INGRESS]) {
    const port = m(d.portField, p.ofport);
    for (const type of ICMPV6_ND_TYPES) {
      out.push(buildFlow(d.entry, 'nd', [port, m('eth_type', ETH_TYPE.IPV6), m('ip_proto', IP_PROTO.ICMPV6), m('icmpv6_type', type)], applyThenGoto([], d.next), c));
    }
    for (const ethType of [ETH_TYPE.IPV4, ETH_TYPE.IPV6]) {
      const track: Action[] = [setField(REG.ZONE, p.ofport), { type: 'ct', zone: p.ofport, table: d.evalTable.id }];
      out.push(buildFlow(d.entry, 'track', [port, m('eth_type', ethType)], applyThenGoto(track), c));
    }
  }
  return out;
}

/** The commit of a new connection a rule allows: its mark in ct_mark, then on. */
function commitActions(rule: SecurityGroupRule): Action[] {
  return [{ type: 'ct', commit: true, zone: zoneRef, actions: [setField('ct_mark', markOfRule(rule.id))] }];
}

/** The protocol part of a rule: ethertype, protocol, masked port ranges (one match per mask), ICMP type/code. */
export function protocolMatches(rule: SecurityGroupRule): FieldMatch[][] {
  const base: FieldMatch[] = [m('eth_type', ethTypeOf(rule))];
  const proto = rule.protocol === undefined ? undefined : typeof rule.protocol === 'number' ? rule.protocol : PROTO_NUMBER[rule.protocol];
  if (proto === undefined) return [base];
  base.push(m('ip_proto', proto));
  if (rule.portMin !== undefined && (proto === IP_PROTO.TCP || proto === IP_PROTO.UDP)) {
    const field = proto === IP_PROTO.TCP ? 'tcp_dst' : 'udp_dst';
    return portRangeMasks(rule.portMin, rule.portMax ?? rule.portMin).map(([value, mask]) => [...base, mask === 0xffff ? m(field, value) : masked(field, value, mask)]);
  }
  if (rule.icmpType !== undefined) {
    const v6 = proto === IP_PROTO.ICMPV6;
    base.push(m(v6 ? 'icmpv6_type' : 'icmp_type', rule.icmpType));
    if (rule.icmpCode !== undefined) base.push(m(v6 ? 'icmpv6_code' : 'icmp_code', rule.icmpCode));
  }
  return [base];
}

/**
 * Masked matches are checked once per object by buildFlow (flow.ts remembers
 * the entries it found canonical): hand out one object per field, value and
 * mask, so a rule compiled for every endpoint is checked once.
 */
const maskedMemo = new Map<string, FieldMatch>();
function masked<F extends 'tcp_dst' | 'udp_dst' | 'ip_src' | 'ip_dst' | 'ipv6_src' | 'ipv6_dst'>(field: F, value: string | number, mask: string | number): FieldMatch {
  const key = `${field}=${value}/${mask}`;
  let f = maskedMemo.get(key);
  if (!f) {
    if (maskedMemo.size > 100_000) maskedMemo.clear();
    maskedMemo.set(key, (f = { field, value, mask } as FieldMatch));
  }
  return f;
}

const PROTO_NUMBER: Readonly<Record<string, number>> = { tcp: IP_PROTO.TCP, udp: IP_PROTO.UDP, icmp: IP_PROTO.ICMP, icmpv6: IP_PROTO.ICMPV6 };

/**
 * A port range as the fewest value/mask pairs that cover exactly it (the
 * usual prefix split, as ovs-ofctl users write `tp_dst=0x1000/0xf000`):
 * 1..65535 is 16 pairs at most; 0..65535 would be no match at all.
 */
export function portRangeMasks(min: number, max: number): [number, number][] {
  const out: [number, number][] = [];
  let lo = min;
  while (lo <= max) {
    let size = 1;
    while (size < 0x10000 && lo % (size * 2) === 0 && lo + size * 2 - 1 <= max) size *= 2;
    out.push([lo, 0xffff & ~(size - 1)]);
    lo += size;
  }
  return out;
}

/** The remote CIDR of a rule as a match on the peer address (none for ::/0 or 0.0.0.0/0). */
function remoteCidrMatch(d: Direction, rule: SecurityGroupRule): FieldMatch | undefined {
  if (rule.remoteCidr === undefined) return undefined;
  const [addr, lenText] = rule.remoteCidr.split('/') as [string, string];
  const len = Number(lenText);
  if (len === 0) return undefined;
  const v6 = rule.ethertype === 'IPv6';
  const bits = v6 ? 128 : 32;
  if (len === bits) return v6 ? m(d.peer6, addr) : m(d.peer4, addr);
  return v6 ? masked(d.peer6, addr, prefixMask6(len)) : masked(d.peer4, addr, prefixMask4(len));
}

function prefixMask4(len: number): string {
  const v = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  return [24, 16, 8, 0].map((s) => (v >>> s) & 0xff).join('.');
}

function prefixMask6(len: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) {
    const bits = Math.max(0, Math.min(16, len - i * 16));
    groups.push(((0xffff << (16 - bits)) & 0xffff).toString(16));
  }
  return groups.join(':');
}

/** Adds a flow unless the partition already has one with the same table, priority and match (first rule wins the mark). */
function addUnique(out: Flow[], seen: Map<string, Flow>, f: Flow): void {
  const key = canonicalKey(f);
  if (seen.has(key)) return;
  seen.set(key, f);
  out.push(f);
}

/**
 * The policy flows of a local endpoint with groups: conntrack entry, the
 * established flows of each of its rules, and each rule's new-connection
 * flows (remote CIDR or any: one flow per port mask; remote group: clause 2
 * of the rule's conjunction, merged per match, and the rule's conj_id flow).
 */
export function compileEndpointPolicy(snapshot: Snapshot, p: Placed): Flow[] {
  if (!hasPolicy(p)) return [];
  const out: Flow[] = [...compileSharedEvalFlows(), ...compileEntryFlows(p)];
  const seen = new Map<string, Flow>();
  const zone = m(REG.ZONE, p.ofport);
  /** Clause-2 conjunctions by match key: one flow carries every rule with that match. */
  const clauses = new Map<string, { table: typeof EGRESS_POLICY_EVAL | typeof INGRESS_POLICY_EVAL; match: FieldMatch[]; actions: Action[]; cookie: bigint }>();
  const rules = rulesOfEndpoint(snapshot, p.endpoint.securityGroups);
  const marks = new Set<number>();
  for (const { rule } of rules) {
    const d = directionOf(rule);
    const parts = partsOf(rule);
    const c = parts.cookie;
    const mark = parts.mark;
    if (!marks.has(mark)) {
      marks.add(mark);
      for (const dir of [EGRESS, INGRESS]) addUnique(out, seen, buildFlow(dir.evalTable, 'established', [zone, ctEst, m('ct_mark', mark)], applyThenGoto([], dir.next), c));
    }
    for (const proto of parts.protos) {
      if (rule.remoteGroup !== undefined) {
        const match = [zone, ctNew, ...proto];
        const f = buildFlow(d.evalTable, 'remote-group', match, [], c);
        const key = canonicalKey(f);
        const entry = clauses.get(key) ?? { table: d.evalTable, match, actions: [], cookie: c };
        entry.actions.push({ type: 'conjunction', id: mark, clause: 2, nClauses: 2 });
        clauses.set(key, entry);
        continue;
      }
      addUnique(out, seen, buildFlow(d.evalTable, 'rule', [zone, ctNew, ...proto, ...(parts.remote ? [parts.remote] : [])], applyThenGoto(parts.commit, d.next), c));
    }
    if (rule.remoteGroup !== undefined) {
      addUnique(out, seen, buildFlow(d.evalTable, 'remote-group', [m('conj_id', mark), m('eth_type', ethTypeOf(rule))], applyThenGoto(parts.commit, d.next), c));
    }
  }
  for (const e of [...clauses.values()].sort((a, b) => (a.cookie < b.cookie ? -1 : a.cookie > b.cookie ? 1 : 0))) {
    const actions = [...e.actions].sort((a, b) => (a.type === 'conjunction' && b.type === 'conjunction' ? a.id - b.id : 0));
    out.push(buildFlow(e.table, 'remote-group', e.match, applyThenGoto(actions), e.cookie));
  }
  return out;
}

/**
 * A key for flows this module builds: they list their fields in one fixed
 * order, so the match as written identifies the match as OVS stores it (no
 * need for the canonical bytes, which cost more than building the flow).
 */
function canonicalKey(f: Flow): string {
  let key = `${f.table.id}/${f.priority}`;
  for (const x of f.match) key += `,${x.field}=${String(x.value)}${x.mask === undefined ? '' : `/${String(x.mask)}`}`;
  return key;
}

/** Every rule (of any group of the endpoint's tenant) whose remote group is one of `groupIds`. */
export function rulesNamingGroups(snapshot: Snapshot, groupIds: readonly string[]): SecurityGroupRule[] {
  if (!groupIds.length || !snapshot.securityGroups) return [];
  const wanted = new Set(groupIds);
  const tenants = new Set<string>();
  for (const id of groupIds) {
    const g = snapshot.securityGroups.get(id);
    if (g) tenants.add(g.tenant);
  }
  const out: SecurityGroupRule[] = [];
  for (const g of snapshot.securityGroups.values()) {
    if (!tenants.has(g.tenant)) continue;
    for (const r of g.rules) if (r.remoteGroup !== undefined && wanted.has(r.remoteGroup)) out.push(r);
  }
  const marks = new Map(out.map((r) => [r, markOfRule(r.id)] as const));
  return out.sort((a, b) => marks.get(a)! - marks.get(b)!);
}

/**
 * Clause 1 of every conjunction naming one of the endpoint's groups: its
 * address as the peer, once per table and address, on every host where its
 * network is present (the member may be remote). reg0 keeps two tenants'
 * equal addresses apart.
 */
export function compileMemberFlows(snapshot: Snapshot, network: Network, p: Placed): Flow[] {
  const rules = rulesNamingGroups(snapshot, p.endpoint.securityGroups);
  if (!rules.length) return [];
  const c = cookie(FEATURE.POLICY_MEMBER, p.endpoint.id);
  const vni = m(REG.NETWORK, network.vni);
  const out: Flow[] = [];
  for (const d of [EGRESS, INGRESS]) {
    for (const v6 of [false, true]) {
      const ids = [...new Set(rules.filter((r) => directionOf(r) === d && (r.ethertype === 'IPv6') === v6).map((r) => markOfRule(r.id)))].sort((a, b) => a - b);
      if (!ids.length) continue;
      const actions: Action[] = ids.map((id) => ({ type: 'conjunction', id, clause: 1, nClauses: 2 }));
      for (const ip of v6 ? ipv6Of(p.endpoint.ips) : ipv4Of(p.endpoint.ips)) {
        const peer = v6 ? m(d.peer6, ip) : m(d.peer4, ip);
        out.push(buildFlow(d.evalTable, 'remote-group', [vni, ctNew, m('eth_type', v6 ? ETH_TYPE.IPV6 : ETH_TYPE.IPV4), peer], applyThenGoto(actions), c));
      }
    }
  }
  return out;
}
