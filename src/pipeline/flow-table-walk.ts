/**
 * An in-memory OpenFlow 1.3 switch that only forwards: given a set of flows
 * (the compiler's output, or flows read back from a switch) and a packet,
 * where does the packet go, and through which flows? Used by the fast tests of
 * the compiler, the simulated switch (bench/sim) and the trace API (SPEC §6),
 * which must agree with `ovs-appctl ofproto/trace` on the real switch.
 *
 * Semantics follow OpenFlow 1.3.5 §5 and Open vSwitch (ofproto/ofproto-dpif-xlate.c):
 *
 * - a table picks its highest-priority matching flow (ties: the flow whose
 *   canonical match sorts first, so the answer is deterministic); a packet no
 *   flow matches is dropped (OpenFlow 1.3 table-miss default);
 * - instructions run in the spec's order: apply_actions, clear_actions,
 *   write_actions, write_metadata, goto_table; the action set runs when the
 *   pipeline ends;
 * - goto_table and resubmit look the packet up again (resubmit then carries on
 *   with the actions after it); past 64 nested lookups the packet is dropped
 *   whole, as OVS drops it;
 * - output to the packet's own in_port is skipped unless it names OFPP_IN_PORT;
 *   output to a tunnel port carries tun_id and the port's remote IP (or the
 *   tun_dst the flows set); output to OFPP_CONTROLLER and the controller action
 *   punt the packet;
 * - groups: ALL runs every bucket on a copy, INDIRECT its bucket, SELECT and
 *   FF the first bucket (the walk has no hash and no liveness);
 * - set_field, reg_load, reg_move, write_metadata, dec_ttl change the packet
 *   seen by later tables and outputs; clone runs its actions on a copy; exit
 *   stops every further action and lookup and the action set (checked against
 *   ovs-vswitchd), and so does dec_ttl on an expiring TTL, after punting the
 *   packet to the controller (reason OFPR_INVALID_TTL) as OVS does.
 *
 * - conjunctive matches (conjunction(id, k/n), ovs-fields(7) conj_id): flows
 *   whose actions are all conjunction never match directly; when every clause
 *   of an id matched at a priority above any ordinary match, the table is
 *   looked up again with conj_id set;
 * - ct, on a switch given a `conntrack` (walk-conntrack.ts): lookup in the
 *   zone sets ct_state, ct_mark and ct_zone, commit records the connection
 *   with the nested ct_mark and nat translation, nat rewrites the addresses
 *   (replies reversed), table= recirculates there.
 *
 * Actions it cannot simulate (ct without a conntrack model, NAT port ranges, learn,
 * VLAN/MPLS/PBB push and pop...) throw WalkError naming the flow, rather than
 * guessing.
 *
 * `walkFabric` runs a packet across hosts: an output to a tunnel port arrives on
 * the host whose encap IP is the tunnel's remote IP, on its tunnel port toward
 * the sender, with tun_id, tun_src and tun_dst set and registers cleared.
 */
import { BufferReader } from '../../protocols/common/buffer-reader';
import { BufferWriter } from '../../protocols/common/buffer-writer';
import { PlexusError } from '../../protocols/common/errors';
import { OFPR, type Action } from '../../protocols/openflow/actions';
import { OFPGT, OFPP } from '../../protocols/openflow/constants';
import type { Instruction } from '../../protocols/openflow/instructions';
import { decodeOxm, encodeOxm, findField, resolveFieldRef, type FieldRef, type Match, type OxmValue } from '../../protocols/openflow/match';
import type { GroupDesc } from '../../protocols/openflow/messages';
import { bytesToBigInt } from '../../protocols/packet/address';
import { canonicalizeMatch, isMatchProblem } from './canonical-match';
import type { Flow } from './flow';
import { PIPELINE, type TableDef } from './tables';
import type { Conntrack } from './walk-conntrack';

/** The packet or the flows ask for something the walk does not simulate. */
export class WalkError extends PlexusError {
  override readonly name = 'WalkError';
}

/** A flow as a switch holds it. */
export interface TableFlow {
  readonly tableId: number;
  readonly priority: number;
  readonly match: Match;
  readonly instructions: readonly Instruction[];
  readonly cookie: bigint;
}

