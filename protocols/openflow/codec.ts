/**
 * Pure OpenFlow 1.3 codec: `encodeMessage` turns a message object into bytes,
 * `decodeMessage` turns exactly one message's bytes into an object. One writer and
 * one reader own every offset; malformed input throws DecodeError with its offset.
 * Well-framed messages of unknown type (or unknown experimenter subtype, or unknown
 * multipart type) decode into opaque variants instead of throwing. Multipart bodies
 * live in `multipart.ts`, structures shared by several messages in `structures.ts`.
 *
 * Structures follow OpenFlow 1.3.5 §7; the ONF bundle extension (EXT-230) and the
 * Nicira messages follow Open vSwitch's `openflow-1.3.h`, `openflow-1.4.h` and
 * `nicira-ext.h`.
 */
import { BufferReader } from '../common/buffer-reader';
import { BufferWriter } from '../common/buffer-writer';
import { EncodeError } from '../common/errors';
import { decodeActions, encodeActions } from './actions';
import {
  NX_VENDOR_ID,
  NXPINT,
  NXT,
  OFP_DEFAULT_MISS_SEND_LEN,
  OFP_HEADER_LEN,
  OFP_NO_BUFFER,
  OFP_VERSION,
  OFPET,
  OFPFC,
  OFPG,
  OFPGC,
  OFPGT,
  OFPHET,
  OFPMC,
  OFPMF,
  OFPP,
  OFPT,
  ONF_VENDOR_ID,
  ONFT,
} from './constants';
import { decodeHeader } from './header';
import { decodeInstructions, encodeInstructions } from './instructions';
import { decodeMatch, decodeOxm, encodeMatch, encodeOxm, type Match, type OxmField } from './match';
import type { Decoded, OfpMessage, PacketQueue } from './messages';
import {
  decodeMultipartReply, decodeMultipartRequest, encodeMultipartReply, encodeMultipartRequest, encodeMultipartType,
} from './multipart';
import {
  decodeBands, decodeBuckets, decodeMac, decodePort, decodeQueue, encodeBand, encodeBucket, encodeMac, encodePort,
  encodeQueue, readRest,
} from './structures';

/** Every 64 bits set: the packet-in cookie of a packet not sent by a flow. */
const COOKIE_NONE = 0xffffffffffffffffn;


/**
 * Encodes one message. The xid defaults to 0 (for `bundle_add`, to the embedded
 * message's xid: EXT-230 requires both to be equal).
 */
export function encodeMessage(msg: OfpMessage): Buffer {
  return encodeMessageWithXid(msg, msg.xid ?? (msg.type === 'bundle_add' ? msg.message.xid : undefined) ?? 0);
}

/**
 * One writer for every encodeMessageWithXid: encoding is synchronous and never
 * nested, and `finish()` copies out, so a message costs one allocation instead
 * of a writer that grows (and copies) from 64 bytes each time.
 */
const scratch = new BufferWriter(4096);

/** Encodes one message with transaction id `xid`, whatever the message's own (a connection assigns xids). */
export function encodeMessageWithXid(msg: OfpMessage, xid: number): Buffer {
  const w = scratch.reset();
  writeMessage(w, msg, xid);
  return w.finish();
}

/**
 * Appends one whole message (header and body) with transaction id `xid` at the
 * writer's offset. Batches of messages (a bundle's adds) go into one writer, and
 * a bundle_add's embedded message is written in place, not encoded and copied.
 */
export function writeMessage(w: BufferWriter, msg: OfpMessage, xid: number): void {
  const start = w.offset;
  w.u8(OFP_VERSION).u8(0).u16(0).u32(xid, 'xid');
  const type = encodeBody(w, msg, xid);
  const length = w.offset - start;
  if (length > 0xffff) throw new EncodeError(`message too long: ${length} bytes`);
  w.patchU8(start + 1, type);
  w.patchU16(start + 2, length);
}

