/**
 * Identity and content of a flow, in the switch's own terms. The key is
 * (table, priority, match) with the match canonicalized as the sorted bytes of
 * its OXM entries — field order never matters, encoding details are the codec's
 * one definition. The fingerprint is what a modify would change: cookie and
 * instruction bytes. Desired flows and flows read back from the switch go
 * through the same functions, so equal means byte-for-byte equal on the wire.
 */
import { BufferWriter } from '../../protocols/common/buffer-writer';
import { encodeInstructions, type Instruction } from '../../protocols/openflow/instructions';
import { encodeOxm, type Match } from '../../protocols/openflow/match';

export interface FlowIdentity {
  readonly tableId: number;
  readonly priority: number;
  readonly match: Match;
}

export function canonicalMatch(match: Match): string {
  // One writer for the whole match; each entry's hex is a slice of one string.
  const w = new BufferWriter(128);
  const ends: number[] = [];
  for (const f of match) {
    encodeOxm(w, f);
    ends.push(w.offset);
  }
  const hex = w.finish().toString('hex');
  const parts: string[] = [];
  let start = 0;
  for (const end of ends) {
    parts.push(hex.slice(start * 2, end * 2));
    start = end;
  }
  return parts.sort().join('.');
}

export function flowKey(flow: FlowIdentity): string {
  return `${flow.tableId}/${flow.priority}/${canonicalMatch(flow.match)}`;
}

export function fingerprint(cookie: bigint, instructions: readonly Instruction[]): string {
  const w = new BufferWriter(64);
  encodeInstructions(w, instructions);
  return `${cookie.toString(16)}|${w.finish().toString('hex')}`;
}
