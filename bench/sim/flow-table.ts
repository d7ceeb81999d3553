/**
 * The flow table of a simulated switch, with the FLOW_MOD semantics Open vSwitch
 * implements for OpenFlow 1.3 (OpenFlow 1.3.5 §6.4, §7.3.4.1; OVS ofproto.c):
 *
 * - flows are keyed by (table, priority, match); the match is normalized as OVS
 *   stores it (src/pipeline/canonical-match.ts: an all-ones mask is an exact
 *   match, an all-zero mask no match, value bits outside the mask cleared);
 * - ADD replaces an identical flow; with OFPFF_CHECK_OVERLAP it fails with
 *   OFPFMFC_OVERLAP when another flow of the same priority could match the same
 *   packet;
 * - MODIFY / MODIFY_STRICT change the instructions of the flows selected by the
 *   match (loose or strict) and the cookie/cookie_mask filter; they never add a
 *   flow (OpenFlow 1.2+) and never change the cookie;
 * - DELETE / DELETE_STRICT select the same way plus out_port/out_group, and may
 *   name OFPTT_ALL;
 * - the checks OVS makes before applying (command, table, buffer, duplicate or
 *   prerequisite-less match fields, goto_table) give the same error codes.
 *
 * Checking (`validate`) and applying (`apply`) are separate because OVS checks a
 * message when it is added to a bundle and applies it only at commit.
 */
import { OFP_NO_BUFFER, OFPET, OFPFC, OFPFF, OFPG, OFPP, OFPTT } from '../../protocols/openflow/constants';
import type { Instruction } from '../../protocols/openflow/instructions';
import type { Match } from '../../protocols/openflow/match';
import type { FlowMod, FlowStats, FlowStatsFilter } from '../../protocols/openflow/messages';
import { canonicalizeMatch, isMatchProblem, type FieldBits } from '../../src/pipeline/canonical-match';

/** An OpenFlow error to send back: OFPET_* type and code (and experimenter id for OFPET_EXPERIMENTER). */
export interface OfErrorCode {
  readonly errType: number;
  readonly code: number;
  readonly experimenter?: number;
}

/** Error codes the table uses (OpenFlow 1.3.5 §7.4.4). */
export const FLOW_ERRORS = {
  BAD_COMMAND: { errType: OFPET.FLOW_MOD_FAILED, code: 6 },
  BAD_TABLE_ID: { errType: OFPET.FLOW_MOD_FAILED, code: 2 },
  OVERLAP: { errType: OFPET.FLOW_MOD_FAILED, code: 3 },
  /** OVS answers a table it does not have (>= n_tables) with OFPBRC_EPERM. */
  TABLE_EPERM: { errType: OFPET.BAD_REQUEST, code: 5 },
  BUFFER_UNKNOWN: { errType: OFPET.BAD_REQUEST, code: 8 },
  DUP_FIELD: { errType: OFPET.BAD_MATCH, code: 10 },
  BAD_PREREQ: { errType: OFPET.BAD_MATCH, code: 9 },
  GOTO_BAD_TABLE: { errType: OFPET.BAD_INSTRUCTION, code: 2 },
} as const satisfies Record<string, OfErrorCode>;

export interface FlowEntry {
  readonly tableId: number;
  readonly priority: number;
  readonly match: Match;
  /** Canonical match key (src/pipeline/canonical-match.ts). */
  readonly matchKey: string;
  readonly fields: ReadonlyMap<string, FieldBits>;
  readonly cookie: bigint;
  readonly instructions: readonly Instruction[];
  readonly idleTimeout: number;
  readonly hardTimeout: number;
  readonly flags: number;
  readonly createdMs: number;
}

/** A FLOW_MOD with its match already normalized (the result of `validate`). */
export interface CheckedFlowMod {
  readonly mod: FlowMod;
  readonly command: number;
  readonly tableId: number;
  readonly priority: number;
  readonly fields: ReadonlyMap<string, FieldBits>;
  readonly matchKey: string;
  readonly match: Match;
}

/** Normalizes a match as OVS stores it; an error for a duplicate field or a missing prerequisite. */
function normalizeMatch(match: Match): { fields: ReadonlyMap<string, FieldBits>; key: string; match: Match } | OfErrorCode {
  const c = canonicalizeMatch(match);
  if (isMatchProblem(c)) return c.problem === 'duplicate-field' ? FLOW_ERRORS.DUP_FIELD : FLOW_ERRORS.BAD_PREREQ;
  return c;
}

/**
 * True when `flow` is selected by `criteria` in a non-strict modify/delete/stats
 * request: every field the criteria match, the flow matches at least as
 * specifically, with the same value under the criteria's mask.
 */
function isLooseMatch(flow: ReadonlyMap<string, FieldBits>, criteria: ReadonlyMap<string, FieldBits>): boolean {
  for (const [id, c] of criteria) {
    const f = flow.get(id);
    if (!f) return false;
    for (let i = 0; i < c.value.length; i++) {
      const cm = c.mask ? c.mask[i]! : 0xff;
      const fm = f.mask ? f.mask[i]! : 0xff;
      if ((cm & ~fm) !== 0) return false;
      if ((f.value[i]! & cm) !== (c.value[i]! & cm)) return false;
    }
  }
  return true;
}

