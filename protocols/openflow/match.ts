/**
 * CONTRACT STUB — to be implemented (OXM/NXM match codec).
 * OpenFlow 1.3.5 §7.2.3 (ofp_match, OXM TLVs) and Open vSwitch's NXM/OXM extensions.
 */
import type { BufferReader } from '../common/buffer-reader';
import type { BufferWriter } from '../common/buffer-writer';

/**
 * A field value. The representation depends on the field's kind:
 * - unsigned integers up to 32 bits: `number`
 * - unsigned integers over 32 bits (metadata, tun_id, xreg*, ct_label, xxreg*): `bigint`
 * - MAC addresses: `string` 'aa:bb:cc:dd:ee:ff' (lower case)
 * - IPv4 addresses: `string` dotted quad
 * - IPv6 addresses: `string` canonical RFC 5952 form
 * - opaque variable-length fields (tun_metadataN...): `Buffer`
 */
export type OxmValue = number | bigint | string | Buffer;

/** Field names as Open vSwitch spells them in ovs-fields(7) (in_port, eth_dst, reg0, tun_id, ct_state...). */
export type OxmFieldName = string;

/** One match entry: field, value, optional mask (same representation as the value). */
export interface OxmField {
  readonly field: OxmFieldName;
  readonly value: OxmValue;
  readonly mask?: OxmValue;
}

/** ofp_match with type OFPMT_OXM: an ordered list of OXM entries. */
export type Match = readonly OxmField[];

/** Writes a complete ofp_match (type, length, OXM TLVs, padding to 8 bytes). */
export function encodeMatch(_w: BufferWriter, _match: Match): void {
  throw new Error('encodeMatch: not implemented');
}

/** Reads a complete ofp_match including its padding. */
export function decodeMatch(_r: BufferReader): Match {
  throw new Error('decodeMatch: not implemented');
}
