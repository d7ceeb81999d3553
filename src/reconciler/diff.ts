/**
 * Desired vs. installed, keyed by (table, priority, match): a flow only in
 * desired is added, one only installed is deleted (strictly), one in both with a
 * different cookie or instructions is modified. Equal flows produce nothing —
 * that is what makes restarts and failovers free of churn.
 */
import type { Instruction } from '../../protocols/openflow/instructions';
import type { Match } from '../../protocols/openflow/match';

export interface KeyedFlow {
  /** flowKey(): table, priority and canonical match, computed once. */
  readonly key: string;
  readonly tableId: number;
  readonly priority: number;
  readonly match: Match;
  readonly cookie: bigint;
  readonly instructions: readonly Instruction[];
  /** fingerprint(cookie, instructions), computed once. */
  readonly fp: string;
  /** Match and instructions as FLOW_MOD bytes (flow-key.ts encodeFlow), when encoded already. */
  readonly wire?: Buffer;
}

export interface Modify {
  readonly want: KeyedFlow;
  readonly have: KeyedFlow;
}

export interface FlowDiff {
  readonly adds: KeyedFlow[];
  readonly modifies: Modify[];
  readonly deletes: KeyedFlow[];
}

/** Compares only `keys` (all keys of both maps when omitted). */
export function diffFlows(
  desired: ReadonlyMap<string, KeyedFlow>,
  installed: ReadonlyMap<string, KeyedFlow>,
  keys?: Iterable<string>,
): FlowDiff {
  const diff: FlowDiff = { adds: [], modifies: [], deletes: [] };
  if (keys === undefined) {
    // Everything: each desired key once, then what only the switch has.
    for (const [key, want] of desired) {
      const have = installed.get(key);
      if (!have) diff.adds.push(want);
      else if (want.fp !== have.fp) diff.modifies.push({ want, have });
    }
    for (const [key, have] of installed) if (!desired.has(key)) diff.deletes.push(have);
    return diff;
  }
  for (const key of keys) {
    const want = desired.get(key);
    const have = installed.get(key);
    if (want && !have) diff.adds.push(want);
    else if (!want && have) diff.deletes.push(have);
    else if (want && have && want.fp !== have.fp) diff.modifies.push({ want, have });
  }
  return diff;
}

export function isEmptyDiff(d: FlowDiff): boolean {
  return d.adds.length === 0 && d.modifies.length === 0 && d.deletes.length === 0;
}