/** Bundle adds are written into buffers of about this size: a few socket writes for a whole bundle. */
export const BUNDLE_CHUNK_BYTES = 64 * 1024;

/** encodeBundleAdds' own writer (`onChunk` may encode other messages meanwhile, with `scratch`). */
const bundleScratch = new BufferWriter(BUNDLE_CHUNK_BYTES + 4096);

/**
 * Encodes `msgs` as the bundle_add messages of bundle `bundleId` (ONF EXT-230),
 * each with the xid `nextXid()` gives it, which its embedded message takes too
 * (EXT-230 requires both to be equal). One writer does them all, handing
 * `onChunk` a copy whenever it holds `chunkBytes` or more, and at the end: the
 * caller can send each while the rest is encoded, and the peer start on it.
 */
export function encodeBundleAdds(
  bundleId: number,
  flags: number,
  msgs: readonly OfpMessage[],
  nextXid: () => number,
  onChunk: (bytes: Buffer) => void,
  chunkBytes = BUNDLE_CHUNK_BYTES,
): void {
  const w = bundleScratch.reset();
  for (const message of msgs) {
    const xid = nextXid();
    const start = w.offset;
    w.u8(OFP_VERSION).u8(OFPT.EXPERIMENTER).u16(0).u32(xid, 'xid');
    writeBundleAddBody(w, bundleId, flags, message, xid);
    const length = w.offset - start;
    if (length > 0xffff) throw new EncodeError(`message too long: ${length} bytes`);
    w.patchU16(start + 2, length);
    if (w.offset >= chunkBytes) {
      onChunk(w.finish());
      w.reset();
    }
  }
  if (w.offset > 0) onChunk(w.finish());
}

/** ONF bundle_add after the header: the embedded message is written in place, with transaction id `innerXid`. */
function writeBundleAddBody(w: BufferWriter, bundleId: number, flags: number, message: OfpMessage, innerXid: number): void {
  w.u32(ONF_VENDOR_ID).u32(ONFT.BUNDLE_ADD_MESSAGE);
  w.u32(bundleId, 'bundle_id').zeros(2).u16(flags, 'flags');
  writeMessage(w, message, innerXid);
}

