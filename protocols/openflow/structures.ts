/**
 * Structures that several OpenFlow 1.3 messages share: ofp_port (OpenFlow 1.3.5
 * §7.2.1), ofp_packet_queue (§7.2.2), ofp_bucket (§7.3.4.2), ofp_meter_band_*
 * (§7.3.4.4), MAC addresses, and the readers for lists of length-prefixed or
 * fixed-size structures. Used by `codec` (messages) and `multipart` (bodies).
 */
import type { BufferReader } from '../common/buffer-reader';
import type { BufferWriter } from '../common/buffer-writer';
import { EncodeError } from '../common/errors';
import { decodeActions, encodeActions, type Action } from './actions';
import { OFP_MAX_PORT_NAME_LEN, OFPG, OFPMBT, OFPP, OFPQT } from './constants';
import type { Bucket, MeterBand, PacketQueue, Port, QueueProperty } from './messages';

/** Reads length-prefixed structures (the u16 length at `lenOffset`) until the body ends. */
export function decodeEach<T>(r: BufferReader, what: string, min: number, lenOffset: number, decode: (s: BufferReader) => T): T[] {
  const out: T[] = [];
  while (r.remaining > 0) {
    if (r.remaining < lenOffset + 2) r.fail(`truncated ${what}`);
    const len = r.buf.readUInt16BE(r.offset + lenOffset);
    if (len < min) r.fail(`${what} length ${len} < ${min}`, r.offset + lenOffset);
    out.push(decode(r.sub(len, what)));
  }
  return out;
}

/** Reads fixed-size structures until the body ends. */
export function decodeFixed<T>(r: BufferReader, what: string, size: number, decode: (s: BufferReader) => T): T[] {
  const out: T[] = [];
  while (r.remaining > 0) out.push(decode(r.sub(size, what)));
  return out;
}

/** ofp_port (§7.2.1), 64 bytes. */
export function encodePort(w: BufferWriter, p: Port): void {
  w.u32(p.portNo, 'port_no').zeros(4);
  encodeMac(w, p.hwAddr);
  w.zeros(2).cstring(p.name, OFP_MAX_PORT_NAME_LEN, 'port name');
  w.u32(p.config, 'config').u32(p.state, 'state').u32(p.curr, 'curr').u32(p.advertised, 'advertised');
  w.u32(p.supported, 'supported').u32(p.peer, 'peer').u32(p.currSpeed, 'curr_speed').u32(p.maxSpeed, 'max_speed');
}
export function decodePort(r: BufferReader): Port {
  const portNo = r.u32('port_no');
  r.skip(4);
  const hwAddr = decodeMac(r);
  r.skip(2);
  const name = r.cstring(OFP_MAX_PORT_NAME_LEN, 'port name');
  return {
    portNo, hwAddr, name, config: r.u32('config'), state: r.u32('state'), curr: r.u32('curr'),
    advertised: r.u32('advertised'), supported: r.u32('supported'), peer: r.u32('peer'),
    currSpeed: r.u32('curr_speed'), maxSpeed: r.u32('max_speed'),
  };
}

/** ofp_bucket (§7.3.4.2): len, weight, watch_port, watch_group, pad, actions. */
export function encodeBucket(w: BufferWriter, b: Bucket): void {
  const start = w.offset;
  w.u16(0).u16(b.weight ?? 0, 'weight').u32(b.watchPort ?? OFPP.ANY, 'watch_port');
  w.u32(b.watchGroup ?? OFPG.ANY, 'watch_group').zeros(4);
  encodeActions(w, b.actions);
  w.patchU16(start, w.offset - start, 'bucket length');
}
export function decodeBuckets(r: BufferReader): Bucket[] {
  return decodeEach(r, 'bucket', 16, 0, (s) => {
    s.skip(2);
    const weight = s.u16('weight');
    const watchPort = s.u32('watch_port');
    const watchGroup = s.u32('watch_group');
    s.skip(4);
    return { weight, watchPort, watchGroup, actions: decodeActions(s) as Action[] };
  });
}

