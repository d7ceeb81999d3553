/**
 * CONTRACT STUB — to be implemented (OpenFlow 1.3 instructions, §7.2.4).
 */
import type { BufferReader } from '../common/buffer-reader';
import type { BufferWriter } from '../common/buffer-writer';

export type Instruction = { readonly type: string; readonly [key: string]: unknown };

/** Writes a list of ofp_instruction structures. */
export function encodeInstructions(_w: BufferWriter, _instructions: readonly Instruction[]): void {
  throw new Error('encodeInstructions: not implemented');
}

/** Reads instructions until the reader is exhausted (pass a sub-reader sized to the list). */
export function decodeInstructions(_r: BufferReader): Instruction[] {
  throw new Error('decodeInstructions: not implemented');
}
