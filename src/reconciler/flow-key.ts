/**
 * Identity and content of a flow, in the switch's own terms. The key is
 * (table, priority, match) with the match canonicalized as the sorted bytes of
 * its OXM entries — field order never matters, encoding details are the codec's
 * one definition. The fingerprint is what a modify would change: instruction
 * bytes and cookie. Desired flows and flows read back from the switch go
 * through the same functions, so equal means byte-for-byte equal on the wire.
 *
 * A flow is encoded once (encodeFlow), into one scratch writer: the ofp_match
 * and instruction bytes are what its FLOW_MOD carries (`wire`), and the key and
 * the fingerprint are each one conversion of a range of the same bytes, so the
 * reconciler never encodes the same match or instructions twice.
 *
 *   bytes: | ofp_match: type, length, OXM entries, pad | instructions | cookie |
 *                           └─ bytes ─▶ key (sorted)   └─── bytes ─▶ fp ──────┘
 *          └──────────────── wire (FlowMod.encoded) ────────────────┘
 *
 * Key and fingerprint hold those bytes as byte strings (latin1: one character
 * per byte), half the size of hex: a host keeps one of each per desired flow,
 * and they are what the desired-flow maps hash. They are compared, never shown
 * (flows are shown by format.ts). Each OXM entry is self-delimiting (its header
 * gives its length, OpenFlow 1.3.5 §7.2.3.2), so the entries are simply
 * concatenated, and the cookie has a fixed size, so nothing separates it from
 * the instructions.
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

/** One scratch writer for every encoding here (synchronous; only copies are kept). */
const scratch = new BufferWriter(1024);

/** Compares the byte ranges [a, aEnd) and [b, bEnd) of `buf` (memcmp order, a prefix first). */
function compareRanges(buf: Buffer, a: number, aEnd: number, b: number, bEnd: number): number {
  const n = Math.min(aEnd - a, bEnd - b);
  for (let i = 0; i < n; i++) {
    const d = buf[a + i]! - buf[b + i]!;
    if (d !== 0) return d;
  }
  return aEnd - a - (bEnd - b);
}

/**
 * The canonical match of the ofp_match at the start of `buf`: its OXM entries
 * in byte order, as a byte string. Compiled matches are usually in that order
 * already, and then this is one conversion.
 */
function canonicalOf(buf: Buffer): string {
  const matchLen = buf.readUInt16BE(2);
  // Each OXM entry: 4-byte header whose last byte is the payload length (§7.2.3.2).
  let sorted = true;
  let prev = -1;
  let prevEnd = -1;
  for (let at = 4; at + 4 <= matchLen; ) {
    const end = at + 4 + buf[at + 3]!;
    if (prev >= 0 && compareRanges(buf, prev, prevEnd, at, end) > 0) sorted = false;
    prev = at;
    prevEnd = end;
    at = end;
  }
  if (sorted) return buf.toString('latin1', 4, matchLen);
  const entries: { start: number; end: number }[] = [];
  for (let at = 4; at + 4 <= matchLen; ) {
    const end = at + 4 + buf[at + 3]!;
    entries.push({ start: at, end });
    at = end;
  }
  entries.sort((x, y) => compareRanges(buf, x.start, x.end, y.start, y.end));
  return entries.map((e) => buf.toString('latin1', e.start, e.end)).join('');
}

export function canonicalMatch(match: Match): string {
  const w = scratch.reset();
  encodeMatch(w, match);
  return canonicalOf(w.finish());
}

export function flowKey(flow: FlowIdentity): string {
  return `${flow.tableId}/${flow.priority}/${canonicalMatch(flow.match)}`;
}

export function fingerprint(cookie: bigint, instructions: readonly Instruction[]): string {
  const w = scratch.reset();
  encodeInstructions(w, instructions);
  w.u64(cookie, 'cookie');
  return w.finish().toString('latin1');
}

/** Key, fingerprint and wire bytes of a flow from one encoding (equal to flowKey and fingerprint). */
export function encodeFlow(flow: FlowIdentity, cookie: bigint, instructions: readonly Instruction[]): EncodedFlow {
  const w = scratch.reset();
  encodeMatch(w, flow.match);
  const matchEnd = w.offset;
  encodeInstructions(w, instructions);
  const wireEnd = w.offset;
  w.u64(cookie, 'cookie');
  const bytes = w.finish();
  return {
    key: `${flow.tableId}/${flow.priority}/${canonicalOf(bytes)}`,
    fp: bytes.toString('latin1', matchEnd),
    wire: bytes.subarray(0, wireEnd),
  };
}