/** Packet header and metadata fields by ovs-fields(7) name, in the codec's representation; absent fields are 0. */
export type PacketFields = Readonly<Record<string, OxmValue>>;

/** A port of a walked switch: local (a workload) or a VXLAN tunnel with key=flow (`remoteIp: 'flow'`: remote_ip=flow, the flows set tun_dst). */
export type WalkPort =
  | { readonly kind: 'local'; readonly name?: string }
  | { readonly kind: 'tunnel'; readonly name?: string; readonly remoteIp: string; readonly localIp?: string };

interface IndexedFlow {
  readonly flow: TableFlow;
  readonly key: string;
  readonly tests: readonly { readonly name: string; readonly value: bigint; readonly mask: bigint }[];
  /** Set when every action of the flow is conjunction: the clauses it contributes. */
  readonly conjunctions?: readonly { readonly id: number; readonly clause: number; readonly nClauses: number }[];
}

/** Flows indexed for lookup: per table, by descending priority. */
export interface FlowTables {
  readonly byTable: ReadonlyMap<number, readonly IndexedFlow[]>;
  readonly size: number;
}

/** What the walk needs to know about one switch. */
export interface WalkSwitch {
  readonly flows: FlowTables;
  /** Tunnel ports must be listed; a port not listed is a local port. */
  readonly ports?: ReadonlyMap<number, WalkPort>;
  readonly groups?: ReadonlyMap<number, GroupDesc>;
  /** Connection tracking state for `ct` (absent: ct is not simulated). */
  readonly conntrack?: Conntrack;
}

/** One table lookup on the packet's path. */
export interface Hop {
  readonly tableId: number;
  /** The pipeline's declaration of this table, when it is one of Plexus' tables. */
  readonly table?: TableDef;
  /** The flow that matched; absent on a table miss. */
  readonly flow?: TableFlow;
  /** Nesting of lookups (goto_table, resubmit): 0 for the first table. */
  readonly depth: number;
}

/** A copy of the packet leaving the switch; `cookie` is the flow whose action sent it, `packet` the fields at that moment. */
export type Output = { readonly cookie: bigint; readonly packet: PacketFields } & (
  | { readonly kind: 'port'; readonly port: number }
  | { readonly kind: 'tunnel'; readonly port: number; readonly tunId: bigint; readonly tunDst: string; readonly tunSrc?: string }
  | { readonly kind: 'controller'; readonly reason: number; readonly userdata?: Buffer }
);

export type Verdict = 'delivered' | 'to-controller' | 'dropped';

export interface WalkResult {
  readonly hops: readonly Hop[];
  readonly outputs: readonly Output[];
  readonly verdict: Verdict;
  /** Why, in words: what was output, or where the packet was dropped. */
  readonly reason: string;
}

/** OVS's limit on nested lookups (MAX_DEPTH in ofproto-dpif-xlate.c). */
const MAX_DEPTH = 64;
/** OVS's limit on lookups per packet (MAX_RESUBMITS). */
const MAX_LOOKUPS = 4096;

const TABLES = new Map(PIPELINE.map((t) => [t.id, t]));

/** The compiler's flows as the switch holds them. */
export function tableFlowsOf(flows: Iterable<Flow>): TableFlow[] {
  const out: TableFlow[] = [];
  for (const f of flows) out.push({ tableId: f.table.id, priority: f.priority, match: f.match, instructions: f.instructions, cookie: f.cookie });
  return out;
}

