/**
 * CONTRACT STUB — to be implemented (OpenFlow 1.3 actions + Nicira extensions).
 * OpenFlow 1.3.5 §7.2.5; Open vSwitch nicira-ext.h.
 */
import type { BufferReader } from '../common/buffer-reader';
import type { BufferWriter } from '../common/buffer-writer';

/** Discriminated by `type`; see the implementation for every variant. */
export type Action = { readonly type: string; readonly [key: string]: unknown };

/** Writes a list of ofp_action_* structures. */
export function encodeActions(_w: BufferWriter, _actions: readonly Action[]): void {
  throw new Error('encodeActions: not implemented');
}

/** Reads actions until the reader is exhausted (pass a sub-reader sized to the list). */
export function decodeActions(_r: BufferReader): Action[] {
  throw new Error('decodeActions: not implemented');
}