/** Writes the body after the header; returns the OFPT_* type for the header. */
function encodeBody(w: BufferWriter, msg: OfpMessage, xid: number): number {
  switch (msg.type) {
    case 'hello':
      if (msg.versions) {
        const bitmap = msg.versions.reduce((acc, v) => acc | (1 << v), 0) >>> 0;
        w.u16(OFPHET.VERSIONBITMAP).u16(8).u32(bitmap);
      }
      return OFPT.HELLO;
    case 'error':
      w.u16(msg.errType, 'error type').u16(msg.code, 'error code');
      if (msg.errType === OFPET.EXPERIMENTER) w.u32(msg.experimenter ?? 0, 'experimenter');
      w.bytes(msg.data);
      return OFPT.ERROR;
    case 'echo_request':
      if (msg.data) w.bytes(msg.data);
      return OFPT.ECHO_REQUEST;
    case 'echo_reply':
      if (msg.data) w.bytes(msg.data);
      return OFPT.ECHO_REPLY;
    case 'experimenter':
      w.u32(msg.experimenter, 'experimenter').u32(msg.expType, 'exp_type');
      if (msg.data) w.bytes(msg.data);
      return OFPT.EXPERIMENTER;
    case 'unknown':
      if (!Number.isInteger(msg.msgType) || msg.msgType < 0 || msg.msgType > 0xff) {
        throw new EncodeError(`message type out of range: ${msg.msgType}`);
      }
      w.bytes(msg.body);
      return msg.msgType;
    case 'features_request':
      return OFPT.FEATURES_REQUEST;
    case 'features_reply':
      w.u64(msg.datapathId).u32(msg.nBuffers).u8(msg.nTables).u8(msg.auxiliaryId).zeros(2);
      w.u32(msg.capabilities).u32(0);
      return OFPT.FEATURES_REPLY;
    case 'get_config_request':
      return OFPT.GET_CONFIG_REQUEST;
    case 'get_config_reply':
    case 'set_config':
      w.u16(msg.flags ?? 0, 'flags').u16(msg.missSendLen ?? OFP_DEFAULT_MISS_SEND_LEN, 'miss_send_len');
      return msg.type === 'set_config' ? OFPT.SET_CONFIG : OFPT.GET_CONFIG_REPLY;
    case 'packet_in':
      w.u32(msg.bufferId ?? OFP_NO_BUFFER, 'buffer_id').u16(msg.totalLen ?? msg.data.length, 'total_len');
      w.u8(msg.reason, 'reason').u8(msg.tableId, 'table_id').u64(msg.cookie ?? COOKIE_NONE, 'cookie');
      encodeMatch(w, msg.match);
      w.zeros(2).bytes(msg.data);
      return OFPT.PACKET_IN;
    case 'flow_removed':
      w.u64(msg.cookie, 'cookie').u16(msg.priority, 'priority').u8(msg.reason, 'reason').u8(msg.tableId, 'table_id');
      w.u32(msg.durationSec, 'duration_sec').u32(msg.durationNsec, 'duration_nsec');
      w.u16(msg.idleTimeout, 'idle_timeout').u16(msg.hardTimeout, 'hard_timeout');
      w.u64(msg.packetCount, 'packet_count').u64(msg.byteCount, 'byte_count');
      encodeMatch(w, msg.match);
      return OFPT.FLOW_REMOVED;
    case 'port_status':
      w.u8(msg.reason, 'reason').zeros(7);
      encodePort(w, msg.port);
      return OFPT.PORT_STATUS;
    case 'packet_out': {
      w.u32(msg.bufferId ?? OFP_NO_BUFFER, 'buffer_id').u32(msg.inPort ?? OFPP.CONTROLLER, 'in_port');
      const lenAt = w.offset;
      w.u16(0).zeros(6);
      const start = w.offset;
      encodeActions(w, msg.actions);
      w.patchU16(lenAt, w.offset - start, 'actions_len');
      if (msg.data) w.bytes(msg.data);
      return OFPT.PACKET_OUT;
    }
    case 'flow_mod':
      w.u64(msg.cookie ?? 0n, 'cookie');
      if (msg.cookieMask === undefined || msg.cookieMask === 0n) w.zeros(8);
      else w.u64(msg.cookieMask, 'cookie_mask');
      w.u8(msg.tableId ?? 0, 'table_id').u8(msg.command ?? OFPFC.ADD, 'command');
      w.u16(msg.idleTimeout ?? 0).u16(msg.hardTimeout ?? 0).u16(msg.priority ?? 0x8000, 'priority');
      w.u32(msg.bufferId ?? OFP_NO_BUFFER).u32(msg.outPort ?? OFPP.ANY).u32(msg.outGroup ?? OFPG.ANY);
      w.u16(msg.flags ?? 0).zeros(2);
      if (msg.encoded) {
        w.bytes(msg.encoded);
      } else {
        encodeMatch(w, msg.match);
        encodeInstructions(w, msg.instructions ?? []);
      }
      return OFPT.FLOW_MOD;
    case 'group_mod':
      w.u16(msg.command ?? OFPGC.ADD, 'command').u8(msg.groupType ?? OFPGT.ALL, 'group type').zeros(1);
      w.u32(msg.groupId, 'group_id');
      for (const b of msg.buckets ?? []) encodeBucket(w, b);
      return OFPT.GROUP_MOD;
    case 'port_mod':
      w.u32(msg.portNo, 'port_no').zeros(4);
      encodeMac(w, msg.hwAddr);
      w.zeros(2).u32(msg.config, 'config').u32(msg.mask, 'mask').u32(msg.advertise ?? 0, 'advertise').zeros(4);
      return OFPT.PORT_MOD;
    case 'table_mod':
      w.u8(msg.tableId, 'table_id').zeros(3).u32(msg.config ?? 0, 'config');
      return OFPT.TABLE_MOD;
    case 'multipart_request':
      w.u16(encodeMultipartType(msg.body), 'multipart type');
      w.u16(msg.flags ?? 0, 'flags').zeros(4);
      encodeMultipartRequest(w, msg.body);
      return OFPT.MULTIPART_REQUEST;
    case 'multipart_reply':
      w.u16(encodeMultipartType(msg.body), 'multipart type');
      w.u16(msg.flags ?? 0, 'flags').zeros(4);
      encodeMultipartReply(w, msg.body);
      return OFPT.MULTIPART_REPLY;
    case 'barrier_request':
      return OFPT.BARRIER_REQUEST;
    case 'barrier_reply':
      return OFPT.BARRIER_REPLY;
    case 'queue_get_config_request':
      w.u32(msg.port ?? OFPP.ANY, 'port').zeros(4);
      return OFPT.QUEUE_GET_CONFIG_REQUEST;
    case 'queue_get_config_reply':
      w.u32(msg.port, 'port').zeros(4);
      for (const q of msg.queues) encodeQueue(w, q);
      return OFPT.QUEUE_GET_CONFIG_REPLY;
    case 'role_request':
    case 'role_reply':
      w.u32(msg.role, 'role').zeros(4).u64(msg.generationId ?? 0n, 'generation_id');
      return msg.type === 'role_request' ? OFPT.ROLE_REQUEST : OFPT.ROLE_REPLY;
    case 'get_async_request':
      return OFPT.GET_ASYNC_REQUEST;
    case 'get_async_reply':
    case 'set_async':
      for (const pair of [msg.packetInMask, msg.portStatusMask, msg.flowRemovedMask]) {
        w.u32(pair[0], 'async mask').u32(pair[1], 'async mask');
      }
      return msg.type === 'set_async' ? OFPT.SET_ASYNC : OFPT.GET_ASYNC_REPLY;
    case 'meter_mod':
      w.u16(msg.command ?? OFPMC.ADD, 'command').u16(msg.flags ?? OFPMF.KBPS, 'flags').u32(msg.meterId, 'meter_id');
      for (const band of msg.bands ?? []) encodeBand(w, band);
      return OFPT.METER_MOD;
    case 'bundle_control':
      w.u32(ONF_VENDOR_ID).u32(ONFT.BUNDLE_CONTROL);
      w.u32(msg.bundleId, 'bundle_id').u16(msg.ctrlType, 'bundle control type').u16(msg.flags ?? 0, 'flags');
      if (msg.properties) w.bytes(msg.properties);
      return OFPT.EXPERIMENTER;
    case 'bundle_add':
      writeBundleAddBody(w, msg.bundleId, msg.flags ?? 0, msg.message, msg.message.xid ?? xid);
      return OFPT.EXPERIMENTER;
    case 'nx_set_packet_in_format':
      w.u32(NX_VENDOR_ID).u32(NXT.SET_PACKET_IN_FORMAT).u32(msg.format, 'format');
      return OFPT.EXPERIMENTER;
    case 'nx_set_controller_id':
      w.u32(NX_VENDOR_ID).u32(NXT.SET_CONTROLLER_ID).zeros(6).u16(msg.controllerId, 'controller_id');
      return OFPT.EXPERIMENTER;
    case 'nx_packet_in2':
      w.u32(NX_VENDOR_ID).u32(NXT.PACKET_IN2);
      // Property order as Open vSwitch writes it (lib/ofp-packet.c).
      encodeProp(w, NXPINT.PACKET, msg.data);
      if (msg.fullLen !== undefined) encodeProp(w, NXPINT.FULL_LEN, u32Bytes(msg.fullLen));
      if (msg.bufferId !== undefined) encodeProp(w, NXPINT.BUFFER_ID, u32Bytes(msg.bufferId));
      if (msg.tableId !== undefined) encodeProp(w, NXPINT.TABLE_ID, Buffer.of(msg.tableId));
      if (msg.cookie !== undefined) encodeProp(w, NXPINT.COOKIE, u64PropBytes(msg.cookie));
      if (msg.reason !== undefined) encodeProp(w, NXPINT.REASON, Buffer.of(msg.reason));
      if (msg.metadata !== undefined) encodeProp(w, NXPINT.METADATA, encodeOxmList(msg.metadata));
      if (msg.continuation !== undefined) encodeProp(w, NXPINT.CONTINUATION, msg.continuation);
      if (msg.userdata !== undefined) encodeProp(w, NXPINT.USERDATA, msg.userdata);
      return OFPT.EXPERIMENTER;
  }
}


