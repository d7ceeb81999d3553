/**
 * A desired flow and its builder. `buildFlow` checks every match field against
 * the fields its table declares, so a flow in the wrong table fails when it is
 * compiled, not when a packet takes the wrong path.
 */
import type { Action } from '../../protocols/openflow/actions';
import type { Instruction } from '../../protocols/openflow/instructions';
import type { Match, OxmField } from '../../protocols/openflow/match';
import type { TableDef } from './tables';

export interface Flow {
  readonly table: TableDef;
  readonly priority: number;
  readonly match: Match;
  readonly instructions: readonly Instruction[];
  readonly cookie: bigint;
}

/** Shorthand for an exact or masked match field. */
export function m(field: string, value: OxmField['value'], mask?: OxmField['value']): OxmField {
  return mask === undefined ? { field, value } : { field, value, mask };
}

export function buildFlow(table: TableDef, priority: number, match: Match, instructions: readonly Instruction[], cookie: bigint): Flow {
  for (const f of match) {
    if (!table.matchFields.has(f.field)) {
      throw new Error(`flow in table ${table.name} matches on ${f.field}, which that table does not declare`);
    }
  }
  return { table, priority, match, instructions, cookie };
}

/** apply_actions then goto_table, in the order Open vSwitch reports instructions. */
export function applyThenGoto(actions: readonly Action[], next?: TableDef): Instruction[] {
  const out: Instruction[] = [];
  if (actions.length) out.push({ type: 'apply_actions', actions });
  if (next) out.push({ type: 'goto_table', tableId: next.id });
  return out;
}
