/**
 * Ethernet II framing (IEEE 802.3 §3.2.6 type field) and 802.1Q / 802.1ad VLAN tags,
 * including stacked (Q-in-Q) tags.
 *
 * ```
 *  0                   6                   12      14
 *  +-------------------+-------------------+-------+---------
 *  | destination MAC   | source MAC        | type  | payload
 *  +-------------------+-------------------+-------+---------
 *  a VLAN tag sits before the type: TPID(16) | PCP(3) DEI(1) VID(12)
 * ```
 */
import { BufferReader } from '../common/buffer-reader';
import { BufferWriter } from '../common/buffer-writer';
import { EncodeError } from '../common/errors';
import { formatMac, parseMac } from './address';

/** EtherType values (IEEE Registration Authority). */
export const ETHER_TYPE = {
  IPV4: 0x0800,
  ARP: 0x0806,
  VLAN: 0x8100,
  IPV6: 0x86dd,
  QINQ: 0x88a8,
  LLDP: 0x88cc,
  /** Pre-standard stacked VLAN TPID still seen in the wild. */
  QINQ_LEGACY: 0x9100,
} as const;

export const BROADCAST_MAC = 'ff:ff:ff:ff:ff:ff';

/** TPIDs that introduce a VLAN tag. */
const VLAN_TPIDS: ReadonlySet<number> = new Set([ETHER_TYPE.VLAN, ETHER_TYPE.QINQ, ETHER_TYPE.QINQ_LEGACY]);

export const ETHERNET_HEADER_LEN = 14;
export const VLAN_TAG_LEN = 4;

export interface EthernetHeader {
  readonly dst: string;
  readonly src: string;
  /** Type of the payload after all VLAN tags. Values below 0x0600 are 802.3 lengths, kept as is. */
  readonly etherType: number;
}

/** One 802.1Q tag (IEEE 802.1Q §9.6). */
export interface VlanTag {
  /** 0x8100 (C-tag), 0x88a8 (S-tag) or 0x9100. */
  readonly tpid: number;
  /** Priority code point, 0..7. */
  readonly pcp: number;
  /** Drop eligible indicator (formerly CFI). */
  readonly isDropEligible: boolean;
  /** VLAN id, 0..4095. */
  readonly vid: number;
}

export interface EthernetFrame {
  readonly eth: EthernetHeader;
  /** Tags outermost first; empty when untagged. */
  readonly vlan: readonly VlanTag[];
  /** Bytes after the last type field (a view into the input). */
  readonly payload: Buffer;
  /** Offset of `payload` in the frame. */
  readonly payloadOffset: number;
}

/** Decodes the Ethernet header and any VLAN tags. Throws DecodeError when truncated. */
export function decodeEthernet(buf: Buffer): EthernetFrame {
  const r = new BufferReader(buf);
  const dst = formatMac(r.bytes(6, 'destination MAC'));
  const src = formatMac(r.bytes(6, 'source MAC'));
  let etherType = r.u16('EtherType');
  const vlan: VlanTag[] = [];
  while (VLAN_TPIDS.has(etherType)) {
    const tci = r.u16('VLAN TCI');
    vlan.push({ tpid: etherType, pcp: tci >> 13, isDropEligible: (tci & 0x1000) !== 0, vid: tci & 0x0fff });
    etherType = r.u16('EtherType');
  }
  return { eth: { dst, src, etherType }, vlan, payload: buf.subarray(r.offset), payloadOffset: r.offset };
}

/** A VLAN tag with the usual defaults (C-tag, priority 0). */
export function makeVlanTag(vid: number, pcp = 0, tpid: number = ETHER_TYPE.VLAN): VlanTag {
  return { tpid, pcp, isDropEligible: false, vid };
}

/** Builds a frame. No padding to the 60-byte minimum is added; the switch pads on output. */
export function encodeEthernet(eth: EthernetHeader, payload: Uint8Array, vlan: readonly VlanTag[] = []): Buffer {
  const w = new BufferWriter(ETHERNET_HEADER_LEN + vlan.length * VLAN_TAG_LEN + payload.length);
  w.bytes(parseMac(eth.dst)).bytes(parseMac(eth.src));
  for (const tag of vlan) {
    if (tag.vid > 0x0fff || tag.pcp > 7) throw new EncodeError(`bad VLAN tag vid=${tag.vid} pcp=${tag.pcp}`);
    w.u16(tag.tpid, 'TPID').u16((tag.pcp << 13) | (tag.isDropEligible ? 0x1000 : 0) | tag.vid, 'VLAN TCI');
  }
  w.u16(eth.etherType, 'EtherType');
  w.bytes(payload);
  return w.finish();
}
