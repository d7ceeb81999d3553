/**
 * A desired flow and its builder. `buildFlow` checks the flow against its
 * table's declaration (tables.ts), so a flow in the wrong table fails when it
 * is compiled, not when a packet takes the wrong path or the switch refuses it:
 *
 * - every match field is one the table declares, at most once, with its
 *   prerequisites (ovs-fields(7)) matched exactly;
 * - a mask is one the field's mask policy allows, neither all ones nor all
 *   zeros (Open vSwitch would store a different match than the one sent, and
 *   the reconciler would never see the flow as installed), and the value has
 *   no bit outside it (the switch would refuse the flow);
 * - the priority is one of the table's named priorities;
 * - goto_table and resubmit name only the table's `next` tables.
 */
import type { Action } from '../../protocols/openflow/actions';
import type { Instruction } from '../../protocols/openflow/instructions';
import type { Match } from '../../protocols/openflow/match';
import { describeMaskProblem, PREREQUISITES } from './canonical-match';
import type { FieldMatch } from './fields';
import { MISS_PRIORITY, PipelineError, type MaskPolicy, type TableDef } from './tables';

export interface Flow {
  readonly table: TableDef;
  readonly priority: number;
  readonly match: Match;
  readonly instructions: readonly Instruction[];
  readonly cookie: bigint;
}

/** The priority a flow is built with: one of its table's names, or 'miss'. */
export type PriorityName<T extends TableDef> = (T extends TableDef<infer P> ? P : never) | 'miss';

export function buildFlow<T extends TableDef>(
  table: T,
  priority: PriorityName<T>,
  match: readonly FieldMatch[],
  instructions: readonly Instruction[],
  cookie: bigint,
): Flow {
  const rules = rulesOf(table);
  const value = rules.priorities.get(priority);
  if (value === undefined) throw new PipelineError(`table ${table.name} has no priority named ${JSON.stringify(priority)}`);
  checkMatch(table, rules, match);
  checkInstructions(table, instructions);
  return { table, priority: value, match, instructions, cookie };
}

/** What the checks read per field: the table's mask policy and the field's prerequisites. */
interface FieldRule {
  readonly policy: MaskPolicy;
  readonly prereqs?: readonly (readonly [string, readonly number[]])[];
}

/** A table's declaration in the shape the per-flow checks read fastest (one lookup per field). */
interface TableRules {
  readonly fields: ReadonlyMap<string, FieldRule>;
  readonly priorities: ReadonlyMap<string, number>;
}

const rulesByTable = new WeakMap<TableDef, TableRules>();

function rulesOf(table: TableDef): TableRules {
  let rules = rulesByTable.get(table);
  if (!rules) {
    const fields = new Map<string, FieldRule>();
    for (const [field, policy] of table.matchFields) {
      const prereqs = PREREQUISITES.get(field);
      fields.set(field, prereqs ? { policy, prereqs } : { policy });
    }
    const priorities = new Map<string, number>([...Object.entries(table.priorities as Readonly<Record<string, number>>), ['miss', MISS_PRIORITY]]);
    rulesByTable.set(table, (rules = { fields, priorities }));
  }
  return rules;
}

/**
 * Masked entries already found canonical. The compiler passes the same few
 * entry objects again and again (the from-tunnel flag, the multicast bit), so
 * the last ones are remembered by identity, and every one by value (bounded):
 * checking a mask means encoding it.
 */
const recentMasks: { readonly f: FieldMatch; readonly policy: MaskPolicy }[] = [];
const checkedMasks = new Set<string>();
const CHECKED_MASKS_LIMIT = 10_000;

function checkMatch(table: TableDef, rules: TableRules, match: readonly FieldMatch[]): void {
  for (let i = 0; i < match.length; i++) {
    const f = match[i]!;
    const rule = rules.fields.get(f.field);
    if (rule === undefined) throw new PipelineError(`flow in table ${table.name} matches on ${f.field}, which that table does not declare`);
    for (let j = 0; j < i; j++) {
      if (match[j]!.field === f.field) throw new PipelineError(`flow in table ${table.name} matches ${f.field} twice`);
    }
    if (f.mask !== undefined) checkMask(table, f, rule.policy);
    if (rule.prereqs !== undefined) checkPrerequisites(table, match, f.field, rule.prereqs);
  }
}

function checkMask(table: TableDef, f: FieldMatch, policy: MaskPolicy): void {
  if (policy === 'exact') throw new PipelineError(`flow in table ${table.name} masks ${f.field}, which that table matches only exactly`);
  for (const r of recentMasks) if (r.f === f && r.policy === policy) return;
  const key = `${policy} ${f.field}=${String(f.value)}/${String(f.mask)}`;
  if (!checkedMasks.has(key)) {
    const problem = describeMaskProblem(f, policy === 'prefix');
    if (problem) throw new PipelineError(`flow in table ${table.name}: ${problem}`);
    if (checkedMasks.size >= CHECKED_MASKS_LIMIT) checkedMasks.clear();
    checkedMasks.add(key);
  }
  recentMasks.unshift({ f, policy });
  if (recentMasks.length > 8) recentMasks.pop();
}

function checkPrerequisites(table: TableDef, match: readonly FieldMatch[], field: string, prereqs: readonly (readonly [string, readonly number[]])[]): void {
  for (const [need, values] of prereqs) {
    let have: FieldMatch | undefined;
    for (let k = 0; k < match.length && !have; k++) if (match[k]!.field === need) have = match[k];
    if (!have || have.mask !== undefined || typeof have.value !== 'number' || !values.includes(have.value)) {
      throw new PipelineError(`flow in table ${table.name} matches ${field} without ${need}=${values.map((v) => `0x${v.toString(16)}`).join('|')}`);
    }
  }
}

function checkInstructions(table: TableDef, instructions: readonly Instruction[]): void {
  for (const ins of instructions) {
    if (ins.type === 'goto_table') checkNext(table, ins.tableId, 'goto_table');
    else if (ins.type === 'apply_actions' || ins.type === 'write_actions') checkActions(table, ins.actions);
  }
}

function checkActions(table: TableDef, actions: readonly Action[]): void {
  for (const a of actions) {
    if (a.type === 'resubmit') checkNext(table, a.table ?? table.id, 'resubmit');
    else if (a.type === 'clone' || (a.type === 'ct' && a.actions)) checkActions(table, a.actions ?? []);
  }
}

function checkNext(table: TableDef, tableId: number, what: string): void {
  if (!table.nextIds.has(tableId)) {
    const allowed = table.next.map((t) => `${t.name} (${t.id})`).join(', ') || 'none';
    throw new PipelineError(`flow in table ${table.name} does ${what} to table ${tableId}; it may continue only to: ${allowed}`);
  }
}

/** apply_actions then goto_table, in the order Open vSwitch reports instructions. */
export function applyThenGoto(actions: readonly Action[], next?: TableDef): Instruction[] {
  const out: Instruction[] = [];
  if (actions.length) out.push({ type: 'apply_actions', actions });
  if (next) out.push({ type: 'goto_table', tableId: next.id });
  return out;
}
