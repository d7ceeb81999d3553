/**
 * OpenFlow 1.3 instructions (OpenFlow 1.3.5 §7.2.4).
 *
 *   +--------+--------+----------------------------+
 *   | type   | length | body, padded to 8 bytes    |
 *   | 16     | 16     |                            |
 *   +--------+--------+----------------------------+
 *
 * Decoding keeps experimenter and unknown instructions as bytes, and so any
 * instruction whose body does not parse or is not in the form we write (non-zero
 * padding, an action list whose framing lies): a decoded list re-encodes to the
 * bytes it came from. Only an instruction list whose own lengths lie throws
 * DecodeError.
 */
import type { BufferReader } from '../common/buffer-reader';
import type { BufferWriter } from '../common/buffer-writer';
import { DecodeError, EncodeError } from '../common/errors';
import { decodeActions, encodeActions, type Action } from './actions';

/** Instruction types (§7.2.4). */
export const OFPIT = {
  GOTO_TABLE: 1,
  WRITE_METADATA: 2,
  WRITE_ACTIONS: 3,
  APPLY_ACTIONS: 4,
  CLEAR_ACTIONS: 5,
  METER: 6,
  EXPERIMENTER: 0xffff,
} as const;

const ALL_ONES_64 = 0xffffffffffffffffn;

export interface GotoTable { readonly type: 'goto_table'; readonly tableId: number }
/** `mask` defaults to all ones; decoders omit it then. */
export interface WriteMetadata { readonly type: 'write_metadata'; readonly metadata: bigint; readonly mask?: bigint }
export interface WriteActions { readonly type: 'write_actions'; readonly actions: readonly Action[] }
export interface ApplyActions { readonly type: 'apply_actions'; readonly actions: readonly Action[] }
export interface ClearActions { readonly type: 'clear_actions' }
export interface MeterInstruction { readonly type: 'meter'; readonly meterId: number }
/** `data` is everything after the experimenter id. */
export interface ExperimenterInstruction { readonly type: 'experimenter'; readonly experimenter: number; readonly data: Buffer }
/** An instruction type this codec does not know; `data` follows type and length. */
export interface UnknownInstruction { readonly type: 'unknown'; readonly instructionType: number; readonly data: Buffer }

export type Instruction =
  | GotoTable | WriteMetadata | WriteActions | ApplyActions | ClearActions | MeterInstruction
  | ExperimenterInstruction | UnknownInstruction;

type Of<T extends Instruction['type']> = Extract<Instruction, { type: T }>;

function framed(w: BufferWriter, type: number, body: () => void): void {
  const start = w.offset;
  w.u16(type).u16(0);
  body();
  w.padTo(8, start);
  w.patchU16(start + 2, w.offset - start, 'instruction length');
}

/** write_actions / apply_actions: type, length, 4 bytes of padding, the actions (in nearly every flow, so no closure). */
function framedActions(w: BufferWriter, type: number, actions: readonly Action[]): void {
  const start = w.offset;
  w.u16(type).u16(0).zeros(4);
  encodeActions(w, actions);
  w.padTo(8, start);
  w.patchU16(start + 2, w.offset - start, 'instruction length');
}

function uint(v: unknown, bits: number, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= 2 ** bits) {
    throw new EncodeError(`${what}: expected an integer in 0..${2 ** bits - 1}, got ${String(v)}`);
  }
  return v;
}

const ENCODERS: { readonly [T in Instruction['type']]: (w: BufferWriter, i: Of<T>) => void } = {
  goto_table: (w, i) => {
    w.u16(OFPIT.GOTO_TABLE).u16(8).u8(uint(i.tableId, 8, 'goto_table table_id')).zeros(3);
  },
  write_metadata: (w, i) => framed(w, OFPIT.WRITE_METADATA, () => {
    w.zeros(4).u64(i.metadata, 'write_metadata metadata').u64(i.mask ?? ALL_ONES_64, 'write_metadata mask');
  }),
  write_actions: (w, i) => framedActions(w, OFPIT.WRITE_ACTIONS, i.actions),
  apply_actions: (w, i) => framedActions(w, OFPIT.APPLY_ACTIONS, i.actions),
  clear_actions: (w) => framed(w, OFPIT.CLEAR_ACTIONS, () => w.zeros(4)),
  meter: (w, i) => framed(w, OFPIT.METER, () => w.u32(uint(i.meterId, 32, 'meter meter_id'))),
  experimenter: (w, i) => {
    if (!Buffer.isBuffer(i.data) || i.data.length % 8 !== 0) {
      throw new EncodeError('experimenter instruction: data must be a Buffer whose length is a multiple of 8');
    }
    framed(w, OFPIT.EXPERIMENTER, () => w.u32(uint(i.experimenter, 32, 'experimenter id')).bytes(i.data));
  },
  unknown: (w, i) => {
    if (!Buffer.isBuffer(i.data) || (i.data.length + 4) % 8 !== 0) {
      throw new EncodeError('unknown instruction: data must be a Buffer whose length + 4 is a multiple of 8');
    }
    framed(w, uint(i.instructionType, 16, 'instruction type'), () => w.bytes(i.data));
  },
};