/** True when some packet could match both (fields only one side matches are wildcards on the other). */
function isOverlap(a: ReadonlyMap<string, FieldBits>, b: ReadonlyMap<string, FieldBits>): boolean {
  for (const [id, x] of a) {
    const y = b.get(id);
    if (!y) continue;
    for (let i = 0; i < x.value.length; i++) {
      const m = (x.mask ? x.mask[i]! : 0xff) & (y.mask ? y.mask[i]! : 0xff);
      if ((x.value[i]! & m) !== (y.value[i]! & m)) return false;
    }
  }
  return true;
}

function hasOutput(instructions: readonly Instruction[], port: number, group: number): boolean {
  if (port === OFPP.ANY && group === OFPG.ANY) return true;
  for (const ins of instructions) {
    if (ins.type !== 'apply_actions' && ins.type !== 'write_actions') continue;
    for (const a of ins.actions) {
      if (port !== OFPP.ANY && a.type === 'output' && a.port === port) return true;
      if (port === OFPP.CONTROLLER && a.type === 'controller') return true;
      if (group !== OFPG.ANY && a.type === 'group' && a.groupId === group) return true;
    }
  }
  return false;
}

function cookieSelects(flowCookie: bigint, cookie: bigint, mask: bigint): boolean {
  return (flowCookie & mask) === (cookie & mask);
}

/** One change to the flow table, as an OVS flow monitor would report it. */
export interface FlowChange {
  readonly kind: 'added' | 'modified' | 'removed';
  readonly entry: FlowEntry;
}

export class FlowTable {
  /** Per table: flows by `${priority}/${matchKey}`. */
  private tables = new Map<number, Map<string, FlowEntry>>();
  /** With `recordChanges`, every change since the last `takeChanges()`. */
  private changes: FlowChange[] = [];
  /** Off by default: nothing is kept unless the owner drains it. */
  recordChanges = false;

  /** The changes recorded since the last call (and forgets them). */
  takeChanges(): FlowChange[] {
    const out = this.changes;
    this.changes = [];
    return out;
  }

  private record(kind: FlowChange['kind'], entry: FlowEntry): void {
    if (this.recordChanges) this.changes.push({ kind, entry });
  }

  constructor(
    readonly nTables = 254,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    let n = 0;
    for (const t of this.tables.values()) n += t.size;
    return n;
  }

  /** Flows per table id (tables without flows omitted). */
  activeCounts(): Map<number, number> {
    return new Map([...this.tables].map(([id, t]) => [id, t.size]));
  }

  /** Every flow, by table then descending priority. */
  entries(): FlowEntry[] {
    return [...this.tables.keys()]
      .sort((a, b) => a - b)
      .flatMap((id) => [...this.tables.get(id)!.values()].sort((a, b) => b.priority - a.priority));
  }

  /** A copy that `restore` brings back (entries are immutable: only the maps are copied). */
  snapshot(): Map<number, Map<string, FlowEntry>> {
    return new Map([...this.tables].map(([id, t]) => [id, new Map(t)]));
  }
  restore(saved: Map<number, Map<string, FlowEntry>>): void {
    this.tables = saved;
  }

  /** The checks OVS makes when it receives (or bundles) a FLOW_MOD. */
  validate(mod: FlowMod): CheckedFlowMod | OfErrorCode {
    const command = mod.command ?? OFPFC.ADD;
    if (command > OFPFC.DELETE_STRICT) return FLOW_ERRORS.BAD_COMMAND;
    const tableId = mod.tableId ?? 0;
    const isDelete = command === OFPFC.DELETE || command === OFPFC.DELETE_STRICT;
    if (tableId === OFPTT.ALL && !isDelete) return FLOW_ERRORS.BAD_TABLE_ID;
    if (tableId !== OFPTT.ALL && tableId >= this.nTables) return FLOW_ERRORS.TABLE_EPERM;
    const norm = normalizeMatch(mod.match);
    if ('errType' in norm) return norm;
    if (!isDelete) {
      if ((mod.bufferId ?? OFP_NO_BUFFER) !== OFP_NO_BUFFER) return FLOW_ERRORS.BUFFER_UNKNOWN;
      for (const ins of mod.instructions ?? []) {
        if (ins.type === 'goto_table' && (ins.tableId <= tableId || ins.tableId >= this.nTables)) return FLOW_ERRORS.GOTO_BAD_TABLE;
      }
    }
    return { mod, command, tableId, priority: mod.priority ?? 0x8000, fields: norm.fields, matchKey: norm.key, match: norm.match };
  }