/**
 * Decodes exactly one message. `buf` must hold the whole message (the framer
 * guarantees it); `base` is its offset in the stream, for error messages.
 */
export function decodeMessage(buf: Buffer, base = 0): Decoded {
  const r = new BufferReader(buf, 0, buf.length, base);
  const h = decodeHeader(r);
  if (h.length !== buf.length) r.fail(`header length ${h.length} but ${buf.length} bytes given`, 2);
  if (h.version !== OFP_VERSION && h.type !== OFPT.HELLO) {
    r.fail(`unsupported OpenFlow version 0x${h.version.toString(16)}`, 0);
  }
  const xid = h.xid;
  switch (h.type) {
    case OFPT.HELLO: {
      let versions: number[] | undefined;
      while (r.remaining >= 4) {
        const at = r.offset;
        const elemType = r.u16('hello element type');
        const elemLen = r.u16('hello element length');
        if (elemLen < 4) r.fail(`hello element length ${elemLen} < 4`, at + 2);
        const body = r.sub(elemLen - 4, 'hello element');
        r.skip(Math.min(r.remaining, ((elemLen + 7) & ~7) - elemLen), 'hello element padding');
        if (elemType === OFPHET.VERSIONBITMAP) {
          versions = [];
          for (let word = 0; body.remaining >= 4; word++) {
            const bits = body.u32('version bitmap');
            for (let b = 0; b < 32; b++) if (bits & (1 << b)) versions.push(word * 32 + b);
          }
        }
      }
      return versions ? { type: 'hello', xid, versions } : { type: 'hello', xid };
    }
    case OFPT.ERROR: {
      const errType = r.u16('error type');
      const code = r.u16('error code');
      if (errType === OFPET.EXPERIMENTER) {
        const experimenter = r.u32('error experimenter');
        return { type: 'error', xid, errType, code, experimenter, data: readRest(r) };
      }
      return { type: 'error', xid, errType, code, data: readRest(r) };
    }
    case OFPT.ECHO_REQUEST:
      return { type: 'echo_request', xid, data: readRest(r) };
    case OFPT.ECHO_REPLY:
      return { type: 'echo_reply', xid, data: readRest(r) };
    case OFPT.EXPERIMENTER:
      return decodeExperimenter(r, xid);
    case OFPT.FEATURES_REQUEST:
      return { type: 'features_request', xid };
    case OFPT.FEATURES_REPLY: {
      const datapathId = r.u64('datapath_id');
      const nBuffers = r.u32('n_buffers');
      const nTables = r.u8('n_tables');
      const auxiliaryId = r.u8('auxiliary_id');
      r.skip(2);
      const capabilities = r.u32('capabilities');
      r.skip(4, 'reserved');
      return { type: 'features_reply', xid, datapathId, nBuffers, nTables, auxiliaryId, capabilities };
    }
    case OFPT.GET_CONFIG_REQUEST:
      return { type: 'get_config_request', xid };
    case OFPT.GET_CONFIG_REPLY:
      return { type: 'get_config_reply', xid, flags: r.u16('flags'), missSendLen: r.u16('miss_send_len') };
    case OFPT.SET_CONFIG:
      return { type: 'set_config', xid, flags: r.u16('flags'), missSendLen: r.u16('miss_send_len') };
    case OFPT.PACKET_IN: {
      const bufferId = r.u32('buffer_id');
      const totalLen = r.u16('total_len');
      const reason = r.u8('reason');
      const tableId = r.u8('table_id');
      const cookie = r.u64('cookie');
      const match = decodeMatch(r);
      r.skip(2);
      // The frame is a view of `buf`, not a copy: the framer gives every message its own buffer,
      // and a packet-in is answered and dropped (a handler that keeps bytes copies them).
      return { type: 'packet_in', xid, bufferId, totalLen, reason, tableId, cookie, match, data: r.bytes(r.remaining) };
    }
    case OFPT.FLOW_REMOVED: {
      const cookie = r.u64('cookie');
      const priority = r.u16('priority');
      const reason = r.u8('reason');
      const tableId = r.u8('table_id');
      const durationSec = r.u32('duration_sec');
      const durationNsec = r.u32('duration_nsec');
      const idleTimeout = r.u16('idle_timeout');
      const hardTimeout = r.u16('hard_timeout');
      const packetCount = r.u64('packet_count');
      const byteCount = r.u64('byte_count');
      const match = decodeMatch(r);
      return {
        type: 'flow_removed', xid, cookie, priority, reason, tableId, durationSec, durationNsec,
        idleTimeout, hardTimeout, packetCount, byteCount, match,
      };
    }
    case OFPT.PORT_STATUS: {
      const reason = r.u8('reason');
      r.skip(7);
      return { type: 'port_status', xid, reason, port: decodePort(r) };
    }
    case OFPT.PACKET_OUT: {
      const bufferId = r.u32('buffer_id');
      const inPort = r.u32('in_port');
      const actionsLen = r.u16('actions_len');
      r.skip(6);
      const actions = decodeActions(r.sub(actionsLen, 'actions'));
      return { type: 'packet_out', xid, bufferId, inPort, actions, data: readRest(r) };
    }
    case OFPT.FLOW_MOD: {
      const cookie = r.u64('cookie');
      const cookieMask = r.u64('cookie_mask');
      const tableId = r.u8('table_id');
      const command = r.u8('command');
      const idleTimeout = r.u16('idle_timeout');
      const hardTimeout = r.u16('hard_timeout');
      const priority = r.u16('priority');
      const bufferId = r.u32('buffer_id');
      const outPort = r.u32('out_port');
      const outGroup = r.u32('out_group');
      const flags = r.u16('flags');
      r.skip(2);
      const match = decodeMatch(r);
      const instructions = decodeInstructions(r.sub(r.remaining, 'instructions'));
      return {
        type: 'flow_mod', xid, cookie, cookieMask, tableId, command, idleTimeout, hardTimeout,
        priority, bufferId, outPort, outGroup, flags, match, instructions,
      };
    }
    case OFPT.GROUP_MOD: {
      const command = r.u16('command');
      const groupType = r.u8('group type');
      r.skip(1);
      const groupId = r.u32('group_id');
      return { type: 'group_mod', xid, command, groupType, groupId, buckets: decodeBuckets(r) };
    }
    case OFPT.PORT_MOD: {
      const portNo = r.u32('port_no');
      r.skip(4);
      const hwAddr = decodeMac(r);
      r.skip(2);
      const config = r.u32('config');
      const mask = r.u32('mask');
      const advertise = r.u32('advertise');
      r.skip(4);
      return { type: 'port_mod', xid, portNo, hwAddr, config, mask, advertise };
    }
    case OFPT.TABLE_MOD: {
      const tableId = r.u8('table_id');
      r.skip(3);
      return { type: 'table_mod', xid, tableId, config: r.u32('config') };
    }
    case OFPT.MULTIPART_REQUEST: {
      const type = r.u16('multipart type');
      const flags = r.u16('multipart flags');
      r.skip(4);
      return { type: 'multipart_request', xid, flags, body: decodeMultipartRequest(r, type) };
    }
    case OFPT.MULTIPART_REPLY: {
      const type = r.u16('multipart type');
      const flags = r.u16('multipart flags');
      r.skip(4);
      return { type: 'multipart_reply', xid, flags, body: decodeMultipartReply(r, type) };
    }
    case OFPT.BARRIER_REQUEST:
      return { type: 'barrier_request', xid };
    case OFPT.BARRIER_REPLY:
      return { type: 'barrier_reply', xid };
    case OFPT.QUEUE_GET_CONFIG_REQUEST: {
      const port = r.u32('port');
      r.skip(4);
      return { type: 'queue_get_config_request', xid, port };
    }
    case OFPT.QUEUE_GET_CONFIG_REPLY: {
      const port = r.u32('port');
      r.skip(4);
      const queues: PacketQueue[] = [];
      while (r.remaining > 0) queues.push(decodeQueue(r));
      return { type: 'queue_get_config_reply', xid, port, queues };
    }
    case OFPT.ROLE_REQUEST:
    case OFPT.ROLE_REPLY: {
      const role = r.u32('role');
      r.skip(4);
      const generationId = r.u64('generation_id');
      return { type: h.type === OFPT.ROLE_REQUEST ? 'role_request' : 'role_reply', xid, role, generationId };
    }
    case OFPT.GET_ASYNC_REQUEST:
      return { type: 'get_async_request', xid };
    case OFPT.GET_ASYNC_REPLY:
    case OFPT.SET_ASYNC: {
      const pair = (what: string): [number, number] => [r.u32(what), r.u32(what)];
      const packetInMask = pair('packet_in_mask');
      const portStatusMask = pair('port_status_mask');
      const flowRemovedMask = pair('flow_removed_mask');
      return {
        type: h.type === OFPT.SET_ASYNC ? 'set_async' : 'get_async_reply',
        xid, packetInMask, portStatusMask, flowRemovedMask,
      };
    }
    case OFPT.METER_MOD: {
      const command = r.u16('command');
      const flags = r.u16('flags');
      const meterId = r.u32('meter_id');
      return { type: 'meter_mod', xid, command, flags, meterId, bands: decodeBands(r) };
    }
    default:
      return { type: 'unknown', xid, msgType: h.type, body: readRest(r) };
  }
}