/** Writes a list of ofp_instruction structures (§7.2.4). */
export function encodeInstructions(w: BufferWriter, instructions: readonly Instruction[]): void {
  if (!Array.isArray(instructions)) throw new EncodeError('instructions must be an array');
  for (const i of instructions) {
    const enc = i !== null && typeof i === 'object'
      ? (ENCODERS as Record<string, (w: BufferWriter, i: Instruction) => void>)[i.type]
      : undefined;
    if (!enc) throw new EncodeError(`unknown instruction type ${JSON.stringify((i as { type?: unknown } | null)?.type)}`);
    enc(w, i);
  }
}

/** Skips `n` padding bytes; false if any is not zero (we would write zeros). */
function zeros(r: BufferReader, n: number): boolean {
  const at = r.offset;
  r.skip(n, 'padding');
  for (let i = at; i < at + n; i++) if (r.buf[i] !== 0) return false;
  return true;
}

type Decoder = (r: BufferReader) => Instruction | undefined;

const DECODERS: ReadonlyMap<number, Decoder> = new Map<number, Decoder>([
  [OFPIT.GOTO_TABLE, (r) => {
    const tableId = r.u8('table_id');
    return zeros(r, 3) ? { type: 'goto_table', tableId } : undefined;
  }],
  [OFPIT.WRITE_METADATA, (r) => {
    if (!zeros(r, 4)) return undefined;
    const metadata = r.u64('metadata');
    const mask = r.u64('metadata_mask');
    return mask === ALL_ONES_64 ? { type: 'write_metadata', metadata } : { type: 'write_metadata', metadata, mask };
  }],
  [OFPIT.WRITE_ACTIONS, (r) => (zeros(r, 4) ? { type: 'write_actions', actions: decodeActions(r.sub(r.remaining, 'actions')) } : undefined)],
  [OFPIT.APPLY_ACTIONS, (r) => (zeros(r, 4) ? { type: 'apply_actions', actions: decodeActions(r.sub(r.remaining, 'actions')) } : undefined)],
  [OFPIT.CLEAR_ACTIONS, (r) => (zeros(r, 4) ? { type: 'clear_actions' } : undefined)],
  [OFPIT.METER, (r) => ({ type: 'meter', meterId: r.u32('meter_id') })],
  [OFPIT.EXPERIMENTER, (r) => ({
    type: 'experimenter', experimenter: r.u32('experimenter'), data: Buffer.from(r.bytes(r.remaining)),
  })],
]);

/** Reads instructions until the reader is exhausted (pass a sub-reader sized to the list). */
export function decodeInstructions(r: BufferReader): Instruction[] {
  const out: Instruction[] = [];
  while (r.remaining > 0) {
    const at = r.offset;
    const type = r.u16('instruction type');
    const len = r.u16('instruction length');
    if (len < 8 || len % 8 !== 0) r.fail(`instruction length ${len} is not a positive multiple of 8`, at + 2);
    const body = r.sub(len - 4, 'instruction');
    const dec = DECODERS.get(type);
    out.push((dec && decodeBody(body, dec)) ?? { type: 'unknown', instructionType: type, data: Buffer.from(body.buf.subarray(at + 4, body.end)) });
  }
  return out;
}

/** One instruction's body, which the decoder must use up; undefined if it does not parse. */
function decodeBody(body: BufferReader, dec: Decoder): Instruction | undefined {
  try {
    const i = dec(body);
    return i !== undefined && body.remaining === 0 ? i : undefined;
  } catch (err) {
    if (err instanceof DecodeError) return undefined;
    throw err;
  }
}