/** ofp_meter_band_* (§7.3.4.4): type, len, rate, burst_size, then per type. */
export function encodeBand(w: BufferWriter, band: MeterBand): void {
  const start = w.offset;
  const type = band.type === 'drop' ? OFPMBT.DROP : band.type === 'dscp_remark' ? OFPMBT.DSCP_REMARK : OFPMBT.EXPERIMENTER;
  w.u16(type).u16(0).u32(band.rate, 'rate').u32(band.burstSize ?? 0, 'burst_size');
  switch (band.type) {
    case 'drop':
      w.zeros(4);
      break;
    case 'dscp_remark':
      w.u8(band.precLevel, 'prec_level').zeros(3);
      break;
    case 'experimenter':
      w.u32(band.experimenter, 'experimenter');
      if (band.data) w.bytes(band.data);
      break;
  }
  w.patchU16(start + 2, w.offset - start, 'band length');
}
export function decodeBands(r: BufferReader): MeterBand[] {
  return decodeEach(r, 'meter band', 16, 2, (s) => {
    const type = s.u16('band type');
    s.skip(2);
    const rate = s.u32('rate');
    const burstSize = s.u32('burst_size');
    switch (type) {
      case OFPMBT.DROP:
        return { type: 'drop', rate, burstSize };
      case OFPMBT.DSCP_REMARK:
        return { type: 'dscp_remark', rate, burstSize, precLevel: s.u8('prec_level') };
      case OFPMBT.EXPERIMENTER:
        return { type: 'experimenter', rate, burstSize, experimenter: s.u32('experimenter'), data: readRest(s) };
      default:
        // OFPMBT_* has no other values in OpenFlow 1.3; such a band has no meaning to keep.
        return s.fail(`unknown meter band type ${type}`, s.offset - 12);
    }
  });
}

/** ofp_packet_queue (§7.2.2): queue_id, port, len, pad, properties. */
export function encodeQueue(w: BufferWriter, q: PacketQueue): void {
  const start = w.offset;
  w.u32(q.queueId, 'queue_id').u32(q.port, 'port').u16(0).zeros(6);
  for (const p of q.properties) {
    const pstart = w.offset;
    switch (p.type) {
      case 'min_rate':
      case 'max_rate':
        w.u16(p.type === 'min_rate' ? OFPQT.MIN_RATE : OFPQT.MAX_RATE).u16(16).zeros(4).u16(p.rate, 'rate').zeros(6);
        break;
      case 'experimenter':
        w.u16(OFPQT.EXPERIMENTER).u16(0).zeros(4).u32(p.experimenter, 'experimenter').zeros(4);
        if (p.data) w.bytes(p.data);
        w.patchU16(pstart + 2, w.offset - pstart, 'queue property length');
        break;
      case 'unknown':
        w.u16(p.property, 'property').u16(8 + p.data.length, 'queue property length').zeros(4).bytes(p.data);
        break;
    }
  }
  w.patchU16(start + 8, w.offset - start, 'queue length');
}
export function decodeQueue(r: BufferReader): PacketQueue {
  const len = peekU16(r, 8);
  if (len < 16) r.fail(`queue length ${len} < 16`, r.offset + 8);
  const s = r.sub(len, 'queue');
  const queueId = s.u32('queue_id');
  const port = s.u32('port');
  s.skip(8);
  const properties = decodeEach(s, 'queue property', 8, 2, (p): QueueProperty => {
    const property = p.u16('property');
    p.skip(6);
    switch (property) {
      case OFPQT.MIN_RATE:
      case OFPQT.MAX_RATE: {
        const rate = p.u16('rate');
        p.skip(6);
        return { type: property === OFPQT.MIN_RATE ? 'min_rate' : 'max_rate', rate };
      }
      case OFPQT.EXPERIMENTER: {
        const experimenter = p.u32('experimenter');
        p.skip(4);
        return { type: 'experimenter', experimenter, data: readRest(p) };
      }
      default:
        return { type: 'unknown', property, data: readRest(p) };
    }
  });
  return { queueId, port, properties };
}
function peekU16(r: BufferReader, at: number): number {
  if (r.remaining < at + 2) r.fail('truncated length field');
  return r.buf.readUInt16BE(r.offset + at);
}

export function encodeMac(w: BufferWriter, mac: string): void {
  const parts = mac.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new EncodeError(`bad MAC address: ${mac}`);
  }
  for (const p of parts) w.u8(parseInt(p, 16));
}
export function decodeMac(r: BufferReader): string {
  return [...r.bytes(6, 'hw_addr')].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** The rest of a reader as a fresh Buffer: decoded payloads must not alias the receive buffer. */
export function readRest(r: BufferReader): Buffer {
  return Buffer.from(r.bytes(r.remaining));
}
