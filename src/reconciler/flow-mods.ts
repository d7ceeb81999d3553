/**
 * Turns a diff into FLOW_MODs in the order the switch must apply them: strict
 * deletes first (so a flow moving between objects is never deleted after its
 * replacement is added), then adds and modifies. A modify that keeps the cookie
 * is a MODIFY_STRICT (counters survive; OVS reports it as a modification); one
 * that changes the cookie must be a full ADD, since OVS keeps the old cookie on
 * MODIFY.
 */
import { OFPFC } from '../../protocols/openflow/constants';
import type { FlowMod } from '../../protocols/openflow/messages';
import type { FlowDiff, KeyedFlow } from './diff';

function flowMod(f: KeyedFlow, command: number): FlowMod {
  if (command === OFPFC.DELETE_STRICT) return { type: 'flow_mod', tableId: f.tableId, priority: f.priority, match: f.match, command };
  // The bytes the key and fingerprint came from (when there are some) go on the wire as they are.
  return { type: 'flow_mod', tableId: f.tableId, priority: f.priority, match: f.match, command, cookie: f.cookie, instructions: f.instructions, encoded: f.wire };
}

export function toFlowMods(diff: FlowDiff): FlowMod[] {
  // One array, filled in order (a resync's adds are the whole table).
  const out: FlowMod[] = [];
  for (const f of diff.deletes) out.push(flowMod(f, OFPFC.DELETE_STRICT));
  for (const f of diff.adds) out.push(flowMod(f, OFPFC.ADD));
  for (const { want, have } of diff.modifies) out.push(flowMod(want, want.cookie === have.cookie ? OFPFC.MODIFY_STRICT : OFPFC.ADD));
  return out;
}
