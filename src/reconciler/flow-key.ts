/**
 * Identity and content of a flow, in the switch's own terms. The key is
 * (table, priority, match) with the match canonicalized as the sorted bytes of
 * its OXM entries — field order never matters, encoding details are the codec's
 * one definition. The fingerprint is what a modify would change: cookie and
 * instruction bytes. Desired flows and flows read back from the switch go
 * through the same functions, so equal means byte-for-byte equal on the wire.
 *
 * A flow is encoded once (encodeFlow): the ofp_match and instruction bytes give
 * the key and the fingerprint, and are what its FLOW_MOD carries (`wire`), so
 * the reconciler never encodes the same match or instructions twice.
 *
 *   wire:  | ofp_match: type, length, OXM entries, pad to 8 | instructions |
 *                            └─ sorted hex ─▶ key            └─ hex ─▶ fp
 */
import { BufferWriter } from '../../protocols/common/buffer-writer';
import { encodeInstructions, type Instruction } from '../../protocols/openflow/instructions';
import { encodeMatch, type Match } from '../../protocols/openflow/match';

export interface FlowIdentity {
  readonly tableId: number;
  readonly priority: number;
  readonly match: Match;
}

/** A flow's key and fingerprint, and its match and instructions as FLOW_MOD bytes. */
export interface EncodedFlow {
  readonly key: string;
  readonly fp: string;
  /** ofp_match (padded) then the instruction list: FlowMod.encoded. */
  readonly wire: Buffer;
}

/** The sorted hex of the OXM entries of the ofp_match that `hex` starts with (`matchLen` bytes, unpadded). */
function canonicalOf(wire: Buffer, hex: string, matchLen: number): string {
  const parts: string[] = [];
  // Each OXM entry: 4-byte header whose last byte is the payload length (§7.2.3.2).
  for (let at = 4; at + 4 <= matchLen; ) {
    const end = at + 4 + wire[at + 3]!;
    parts.push(hex.slice(at * 2, end * 2));
    at = end;
  }
  if (parts.length > 1) parts.sort();
  return parts.join('.');
}

function encodedMatch(match: Match): Buffer {
  const w = new BufferWriter(128);
  encodeMatch(w, match);
  return w.finish();
}

export function canonicalMatch(match: Match): string {
  const wire = encodedMatch(match);
  return canonicalOf(wire, wire.toString('hex'), wire.readUInt16BE(2));
}

export function flowKey(flow: FlowIdentity): string {
  return `${flow.tableId}/${flow.priority}/${canonicalMatch(flow.match)}`;
}

export function fingerprint(cookie: bigint, instructions: readonly Instruction[]): string {
  const w = new BufferWriter(64);
  encodeInstructions(w, instructions);
  return `${cookie.toString(16)}|${w.finish().toString('hex')}`;
}

/** One scratch writer for every encodeFlow (synchronous; only `finish()`'s copy is kept). */
const scratch = new BufferWriter(1024);

/** Key, fingerprint and wire bytes of a flow from one encoding (equal to flowKey and fingerprint). */
export function encodeFlow(flow: FlowIdentity, cookie: bigint, instructions: readonly Instruction[]): EncodedFlow {
  const w = scratch.reset();
  encodeMatch(w, flow.match);
  const matchEnd = w.offset;
  encodeInstructions(w, instructions);
  const wire = w.finish();
  const hex = wire.toString('hex');
  return {
    key: `${flow.tableId}/${flow.priority}/${canonicalOf(wire, hex, wire.readUInt16BE(2))}`,
    fp: `${cookie.toString(16)}|${hex.slice(matchEnd * 2)}`,
    wire,
  };
}
