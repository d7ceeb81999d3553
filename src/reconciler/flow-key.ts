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
 *   bytes: | table | priority | ofp_match: type, length, OXM entries, pad | instructions | cookie |
 *          └──────────── key (entries sorted) ─────────┘                  └───────── fp ─────────┘
 *                             └──────────────────── wire (FlowMod.encoded) ──────────────────┘
 *
 * Key and fingerprint hold those bytes as byte strings (latin1: one character
 * per byte), half the size of hex: a host keeps one of each per desired flow,
 * and they are what the desired-flow maps hash. They are compared, never shown
 * (flows are shown by format.ts). Each OXM entry is self-delimiting (its header
 * gives its length, OpenFlow 1.3.5 §7.2.3.2), so the entries are simply
 * concatenated; table, priority and cookie have fixed sizes.
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

/** Where the ofp_match starts in a key's bytes: after the table id (8 bits) and the priority (16). */
const MATCH_AT = 3;

/** The OXM entries of the ofp_match at `at` in `buf`, as [start, end) offsets (§7.2.3.2: the header's last byte is the payload length). */
function entriesOf(buf: Buffer, at: number): { start: number; end: number }[] {
  const end = at + buf.readUInt16BE(at + 2);
  const out: { start: number; end: number }[] = [];
  for (let e = at + 4; e + 4 <= end; ) {
    const next = e + 4 + buf[e + 3]!;
    out.push({ start: e, end: next });
    e = next;
  }
  return out;
}

/** Whether the OXM entries of the ofp_match at `at` are in byte order already (compiled matches usually are). */
function isSorted(buf: Buffer, at: number): boolean {
  const end = at + buf.readUInt16BE(at + 2);
  let prev = -1;
  let prevEnd = -1;
  for (let e = at + 4; e + 4 <= end; ) {
    const next = e + 4 + buf[e + 3]!;
    if (prev >= 0 && compareRanges(buf, prev, prevEnd, e, next) > 0) return false;
    prev = e;
    prevEnd = next;
    e = next;
  }
  return true;
}

/** The OXM entries of the ofp_match at `at`, in byte order, as a byte string. */
function sortedEntries(buf: Buffer, at: number): string {
  if (isSorted(buf, at)) return buf.toString('latin1', at + 4, at + buf.readUInt16BE(at + 2));
  return entriesOf(buf, at)
    .sort((x, y) => compareRanges(buf, x.start, x.end, y.start, y.end))
    .map((e) => buf.toString('latin1', e.start, e.end))
    .join('');
}

/**
 * The key of the table id, priority and ofp_match that `buf` starts with: those
 * bytes, with the match's entries in byte order; one conversion (one flat
 * string to hash) when they are in order already.
 */
function keyOf(buf: Buffer): string {
  const matchEnd = MATCH_AT + buf.readUInt16BE(MATCH_AT + 2);
  if (isSorted(buf, MATCH_AT)) return buf.toString('latin1', 0, matchEnd);
  return buf.toString('latin1', 0, MATCH_AT + 4) + sortedEntries(buf, MATCH_AT);
}

function writeKeyPrefix(w: BufferWriter, flow: FlowIdentity): void {
  w.u8(flow.tableId, 'table_id').u16(flow.priority, 'priority');
}

export function canonicalMatch(match: Match): string {
  const w = scratch.reset();
  encodeMatch(w, match);
  return sortedEntries(w.finish(), 0);
}

export function flowKey(flow: FlowIdentity): string {
  const w = scratch.reset();
  writeKeyPrefix(w, flow);
  encodeMatch(w, flow.match);
  return keyOf(w.finish());
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
  writeKeyPrefix(w, flow);
  encodeMatch(w, flow.match);
  const matchEnd = w.offset;
  encodeInstructions(w, instructions);
  const wireEnd = w.offset;
  w.u64(cookie, 'cookie');
  const bytes = w.finish();
  return { key: keyOf(bytes), fp: bytes.toString('latin1', matchEnd), wire: bytes.subarray(MATCH_AT, wireEnd) };
}