/** OFPT_EXPERIMENTER: ONF bundles, Nicira messages, or an opaque experimenter message. */
function decodeExperimenter(r: BufferReader, xid: number): Decoded {
  const experimenter = r.u32('experimenter');
  const expType = r.u32('exp_type');
  if (experimenter === ONF_VENDOR_ID && expType === ONFT.BUNDLE_CONTROL) {
    const bundleId = r.u32('bundle_id');
    const ctrlType = r.u16('bundle control type');
    const flags = r.u16('bundle flags');
    return { type: 'bundle_control', xid, bundleId, ctrlType, flags, properties: readRest(r) };
  }
  if (experimenter === ONF_VENDOR_ID && expType === ONFT.BUNDLE_ADD_MESSAGE) {
    const bundleId = r.u32('bundle_id');
    r.skip(2);
    const flags = r.u16('bundle flags');
    const at = r.absoluteOffset;
    if (r.remaining < OFP_HEADER_LEN) r.fail('bundle add without an embedded message');
    const innerLen = r.buf.readUInt16BE(r.offset + 2);
    if (innerLen < OFP_HEADER_LEN) r.fail(`embedded message length ${innerLen} shorter than the header`, r.offset + 2);
    const inner = Buffer.from(r.bytes(innerLen, 'embedded message'));
    // Bundle properties may follow the embedded message; none are defined that we use.
    return { type: 'bundle_add', xid, bundleId, flags, message: decodeMessage(inner, at) };
  }
  if (experimenter === NX_VENDOR_ID && expType === NXT.SET_PACKET_IN_FORMAT) {
    return { type: 'nx_set_packet_in_format', xid, format: r.u32('packet-in format') };
  }
  if (experimenter === NX_VENDOR_ID && expType === NXT.SET_CONTROLLER_ID) {
    r.skip(6);
    return { type: 'nx_set_controller_id', xid, controllerId: r.u16('controller_id') };
  }
  if (experimenter === NX_VENDOR_ID && expType === NXT.PACKET_IN2) return decodePacketIn2(r, xid);
  return { type: 'experimenter', xid, experimenter, expType, data: readRest(r) };
}