  /** Applies a checked FLOW_MOD; returns an error only for OFPFMFC_OVERLAP (the one OVS finds at apply time). */
  apply(c: CheckedFlowMod): OfErrorCode | undefined {
    switch (c.command) {
      case OFPFC.ADD:
        return this.add(c);
      case OFPFC.MODIFY:
      case OFPFC.MODIFY_STRICT:
        this.modify(c, c.command === OFPFC.MODIFY_STRICT);
        return undefined;
      default:
        this.remove(c, c.command === OFPFC.DELETE_STRICT);
        return undefined;
    }
  }

  private add(c: CheckedFlowMod): OfErrorCode | undefined {
    const m = c.mod;
    const flags = m.flags ?? 0;
    let table = this.tables.get(c.tableId);
    const key = `${c.priority}/${c.matchKey}`;
    if (flags & OFPFF.CHECK_OVERLAP && table) {
      for (const [k, f] of table) {
        if (k !== key && f.priority === c.priority && isOverlap(f.fields, c.fields)) return FLOW_ERRORS.OVERLAP;
      }
    }
    if (!table) this.tables.set(c.tableId, (table = new Map()));
    const existed = table.has(key);
    const entry: FlowEntry = {
      tableId: c.tableId,
      priority: c.priority,
      match: c.match,
      matchKey: c.matchKey,
      fields: c.fields,
      cookie: m.cookie ?? 0n,
      instructions: m.instructions ?? [],
      idleTimeout: m.idleTimeout ?? 0,
      hardTimeout: m.hardTimeout ?? 0,
      flags,
      createdMs: this.now(),
    };
    table.set(key, entry);
    this.record(existed ? 'modified' : 'added', entry);
    return undefined;
  }

  private select(c: CheckedFlowMod, isStrict: boolean, outPort: number, outGroup: number): [Map<string, FlowEntry>, string, FlowEntry][] {
    const cookie = c.mod.cookie ?? 0n;
    const mask = c.mod.cookieMask ?? 0n;
    const out: [Map<string, FlowEntry>, string, FlowEntry][] = [];
    const tables = c.tableId === OFPTT.ALL ? [...this.tables.values()] : [this.tables.get(c.tableId)].filter((t) => t !== undefined);
    for (const table of tables) {
      if (isStrict) {
        const key = `${c.priority}/${c.matchKey}`;
        const f = table.get(key);
        if (f && cookieSelects(f.cookie, cookie, mask) && hasOutput(f.instructions, outPort, outGroup)) out.push([table, key, f]);
        continue;
      }
      for (const [key, f] of table) {
        if (cookieSelects(f.cookie, cookie, mask) && isLooseMatch(f.fields, c.fields) && hasOutput(f.instructions, outPort, outGroup)) {
          out.push([table, key, f]);
        }
      }
    }
    return out;
  }

  private modify(c: CheckedFlowMod, isStrict: boolean): void {
    const m = c.mod;
    const instructions = m.instructions ?? [];
    for (const [table, key, f] of this.select(c, isStrict, OFPP.ANY, OFPG.ANY)) {
      const entry = { ...f, instructions };
      table.set(key, entry);
      this.record('modified', entry);
    }
  }

  private remove(c: CheckedFlowMod, isStrict: boolean): void {
    for (const [table, key, f] of this.select(c, isStrict, c.mod.outPort ?? OFPP.ANY, c.mod.outGroup ?? OFPG.ANY)) {
      table.delete(key);
      this.record('removed', f);
      if (table.size === 0) for (const [id, t] of this.tables) if (t === table) this.tables.delete(id);
    }
  }

  /** Flow stats (OpenFlow 1.3.5 §7.3.5.2) for a filter; a table the switch lacks has no flows (as OVS answers). */
  stats(filter: FlowStatsFilter): FlowStats[] | OfErrorCode {
    const tableId = filter.tableId ?? OFPTT.ALL;
    const norm = normalizeMatch(filter.match ?? []);
    if ('errType' in norm) return norm;
    const probe: CheckedFlowMod = {
      mod: { type: 'flow_mod', match: [], cookie: filter.cookie ?? 0n, cookieMask: filter.cookieMask ?? 0n },
      command: OFPFC.DELETE, tableId, priority: 0, fields: norm.fields, matchKey: norm.key, match: norm.match,
    };
    const nowMs = this.now();
    return this.select(probe, false, filter.outPort ?? OFPP.ANY, filter.outGroup ?? OFPG.ANY)
      .map(([, , f]) => f)
      .sort((a, b) => a.tableId - b.tableId || b.priority - a.priority)
      .map((f) => {
        const ms = Math.max(0, nowMs - f.createdMs);
        return {
          tableId: f.tableId,
          durationSec: Math.floor(ms / 1000),
          durationNsec: (ms % 1000) * 1_000_000,
          priority: f.priority,
          idleTimeout: f.idleTimeout,
          hardTimeout: f.hardTimeout,
          flags: f.flags,
          cookie: f.cookie,
          packetCount: 0n,
          byteCount: 0n,
          match: f.match,
          instructions: f.instructions,
        };
      });
  }
}