/** Indexes flows for lookup; throws WalkError for a match Open vSwitch would refuse. */
export function indexFlows(flows: Iterable<TableFlow>): FlowTables {
  const byTable = new Map<number, IndexedFlow[]>();
  let size = 0;
  for (const flow of flows) {
    const c = canonicalizeMatch(flow.match);
    if (isMatchProblem(c)) throw new WalkError(`flow in table ${flow.tableId} priority ${flow.priority}: ${c.problem} (${c.field})`);
    const tests = [...c.fields.values()].map((b) => {
      const value = bytesToBigInt(b.value);
      return { name: b.name, value, mask: b.mask ? bytesToBigInt(b.mask) : allOnes(b.value.length * 8) };
    });
    let list = byTable.get(flow.tableId);
    if (!list) byTable.set(flow.tableId, (list = []));
    const conjunctions = conjunctionsOf(flow);
    list.push({ flow, key: c.key, tests, ...(conjunctions ? { conjunctions } : {}) });
    size++;
  }
  for (const list of byTable.values()) list.sort((a, b) => b.flow.priority - a.flow.priority || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { byTable, size };
}

/** The conjunction clauses of a flow whose only actions are conjunction actions (OVS refuses a mix). */
function conjunctionsOf(flow: TableFlow): IndexedFlow['conjunctions'] {
  const apply = flow.instructions.find((i) => i.type === 'apply_actions');
  if (apply?.type !== 'apply_actions' || !apply.actions.length) return undefined;
  const out: { id: number; clause: number; nClauses: number }[] = [];
  for (const a of apply.actions) {
    if (a.type !== 'conjunction') return undefined;
    out.push({ id: a.id, clause: a.clause, nClauses: a.nClauses });
  }
  return out;
}

// ---------------------------------------------------------------------------
// Field values as unsigned integers of the field's width.

function allOnes(bits: number): bigint {
  return (1n << BigInt(bits)) - 1n;
}

function fieldDef(name: string): NonNullable<ReturnType<typeof findField>> {
  const d = findField(name);
  if (!d) throw new WalkError(`unknown field ${JSON.stringify(name)}`);
  if (d.variable) throw new WalkError(`variable-length field ${name} is not simulated`);
  return d;
}

/** A field value (codec representation) → its wire bytes as an integer. */
function encodeValue(name: string, value: OxmValue): bigint {
  const d = fieldDef(name);
  const w = new BufferWriter(32);
  encodeOxm(w, { field: name, value });
  const b = w.finish();
  return bytesToBigInt(b.subarray(b.length - d.match.bytes));
}

/** The wire bytes of a field as an integer → the codec representation. */
function decodeValue(name: string, value: bigint): OxmValue {
  const d = fieldDef(name);
  const h = d.match;
  const exp = h.experimenter !== undefined ? 4 : 0;
  const b = Buffer.alloc(4 + exp + h.bytes);
  b.writeUInt32BE(((h.oxmClass << 16) | (h.fieldNum << 9) | (exp + h.bytes)) >>> 0, 0);
  if (h.experimenter !== undefined) b.writeUInt32BE(h.experimenter, 4);
  let v = value;
  for (let i = b.length - 1; i >= 4 + exp; i--) {
    b[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return decodeOxm(new BufferReader(b)).value;
}

/** The packet while it is walked: field → value bits, and the fields given or set (what an output reports). */
interface PacketState {
  readonly fields: Map<string, bigint>;
  readonly named: Set<string>;
}

function stateOf(packet: PacketFields): PacketState {
  const s: PacketState = { fields: new Map(), named: new Set() };
  for (const [name, value] of Object.entries(packet)) setValue(s, name, encodeValue(name, value));
  return s;
}

function copyState(s: PacketState): PacketState {
  return { fields: new Map(s.fields), named: new Set(s.named) };
}

function getValue(s: PacketState, name: string): bigint {
  return s.fields.get(name) ?? 0n;
}

function setValue(s: PacketState, name: string, value: bigint): void {
  s.fields.set(name, value);
  s.named.add(name);
}

/** Writes the referenced bits (NXM numbering: bit 0 is the least significant). */
function setBits(s: PacketState, ref: FieldRef, value: bigint): void {
  const { ofs, nBits } = resolveFieldRef(ref);
  const mask = allOnes(nBits) << BigInt(ofs);
  setValue(s, ref.field, (getValue(s, ref.field) & ~mask) | ((value << BigInt(ofs)) & mask));
}

function getBits(s: PacketState, ref: FieldRef): bigint {
  const { ofs, nBits } = resolveFieldRef(ref);
  return (getValue(s, ref.field) >> BigInt(ofs)) & allOnes(nBits);
}

function viewOf(s: PacketState): PacketFields {
  const out: Record<string, OxmValue> = {};
  for (const name of s.named) out[name] = decodeValue(name, getValue(s, name));
  return out;
}

// ---------------------------------------------------------------------------
// The walk.

interface Walk {
  readonly sw: WalkSwitch;
  readonly hops: Hop[];
  readonly outputs: Output[];
  lookups: number;
  /** Set by a lookup limit: the packet is dropped whole, nothing more runs. */
  stopped?: string;
  /** Set by the exit action and an expired TTL: nothing more runs, the action set included (as ovs-vswitchd 3.1 does). */
  exited?: string;
  /** The OpenFlow action set (§5.10), shared by every lookup of the packet, resubmits included (as OVS). */
  readonly actionSet: Map<string, Action>;
  /** Where the last lookup left the packet (for the drop reason). */
  lastMiss?: number;
  /** Cookie of the flow whose actions are running. */
  cookie: bigint;
}

/** Runs a packet through one switch's flows, starting at table 0. */
export function walkPacket(sw: WalkSwitch, packet: PacketFields): WalkResult {
  const walk: Walk = { sw, hops: [], outputs: [], lookups: 0, cookie: 0n, actionSet: new Map() };
  const state = stateOf(packet);
  lookup(walk, state, 0, 0);
  if (!walk.stopped && !walk.exited) runActions(walk, state, orderedActionSet(walk.actionSet), 0);
  return finish(walk);
}

function finish(walk: Walk): WalkResult {
  // A lookup limit drops the packet whole, copies already output included (as ovs-vswitchd).
  if (walk.stopped) return { hops: walk.hops, outputs: [], verdict: 'dropped', reason: walk.stopped };
  const delivered = walk.outputs.filter((o) => o.kind !== 'controller');
  let verdict: Verdict;
  let reason: string;
  if (delivered.length) {
    verdict = 'delivered';
    reason = `output to ${delivered.map((o) => (o.kind === 'tunnel' ? `tunnel port ${o.port} (tun_id=${o.tunId}, remote ${o.tunDst})` : `port ${o.port}`)).join(', ')}`;
  } else if (walk.outputs.length) {
    verdict = 'to-controller';
    reason = 'sent to the controller';
  } else {
    verdict = 'dropped';
    reason = walk.exited
      ? `stopped by ${walk.exited} before any output`
      : walk.lastMiss !== undefined
        ? `no flow matched in ${describeTable(walk.lastMiss)}`
        : describeLastFlow(walk.hops);
  }
  return { hops: walk.hops, outputs: walk.outputs, verdict, reason };
}

/** Why a packet whose last lookup matched a flow went nowhere. */
function describeLastFlow(hops: readonly Hop[]): string {
  const last = hops[hops.length - 1];
  if (!last?.flow) return 'the matching flows output nothing';
  const f = last.flow;
  if (f.priority === 0 && f.match.length === 0) return `dropped by the table-miss flow of ${describeTable(last.tableId)}`;
  return `the flow in ${describeTable(last.tableId)} priority ${f.priority} outputs nothing`;
}

function describeTable(id: number): string {
  const t = TABLES.get(id);
  return t ? `table ${t.name} (${id})` : `table ${id}`;
}

function matchesFlow(f: IndexedFlow, state: PacketState): boolean {
  for (const t of f.tests) if ((getValue(state, t.name) & t.mask) !== t.value) return false;
  return true;
}

/**
 * The flow a table picks: the highest-priority ordinary match, unless a
 * conjunctive match completes at a higher priority — then the table is looked
 * up again with conj_id set (conjunction flows take no part in that lookup).
 */
function findFlow(sw: WalkSwitch, tableId: number, state: PacketState): IndexedFlow | undefined {
  const flows = sw.flows.byTable.get(tableId) ?? [];
  const clauses = new Map<number, { priority: number; nClauses: number; seen: Set<number> }>();
  let completed: { id: number; priority: number } | undefined;
  for (const f of flows) {
    if (completed && f.flow.priority < completed.priority) break;
    if (!matchesFlow(f, state)) continue;
    if (!f.conjunctions) {
      if (!completed) return f;
      break;
    }
    for (const c of f.conjunctions) {
      const e = clauses.get(c.id) ?? { priority: f.flow.priority, nClauses: c.nClauses, seen: new Set<number>() };
      if (e.priority !== f.flow.priority) continue; // OVS: one conjunction id lives at one priority
      e.seen.add(c.clause);
      clauses.set(c.id, e);
      if (e.seen.size === e.nClauses && (!completed || c.id < completed.id)) completed = { id: c.id, priority: f.flow.priority };
    }
  }
  if (!completed) return undefined;
  setValue(state, 'conj_id', BigInt(completed.id));
  for (const f of flows) if (!f.conjunctions && matchesFlow(f, state)) return f;
  return undefined;
}

function lookup(walk: Walk, state: PacketState, tableId: number, depth: number): void {
  if (walk.stopped || walk.exited) return;
  if (depth >= MAX_DEPTH || ++walk.lookups > MAX_LOOKUPS) {
    walk.stopped = `over ${depth >= MAX_DEPTH ? `${MAX_DEPTH} nested lookups` : `${MAX_LOOKUPS} lookups`} (a resubmit loop): dropped`;
    return;
  }
  const table = TABLES.get(tableId);
  const hit = findFlow(walk.sw, tableId, state);
  if (!hit) {
    walk.hops.push({ tableId, ...(table ? { table } : {}), depth });
    walk.lastMiss = tableId;
    return;
  }
  walk.lastMiss = undefined;
  const flow = hit.flow;
  walk.hops.push({ tableId, ...(table ? { table } : {}), flow, depth });
  const ins = (type: Instruction['type']): Instruction | undefined => flow.instructions.find((i) => i.type === type);
  for (const i of flow.instructions) {
    if (i.type === 'experimenter' || i.type === 'unknown') throw new WalkError(`flow in ${describeTable(tableId)}: instruction ${i.type} is not simulated`);
  }
  walk.cookie = flow.cookie;
  const apply = ins('apply_actions');
  if (apply?.type === 'apply_actions') runActions(walk, state, apply.actions, depth, tableId);
  if (walk.stopped || walk.exited) return;
  if (ins('clear_actions')) walk.actionSet.clear();
  const write = ins('write_actions');
  if (write?.type === 'write_actions') for (const a of write.actions) walk.actionSet.set(actionSetKey(a), a);
  const meta = ins('write_metadata');
  if (meta?.type === 'write_metadata') {
    const mask = meta.mask ?? allOnes(64);
    setValue(state, 'metadata', (getValue(state, 'metadata') & ~mask) | (meta.metadata & mask));
  }
  const goto = ins('goto_table');
  if (goto?.type === 'goto_table') lookup(walk, state, goto.tableId, depth + 1);
}

/** One action of each kind in the action set (OpenFlow 1.3.5 §5.10); set_field once per field. */
function actionSetKey(a: Action): string {
  return a.type === 'set_field' ? `set_field:${a.field}` : a.type;
}

/** The action set in the order §5.10 executes it: field changes, then group, then output. */
function orderedActionSet(set: ReadonlyMap<string, Action>): Action[] {
  const rank = (a: Action): number => (a.type === 'output' ? 2 : a.type === 'group' ? 1 : 0);
  return [...set.values()].sort((a, b) => rank(a) - rank(b));
}

function runActions(walk: Walk, state: PacketState, actions: readonly Action[], depth: number, tableId?: number): void {
  for (const a of actions) {
    if (walk.stopped || walk.exited) return;
    runAction(walk, state, a, depth, tableId);
  }
}

function runAction(walk: Walk, state: PacketState, a: Action, depth: number, tableId: number | undefined): void {
  switch (a.type) {
    case 'output':
      return output(walk, state, a.port);
    case 'output_reg':
      return output(walk, state, Number(getBits(state, a.src)));
    case 'controller':
      walk.outputs.push({ kind: 'controller', reason: a.reason ?? 1, ...(a.userdata ? { userdata: a.userdata } : {}), cookie: walk.cookie, packet: viewOf(state) });
      return;
    case 'set_field': {
      if (a.field === 'unknown') throw new WalkError('set_field on a field the codec does not know');
      const value = encodeValue(a.field, a.value as OxmValue);
      if (a.mask === undefined) return setValue(state, a.field, value);
      const mask = encodeValue(a.field, a.mask as OxmValue);
      return setValue(state, a.field, (getValue(state, a.field) & ~mask) | (value & mask));
    }
    case 'reg_load':
      return setBits(state, a.dst, BigInt(a.value));
    case 'reg_move':
      return setBits(state, a.dst, getBits(state, a.src));
    case 'resubmit': {
      const saved = getValue(state, 'in_port');
      const port = a.port ?? OFPP.IN_PORT;
      if (port !== OFPP.IN_PORT) setValue(state, 'in_port', BigInt(port));
      const cookie = walk.cookie;
      lookup(walk, state, a.table ?? tableId ?? 0, depth + 1);
      if (port !== OFPP.IN_PORT) setValue(state, 'in_port', saved);
      walk.cookie = cookie;
      return;
    }
    case 'group':
      return runGroup(walk, state, a.groupId, depth);
    case 'clone':
      return runActions(walk, copyState(state), a.actions, depth, tableId);
    case 'dec_nw_ttl':
    case 'dec_ttl': {
      const ttl = getValue(state, 'nw_ttl');
      if (ttl <= 1n) {
        // OVS punts the packet to each listed controller (OFPAT_DEC_NW_TTL: controller 0) and stops.
        for (const _id of a.type === 'dec_ttl' ? a.controllerIds : [0]) {
          walk.outputs.push({ kind: 'controller', reason: OFPR.INVALID_TTL, cookie: walk.cookie, packet: viewOf(state) });
        }
        walk.exited = 'the IP TTL expired';
        return;
      }
      return setValue(state, 'nw_ttl', ttl - 1n);
    }
    case 'set_nw_ttl':
      return setValue(state, 'nw_ttl', BigInt(a.ttl));
    case 'exit':
      walk.exited = 'an exit action';
      return;
    case 'ct':
      return runCt(walk, state, a, depth, tableId);
    case 'note':
    case 'set_queue':
    case 'pop_queue':
      return;
    default:
      throw new WalkError(`action ${a.type}${tableId !== undefined ? ` in ${describeTable(tableId)}` : ''} is not simulated`);
  }
}

/** `ct` on a switch with a conntrack model: look up (and commit) in the zone, then recirculate to `table` if given. */
function runCt(walk: Walk, state: PacketState, a: Extract<Action, { type: 'ct' }>, depth: number, tableId: number | undefined): void {
  const ct = walk.sw.conntrack;
  if (!ct) throw new WalkError(`action ct${tableId !== undefined ? ` in ${describeTable(tableId)}` : ''} is not simulated`);
  const zone = a.zone === undefined ? 0 : typeof a.zone === 'number' ? a.zone : Number(getBits(state, a.zone));
  const read = (name: string): OxmValue | undefined => (state.fields.has(name) ? decodeValue(name, getValue(state, name)) : undefined);
  // What the packet is before this ct: a connection committed by it is still +new in the recirculation.
  const found = ct.lookup(zone, read);
  let mark: number | undefined;
  let nat: Extract<Action, { type: 'nat' }> | undefined;
  for (const n of a.actions ?? []) {
    if (n.type === 'set_field' && n.field === 'ct_mark' && a.commit) mark = Number(n.value);
    else if (n.type === 'nat' && n.portMin === undefined && (n.ipMax === undefined || n.ipMax === n.ipMin)) nat = n;
    else throw new WalkError(`ct action ${n.type} inside ct${a.commit ? '' : ' without commit'} is not simulated`);
  }
  if (a.commit) {
    ct.commit(zone, read, mark, nat?.kind && nat.ipMin ? { kind: nat.kind, address: nat.ipMin } : undefined);
    if (mark !== undefined) setValue(state, 'ct_mark', BigInt(mark));
  }
  if (nat) for (const r of ct.translate(zone, read)) setValue(state, r.field, encodeValue(r.field, r.value));
  if (a.table === undefined) return;
  const recirculated = copyState(state);
  setValue(recirculated, 'ct_state', BigInt(found.state));
  setValue(recirculated, 'ct_mark', BigInt(a.commit && mark !== undefined ? mark : found.mark));
  setValue(recirculated, 'ct_zone', BigInt(zone));
  const cookie = walk.cookie;
  lookup(walk, recirculated, a.table, depth + 1);
  walk.cookie = cookie;
}

function runGroup(walk: Walk, state: PacketState, groupId: number, depth: number): void {
  const g = walk.sw.groups?.get(groupId);
  if (!g) return; // OVS drops a packet sent to a group that does not exist
  const buckets = g.groupType === OFPGT.ALL ? g.buckets : g.buckets.slice(0, 1);
  for (const b of buckets) runActions(walk, g.groupType === OFPGT.ALL ? copyState(state) : state, b.actions, depth);
}

function output(walk: Walk, state: PacketState, port: number): void {
  const inPort = Number(getValue(state, 'in_port'));
  switch (port) {
    case OFPP.IN_PORT:
      return deliver(walk, state, inPort);
    case OFPP.CONTROLLER:
      walk.outputs.push({ kind: 'controller', reason: 1, cookie: walk.cookie, packet: viewOf(state) });
      return;
    case OFPP.FLOOD:
    case OFPP.ALL:
      for (const p of walk.sw.ports?.keys() ?? []) if (p !== inPort) deliver(walk, state, p);
      return;
    case OFPP.TABLE:
    case OFPP.NORMAL:
      throw new WalkError(`output to ${port === OFPP.TABLE ? 'OFPP_TABLE' : 'OFPP_NORMAL'} is not simulated`);
    default:
      // OpenFlow: a packet is not sent back out of its ingress port unless the flow says OFPP_IN_PORT.
      if (port !== inPort) deliver(walk, state, port);
  }
}

function deliver(walk: Walk, state: PacketState, port: number): void {
  const p = walk.sw.ports?.get(port);
  if (p?.kind === 'tunnel') {
    const tunDst = getValue(state, 'tun_dst') ? String(decodeValue('tun_dst', getValue(state, 'tun_dst'))) : p.remoteIp;
    const tunSrc = getValue(state, 'tun_src') ? String(decodeValue('tun_src', getValue(state, 'tun_src'))) : p.localIp;
    walk.outputs.push({ kind: 'tunnel', port, tunId: getValue(state, 'tun_id'), tunDst, ...(tunSrc ? { tunSrc } : {}), cookie: walk.cookie, packet: viewOf(state) });
    return;
  }
  walk.outputs.push({ kind: 'port', port, cookie: walk.cookie, packet: viewOf(state) });
}

// ---------------------------------------------------------------------------
// Across hosts.

export interface FabricHost extends WalkSwitch {
  readonly id: string;
  /** Underlay address tunnels from other hosts are sent to. */
  readonly encapIp: string;
  readonly ports: ReadonlyMap<number, WalkPort>;
}

export interface FabricHop extends Hop {
  readonly host: string;
}

/** Where a packet ends up: a local port of a host, or the controller of a host. */
export type Arrival = { readonly host: string } & Extract<Output, { readonly kind: 'port' | 'controller' }>;

/** A tunnel output that reached no host, or no port on it. */
export interface LostInTunnel {
  readonly host: string;
  readonly port: number;
  readonly tunDst: string;
  readonly reason: string;
}

/** One host's part of a fabric walk: the packet as it arrived there and what that host did with it. */
export interface FabricSegment {
  readonly host: string;
  readonly packet: PacketFields;
  readonly result: WalkResult;
}

export interface FabricResult {
  readonly hops: readonly FabricHop[];
  /** Per host crossed, in walk order (the trace API compares each with ofproto/trace on that host). */
  readonly segments: readonly FabricSegment[];
  readonly arrivals: readonly Arrival[];
  readonly lost: readonly LostInTunnel[];
  readonly verdict: Verdict;
  readonly reason: string;
}

/** Most tunnels a packet may cross (a loop between hosts would otherwise never end). */
const MAX_CROSSINGS = 8;

/**
 * Runs a packet through `hostId`'s flows and on through every tunnel it is
 * sent into, on the hosts at the other end.
 */
export function walkFabric(hosts: ReadonlyMap<string, FabricHost>, hostId: string, packet: PacketFields): FabricResult {
  const hops: FabricHop[] = [];
  const arrivals: Arrival[] = [];
  const lost: LostInTunnel[] = [];
  const segments: FabricSegment[] = [];
  const reasons: string[] = [];
  const visit = (host: FabricHost, pkt: PacketFields, crossings: number): void => {
    const r = walkPacket(host, pkt);
    segments.push({ host: host.id, packet: pkt, result: r });
    for (const h of r.hops) hops.push({ ...h, host: host.id });
    if (r.verdict === 'dropped') reasons.push(`on ${host.id}: ${r.reason}`);
    for (const o of r.outputs) {
      if (o.kind !== 'tunnel') {
        arrivals.push({ host: host.id, ...o });
        continue;
      }
      const tunSrc = o.tunSrc ?? host.encapIp;
      const peer = o.tunDst === 'flow' ? undefined : [...hosts.values()].find((h) => h.encapIp === o.tunDst);
      // As Open vSwitch does: a port with that remote_ip first, else a flow-based one (remote_ip=flow).
      const tunnelPorts = peer ? [...peer.ports].filter(([, p]) => p.kind === 'tunnel') : [];
      const inPort = (tunnelPorts.find(([, p]) => p.kind === 'tunnel' && p.remoteIp === tunSrc) ?? tunnelPorts.find(([, p]) => p.kind === 'tunnel' && p.remoteIp === 'flow'))?.[0];
      const miss = o.tunDst === 'flow' ? 'sent to a remote_ip=flow port without setting tun_dst' : !peer ? `no host has encap IP ${o.tunDst}` : inPort === undefined ? `${peer.id} has no tunnel port from ${tunSrc}` : crossings >= MAX_CROSSINGS ? `crossed ${MAX_CROSSINGS} tunnels (a loop)` : undefined;
      if (miss || !peer || inPort === undefined) {
        lost.push({ host: host.id, port: o.port, tunDst: o.tunDst, reason: miss ?? '' });
        reasons.push(`from ${host.id}: ${miss}`);
        continue;
      }
      visit(peer, arrivedThroughTunnel(o.packet, inPort, o.tunId, tunSrc, o.tunDst), crossings + 1);
    }
  };
  const start = hosts.get(hostId);
  if (!start) throw new WalkError(`no host ${JSON.stringify(hostId)} in the fabric`);
  visit(start, packet, 0);
  const delivered = arrivals.filter((a) => a.kind === 'port');
  const verdict: Verdict = delivered.length ? 'delivered' : arrivals.length ? 'to-controller' : 'dropped';
  const reason =
    verdict === 'delivered'
      ? `delivered to ${delivered.map((a) => `${a.host} port ${a.kind === 'port' ? a.port : ''}`).join(', ')}`
      : verdict === 'to-controller'
        ? `sent to the controller of ${[...new Set(arrivals.map((a) => a.host))].join(', ')}`
        : reasons.join('; ') || 'the matching flows output nothing';
  return { hops, segments, arrivals, lost, verdict, reason };
}

/** The packet as the receiving switch sees it: headers kept, metadata and registers fresh, tunnel fields set. */
function arrivedThroughTunnel(packet: PacketFields, inPort: number, tunId: bigint, tunSrc: string, tunDst: string): PacketFields {
  const out: Record<string, OxmValue> = {};
  for (const [name, value] of Object.entries(packet)) if (!isPipelineMetadata(name)) out[name] = value;
  return { ...out, in_port: inPort, tun_id: tunId, tun_src: tunSrc, tun_dst: tunDst };
}

function isPipelineMetadata(name: string): boolean {
  return /^(x{0,2}reg\d+|metadata|tun_.*|in_port|ct_.*|pkt_mark|recirc_id|dp_hash|conj_id)$/.test(name);
}