/** NXT_PACKET_IN2: a list of properties (type, length, value, padding to 8). */
function decodePacketIn2(r: BufferReader, xid: number): Decoded {
  let data: Buffer | undefined;
  const pin: {
    fullLen?: number;
    bufferId?: number;
    tableId?: number;
    cookie?: bigint;
    reason?: number;
    metadata?: Match;
    userdata?: Buffer;
    continuation?: Buffer;
  } = {};
  while (r.remaining > 0) {
    const at = r.offset;
    const type = r.u16('property type');
    const len = r.u16('property length');
    if (len < 4) r.fail(`property length ${len} < 4`, at + 2);
    const p = r.sub(len - 4, 'property');
    r.skip(Math.min(r.remaining, ((len + 7) & ~7) - len), 'property padding');
    switch (type) {
      case NXPINT.PACKET:
        data = readRest(p);
        break;
      case NXPINT.FULL_LEN:
        pin.fullLen = propU32(p);
        break;
      case NXPINT.BUFFER_ID:
        pin.bufferId = propU32(p);
        break;
      case NXPINT.TABLE_ID:
        pin.tableId = propU8(p);
        break;
      case NXPINT.COOKIE:
        pin.cookie = propU64(p);
        break;
      case NXPINT.REASON:
        pin.reason = propU8(p);
        break;
      case NXPINT.METADATA:
        pin.metadata = decodeOxmList(p);
        break;
      case NXPINT.USERDATA:
        pin.userdata = readRest(p);
        break;
      case NXPINT.CONTINUATION:
        pin.continuation = readRest(p);
        break;
      default:
        // Properties a later Open vSwitch may add are skipped, as its own loose decoder does.
        break;
    }
  }
  if (data === undefined) r.fail('NXT_PACKET_IN2 without a packet property');
  return { type: 'nx_packet_in2', xid, data, ...pin };
}

function propU8(p: BufferReader): number {
  if (p.remaining !== 1) p.fail(`8-bit property with ${p.remaining} bytes`);
  return p.u8();
}
function propU32(p: BufferReader): number {
  if (p.remaining !== 4) p.fail(`32-bit property with ${p.remaining} bytes`);
  return p.u32();
}
/** 64-bit properties carry 4 bytes of padding first so the value is 8-aligned; accept both. */
function propU64(p: BufferReader): bigint {
  if (p.remaining === 12) p.skip(4);
  else if (p.remaining !== 8) p.fail(`64-bit property with ${p.remaining} bytes`);
  return p.u64();
}

function encodeProp(w: BufferWriter, type: number, payload: Buffer): void {
  const start = w.offset;
  w.u16(type).u16(4 + payload.length, 'property length').bytes(payload).padTo(8, start);
}
function u32Bytes(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v);
  return b;
}
function u64PropBytes(v: bigint): Buffer {
  const b = Buffer.alloc(12);
  b.writeBigUInt64BE(v, 4);
  return b;
}

/** A bare list of OXM TLVs (no ofp_match header or padding), as in NXPINT_METADATA. */
function encodeOxmList(match: Match): Buffer {
  const w = new BufferWriter(64);
  for (const f of match) encodeOxm(w, f);
  return w.finish();
}
function decodeOxmList(p: BufferReader): Match {
  const out: OxmField[] = [];
  while (p.remaining > 0) out.push(decodeOxm(p));
  return out;
}

export { OFP_HEADER_LEN };
