/**
 * Pure OpenFlow 1.3 codec: `encodeMessage` turns a message object into bytes,
 * `decodeMessage` turns exactly one message's bytes into an object. One writer and
 * one reader own every offset; malformed input throws DecodeError with its offset.
 * Well-framed messages of unknown type (or unknown experimenter subtype, or unknown
 * multipart type) decode into opaque variants instead of throwing.
 *
 * Structures follow OpenFlow 1.3.5 §7; the ONF bundle extension (EXT-230) and the
 * Nicira messages follow Open vSwitch's `openflow-1.3.h`, `openflow-1.4.h` and
 * `nicira-ext.h`.
 */
import { BufferReader } from '../common/buffer-reader';
import { BufferWriter } from '../common/buffer-writer';
import { EncodeError } from '../common/errors';
import { decodeActions, encodeActions, type Action } from './actions';
import {
  DESC_STR_LEN,
  NX_VENDOR_ID,
  NXPINT,
  NXT,
  OFP_DEFAULT_MISS_SEND_LEN,
  OFP_HEADER_LEN,
  OFP_MAX_PORT_NAME_LEN,
  OFP_MAX_TABLE_NAME_LEN,
  OFP_NO_BUFFER,
  OFP_VERSION,
  OFPET,
  OFPFC,
  OFPG,
  OFPGC,
  OFPGT,
  OFPHET,
  OFPM,
  OFPMBT,
  OFPMC,
  OFPMF,
  OFPMP,
  OFPP,
  OFPQ_ALL,
  OFPQT,
  OFPT,
  OFPTT,
  ONF_VENDOR_ID,
  ONFT,
  SERIAL_NUM_LEN,
} from './constants';
import { decodeHeader } from './header';
import { decodeInstructions, encodeInstructions } from './instructions';
import { decodeMatch, decodeOxm, encodeMatch, encodeOxm, type Match, type OxmField } from './match';
import type {
  Bucket,
  Decoded,
  FlowStatsFilter,
  MeterBand,
  MultipartReplyBody,
  MultipartRequestBody,
  OfpMessage,
  PacketQueue,
  Port,
  QueueProperty,
} from './messages';

/** Every 64 bits set: the packet-in cookie of a packet not sent by a flow. */
const COOKIE_NONE = 0xffffffffffffffffn;

/** Multipart body kinds and their OFPMP_* numbers (§7.3.5). */
const MULTIPART_TYPES = {
  desc: OFPMP.DESC,
  flow: OFPMP.FLOW,
  aggregate: OFPMP.AGGREGATE,
  table: OFPMP.TABLE,
  port_stats: OFPMP.PORT_STATS,
  queue_stats: OFPMP.QUEUE,
  group_stats: OFPMP.GROUP,
  group_desc: OFPMP.GROUP_DESC,
  group_features: OFPMP.GROUP_FEATURES,
  meter_stats: OFPMP.METER,
  meter_config: OFPMP.METER_CONFIG,
  meter_features: OFPMP.METER_FEATURES,
  table_features: OFPMP.TABLE_FEATURES,
  port_desc: OFPMP.PORT_DESC,
  experimenter: OFPMP.EXPERIMENTER,
} as const;
type KnownKind = keyof typeof MULTIPART_TYPES;
const MULTIPART_KINDS = new Map<number, KnownKind>(
  Object.entries(MULTIPART_TYPES).map(([k, v]) => [v, k as KnownKind]),
);

/**
 * Encodes one message. The xid defaults to 0 (for `bundle_add`, to the embedded
 * message's xid: EXT-230 requires both to be equal).
 */
export function encodeMessage(msg: OfpMessage): Buffer {
  const w = new BufferWriter(64);
  const xid = msg.xid ?? (msg.type === 'bundle_add' ? msg.message.xid : undefined) ?? 0;
  w.u8(OFP_VERSION).u8(0).u16(0).u32(xid, 'xid');
  const type = encodeBody(w, msg, xid);
  const out = w.finish();
  if (out.length > 0xffff) throw new EncodeError(`message too long: ${out.length} bytes`);
  out.writeUInt8(type, 1);
  out.writeUInt16BE(out.length, 2);
  return out;
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
      w.u64(msg.cookie ?? 0n, 'cookie').u64(msg.cookieMask ?? 0n, 'cookie_mask');
      w.u8(msg.tableId ?? 0, 'table_id').u8(msg.command ?? OFPFC.ADD, 'command');
      w.u16(msg.idleTimeout ?? 0).u16(msg.hardTimeout ?? 0).u16(msg.priority ?? 0x8000, 'priority');
      w.u32(msg.bufferId ?? OFP_NO_BUFFER).u32(msg.outPort ?? OFPP.ANY).u32(msg.outGroup ?? OFPG.ANY);
      w.u16(msg.flags ?? 0).zeros(2);
      encodeMatch(w, msg.match);
      encodeInstructions(w, msg.instructions ?? []);
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
      w.u16(MULTIPART_TYPES[msg.body.kind as KnownKind] ?? mpType(msg.body), 'multipart type');
      w.u16(msg.flags ?? 0, 'flags').zeros(4);
      encodeMultipartRequest(w, msg.body);
      return OFPT.MULTIPART_REQUEST;
    case 'multipart_reply':
      w.u16(MULTIPART_TYPES[msg.body.kind as KnownKind] ?? mpType(msg.body), 'multipart type');
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
      w.u32(ONF_VENDOR_ID).u32(ONFT.BUNDLE_ADD_MESSAGE);
      w.u32(msg.bundleId, 'bundle_id').zeros(2).u16(msg.flags ?? 0, 'flags');
      w.bytes(encodeMessage({ ...msg.message, xid: msg.message.xid ?? xid }));
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

function mpType(body: MultipartRequestBody | MultipartReplyBody): number {
  if (body.kind !== 'unknown') throw new EncodeError(`unknown multipart kind ${String(body.kind)}`);
  return body.mpType;
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
        return { type: 'error', xid, errType, code, experimenter, data: rest(r) };
      }
      return { type: 'error', xid, errType, code, data: rest(r) };
    }
    case OFPT.ECHO_REQUEST:
      return { type: 'echo_request', xid, data: rest(r) };
    case OFPT.ECHO_REPLY:
      return { type: 'echo_reply', xid, data: rest(r) };
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
      return { type: 'packet_in', xid, bufferId, totalLen, reason, tableId, cookie, match, data: rest(r) };
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
      return { type: 'packet_out', xid, bufferId, inPort, actions, data: rest(r) };
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
      return { type: 'unknown', xid, msgType: h.type, body: rest(r) };
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
    return { type: 'bundle_control', xid, bundleId, ctrlType, flags, properties: rest(r) };
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
  return { type: 'experimenter', xid, experimenter, expType, data: rest(r) };
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
        data = rest(p);
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
        pin.userdata = rest(p);
        break;
      case NXPINT.CONTINUATION:
        pin.continuation = rest(p);
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

function encodeMultipartRequest(w: BufferWriter, body: MultipartRequestBody): void {
  switch (body.kind) {
    case 'desc':
    case 'table':
    case 'group_desc':
    case 'group_features':
    case 'meter_features':
    case 'port_desc':
      return;
    case 'flow':
    case 'aggregate':
      encodeFlowStatsFilter(w, body);
      return;
    case 'port_stats':
      w.u32(body.portNo ?? OFPP.ANY, 'port_no').zeros(4);
      return;
    case 'queue_stats':
      w.u32(body.portNo ?? OFPP.ANY, 'port_no').u32(body.queueId ?? OFPQ_ALL, 'queue_id');
      return;
    case 'group_stats':
      w.u32(body.groupId ?? OFPG.ALL, 'group_id').zeros(4);
      return;
    case 'meter_stats':
    case 'meter_config':
      w.u32(body.meterId ?? OFPM.ALL, 'meter_id').zeros(4);
      return;
    case 'table_features':
      if (body.data) w.bytes(body.data);
      return;
    case 'experimenter':
      w.u32(body.experimenter, 'experimenter').u32(body.expType, 'exp_type');
      if (body.data) w.bytes(body.data);
      return;
    case 'unknown':
      w.bytes(body.data);
      return;
  }
}

function encodeFlowStatsFilter(w: BufferWriter, f: FlowStatsFilter): void {
  w.u8(f.tableId ?? OFPTT.ALL, 'table_id').zeros(3);
  w.u32(f.outPort ?? OFPP.ANY, 'out_port').u32(f.outGroup ?? OFPG.ANY, 'out_group').zeros(4);
  w.u64(f.cookie ?? 0n, 'cookie').u64(f.cookieMask ?? 0n, 'cookie_mask');
  encodeMatch(w, f.match ?? []);
}

function decodeMultipartRequest(r: BufferReader, type: number): MultipartRequestBody {
  const kind = MULTIPART_KINDS.get(type);
  switch (kind) {
    case 'desc':
    case 'table':
    case 'group_desc':
    case 'group_features':
    case 'meter_features':
    case 'port_desc':
      return { kind };
    case 'flow':
    case 'aggregate': {
      const tableId = r.u8('table_id');
      r.skip(3);
      const outPort = r.u32('out_port');
      const outGroup = r.u32('out_group');
      r.skip(4);
      const cookie = r.u64('cookie');
      const cookieMask = r.u64('cookie_mask');
      return { kind, tableId, outPort, outGroup, cookie, cookieMask, match: decodeMatch(r) };
    }
    case 'port_stats': {
      const portNo = r.u32('port_no');
      r.skip(4);
      return { kind, portNo };
    }
    case 'queue_stats':
      return { kind, portNo: r.u32('port_no'), queueId: r.u32('queue_id') };
    case 'group_stats': {
      const groupId = r.u32('group_id');
      r.skip(4);
      return { kind, groupId };
    }
    case 'meter_stats':
    case 'meter_config': {
      const meterId = r.u32('meter_id');
      r.skip(4);
      return { kind, meterId };
    }
    case 'table_features':
      return { kind, data: rest(r) };
    case 'experimenter':
      return { kind, experimenter: r.u32('experimenter'), expType: r.u32('exp_type'), data: rest(r) };
    case undefined:
      return { kind: 'unknown', mpType: type, data: rest(r) };
  }
}

function encodeMultipartReply(w: BufferWriter, body: MultipartReplyBody): void {
  switch (body.kind) {
    case 'desc':
      w.cstring(body.mfrDesc, DESC_STR_LEN, 'mfr_desc').cstring(body.hwDesc, DESC_STR_LEN, 'hw_desc');
      w.cstring(body.swDesc, DESC_STR_LEN, 'sw_desc').cstring(body.serialNum, SERIAL_NUM_LEN, 'serial_num');
      w.cstring(body.dpDesc, DESC_STR_LEN, 'dp_desc');
      return;
    case 'flow':
      for (const f of body.entries) {
        const start = w.offset;
        w.u16(0).u8(f.tableId, 'table_id').zeros(1).u32(f.durationSec).u32(f.durationNsec);
        w.u16(f.priority, 'priority').u16(f.idleTimeout).u16(f.hardTimeout).u16(f.flags, 'flags').zeros(4);
        w.u64(f.cookie, 'cookie').u64(f.packetCount, 'packet_count').u64(f.byteCount, 'byte_count');
        encodeMatch(w, f.match);
        encodeInstructions(w, f.instructions);
        w.patchU16(start, w.offset - start, 'flow stats length');
      }
      return;
    case 'aggregate':
      w.u64(body.packetCount, 'packet_count').u64(body.byteCount, 'byte_count').u32(body.flowCount).zeros(4);
      return;
    case 'table':
      for (const t of body.entries) {
        w.u8(t.tableId, 'table_id').zeros(3).u32(t.activeCount).u64(t.lookupCount).u64(t.matchedCount);
      }
      return;
    case 'port_stats':
      for (const p of body.entries) {
        w.u32(p.portNo, 'port_no').zeros(4);
        for (const v of [
          p.rxPackets, p.txPackets, p.rxBytes, p.txBytes, p.rxDropped, p.txDropped,
          p.rxErrors, p.txErrors, p.rxFrameErr, p.rxOverErr, p.rxCrcErr, p.collisions,
        ]) {
          w.u64(v, 'port counter');
        }
        w.u32(p.durationSec).u32(p.durationNsec);
      }
      return;
    case 'queue_stats':
      for (const q of body.entries) {
        w.u32(q.portNo, 'port_no').u32(q.queueId, 'queue_id');
        w.u64(q.txBytes).u64(q.txPackets).u64(q.txErrors).u32(q.durationSec).u32(q.durationNsec);
      }
      return;
    case 'group_stats':
      for (const g of body.entries) {
        const start = w.offset;
        w.u16(0).zeros(2).u32(g.groupId, 'group_id').u32(g.refCount).zeros(4);
        w.u64(g.packetCount).u64(g.byteCount).u32(g.durationSec).u32(g.durationNsec);
        for (const b of g.bucketStats) w.u64(b.packetCount).u64(b.byteCount);
        w.patchU16(start, w.offset - start, 'group stats length');
      }
      return;
    case 'group_desc':
      for (const g of body.entries) {
        const start = w.offset;
        w.u16(0).u8(g.groupType, 'group type').zeros(1).u32(g.groupId, 'group_id');
        for (const b of g.buckets) encodeBucket(w, b);
        w.patchU16(start, w.offset - start, 'group desc length');
      }
      return;
    case 'group_features':
      w.u32(body.types).u32(body.capabilities);
      for (const v of body.maxGroups) w.u32(v, 'max_groups');
      for (const v of body.actions) w.u32(v, 'actions');
      return;
    case 'meter_stats':
      for (const m of body.entries) {
        const start = w.offset;
        w.u32(m.meterId, 'meter_id').u16(0).zeros(6).u32(m.flowCount);
        w.u64(m.packetInCount).u64(m.byteInCount).u32(m.durationSec).u32(m.durationNsec);
        for (const b of m.bandStats) w.u64(b.packetBandCount).u64(b.byteBandCount);
        w.patchU16(start + 4, w.offset - start, 'meter stats length');
      }
      return;
    case 'meter_config':
      for (const m of body.entries) {
        const start = w.offset;
        w.u16(0).u16(m.flags, 'flags').u32(m.meterId, 'meter_id');
        for (const band of m.bands) encodeBand(w, band);
        w.patchU16(start, w.offset - start, 'meter config length');
      }
      return;
    case 'meter_features':
      w.u32(body.maxMeter).u32(body.bandTypes).u32(body.capabilities);
      w.u8(body.maxBands, 'max_bands').u8(body.maxColor, 'max_color').zeros(2);
      return;
    case 'table_features':
      for (const t of body.entries) {
        const start = w.offset;
        w.u16(0).u8(t.tableId, 'table_id').zeros(5).cstring(t.name, OFP_MAX_TABLE_NAME_LEN, 'table name');
        w.u64(t.metadataMatch).u64(t.metadataWrite).u32(t.config).u32(t.maxEntries).bytes(t.properties);
        w.patchU16(start, w.offset - start, 'table features length');
      }
      return;
    case 'port_desc':
      for (const p of body.entries) encodePort(w, p);
      return;
    case 'experimenter':
      w.u32(body.experimenter, 'experimenter').u32(body.expType, 'exp_type');
      if (body.data) w.bytes(body.data);
      return;
    case 'unknown':
      w.bytes(body.data);
      return;
  }
}

/** Reads length-prefixed structures (the u16 length at `lenOffset`) until the body ends. */
function decodeEach<T>(r: BufferReader, what: string, min: number, lenOffset: number, decode: (s: BufferReader) => T): T[] {
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
function decodeFixed<T>(r: BufferReader, what: string, size: number, decode: (s: BufferReader) => T): T[] {
  const out: T[] = [];
  while (r.remaining > 0) out.push(decode(r.sub(size, what)));
  return out;
}

function decodeMultipartReply(r: BufferReader, type: number): MultipartReplyBody {
  const kind = MULTIPART_KINDS.get(type);
  switch (kind) {
    case 'desc':
      return {
        kind,
        mfrDesc: r.cstring(DESC_STR_LEN, 'mfr_desc'),
        hwDesc: r.cstring(DESC_STR_LEN, 'hw_desc'),
        swDesc: r.cstring(DESC_STR_LEN, 'sw_desc'),
        serialNum: r.cstring(SERIAL_NUM_LEN, 'serial_num'),
        dpDesc: r.cstring(DESC_STR_LEN, 'dp_desc'),
      };
    case 'flow':
      return {
        kind,
        entries: decodeEach(r, 'flow stats', 56, 0, (s) => {
          s.skip(2);
          const tableId = s.u8('table_id');
          s.skip(1);
          const durationSec = s.u32('duration_sec');
          const durationNsec = s.u32('duration_nsec');
          const priority = s.u16('priority');
          const idleTimeout = s.u16('idle_timeout');
          const hardTimeout = s.u16('hard_timeout');
          const flags = s.u16('flags');
          s.skip(4);
          const cookie = s.u64('cookie');
          const packetCount = s.u64('packet_count');
          const byteCount = s.u64('byte_count');
          const match = decodeMatch(s);
          const instructions = decodeInstructions(s.sub(s.remaining, 'instructions'));
          return {
            tableId, durationSec, durationNsec, priority, idleTimeout, hardTimeout, flags,
            cookie, packetCount, byteCount, match, instructions,
          };
        }),
      };
    case 'aggregate': {
      const packetCount = r.u64('packet_count');
      const byteCount = r.u64('byte_count');
      const flowCount = r.u32('flow_count');
      r.skip(4);
      return { kind, packetCount, byteCount, flowCount };
    }
    case 'table':
      return {
        kind,
        entries: decodeFixed(r, 'table stats', 24, (s) => {
          const tableId = s.u8('table_id');
          s.skip(3);
          return { tableId, activeCount: s.u32('active_count'), lookupCount: s.u64('lookup_count'), matchedCount: s.u64('matched_count') };
        }),
      };
    case 'port_stats':
      return {
        kind,
        entries: decodeFixed(r, 'port stats', 112, (s) => {
          const portNo = s.u32('port_no');
          s.skip(4);
          const c = (): bigint => s.u64('port counter');
          return {
            portNo, rxPackets: c(), txPackets: c(), rxBytes: c(), txBytes: c(), rxDropped: c(), txDropped: c(),
            rxErrors: c(), txErrors: c(), rxFrameErr: c(), rxOverErr: c(), rxCrcErr: c(), collisions: c(),
            durationSec: s.u32('duration_sec'), durationNsec: s.u32('duration_nsec'),
          };
        }),
      };
    case 'queue_stats':
      return {
        kind,
        entries: decodeFixed(r, 'queue stats', 40, (s) => ({
          portNo: s.u32('port_no'), queueId: s.u32('queue_id'), txBytes: s.u64('tx_bytes'),
          txPackets: s.u64('tx_packets'), txErrors: s.u64('tx_errors'),
          durationSec: s.u32('duration_sec'), durationNsec: s.u32('duration_nsec'),
        })),
      };
    case 'group_stats':
      return {
        kind,
        entries: decodeEach(r, 'group stats', 40, 0, (s) => {
          s.skip(4);
          const groupId = s.u32('group_id');
          const refCount = s.u32('ref_count');
          s.skip(4);
          const packetCount = s.u64('packet_count');
          const byteCount = s.u64('byte_count');
          const durationSec = s.u32('duration_sec');
          const durationNsec = s.u32('duration_nsec');
          const bucketStats = decodeFixed(s, 'bucket stats', 16, (b) => ({
            packetCount: b.u64('packet_count'), byteCount: b.u64('byte_count'),
          }));
          return { groupId, refCount, packetCount, byteCount, durationSec, durationNsec, bucketStats };
        }),
      };
    case 'group_desc':
      return {
        kind,
        entries: decodeEach(r, 'group desc', 8, 0, (s) => {
          s.skip(2);
          const groupType = s.u8('group type');
          s.skip(1);
          const groupId = s.u32('group_id');
          return { groupType, groupId, buckets: decodeBuckets(s) };
        }),
      };
    case 'group_features': {
      const types = r.u32('types');
      const capabilities = r.u32('capabilities');
      const four = (what: string): [number, number, number, number] => [r.u32(what), r.u32(what), r.u32(what), r.u32(what)];
      const maxGroups = four('max_groups');
      return { kind, types, capabilities, maxGroups, actions: four('actions') };
    }
    case 'meter_stats':
      return {
        kind,
        entries: decodeEach(r, 'meter stats', 40, 4, (s) => {
          const meterId = s.u32('meter_id');
          s.skip(8);
          const flowCount = s.u32('flow_count');
          const packetInCount = s.u64('packet_in_count');
          const byteInCount = s.u64('byte_in_count');
          const durationSec = s.u32('duration_sec');
          const durationNsec = s.u32('duration_nsec');
          const bandStats = decodeFixed(s, 'meter band stats', 16, (b) => ({
            packetBandCount: b.u64('packet_band_count'), byteBandCount: b.u64('byte_band_count'),
          }));
          return { meterId, flowCount, packetInCount, byteInCount, durationSec, durationNsec, bandStats };
        }),
      };
    case 'meter_config':
      return {
        kind,
        entries: decodeEach(r, 'meter config', 8, 0, (s) => {
          s.skip(2);
          const flags = s.u16('flags');
          const meterId = s.u32('meter_id');
          return { flags, meterId, bands: decodeBands(s) };
        }),
      };
    case 'meter_features': {
      const maxMeter = r.u32('max_meter');
      const bandTypes = r.u32('band_types');
      const capabilities = r.u32('capabilities');
      const maxBands = r.u8('max_bands');
      const maxColor = r.u8('max_color');
      r.skip(2);
      return { kind, maxMeter, bandTypes, capabilities, maxBands, maxColor };
    }
    case 'table_features':
      return {
        kind,
        entries: decodeEach(r, 'table features', 64, 0, (s) => {
          s.skip(2);
          const tableId = s.u8('table_id');
          s.skip(5);
          const name = s.cstring(OFP_MAX_TABLE_NAME_LEN, 'table name');
          const metadataMatch = s.u64('metadata_match');
          const metadataWrite = s.u64('metadata_write');
          const config = s.u32('config');
          const maxEntries = s.u32('max_entries');
          return { tableId, name, metadataMatch, metadataWrite, config, maxEntries, properties: rest(s) };
        }),
      };
    case 'port_desc':
      return { kind, entries: decodeFixed(r, 'port', 64, decodePort) };
    case 'experimenter':
      return { kind, experimenter: r.u32('experimenter'), expType: r.u32('exp_type'), data: rest(r) };
    case undefined:
      return { kind: 'unknown', mpType: type, data: rest(r) };
  }
}

/** ofp_port (§7.2.1), 64 bytes. */
function encodePort(w: BufferWriter, p: Port): void {
  w.u32(p.portNo, 'port_no').zeros(4);
  encodeMac(w, p.hwAddr);
  w.zeros(2).cstring(p.name, OFP_MAX_PORT_NAME_LEN, 'port name');
  w.u32(p.config, 'config').u32(p.state, 'state').u32(p.curr, 'curr').u32(p.advertised, 'advertised');
  w.u32(p.supported, 'supported').u32(p.peer, 'peer').u32(p.currSpeed, 'curr_speed').u32(p.maxSpeed, 'max_speed');
}
function decodePort(r: BufferReader): Port {
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
function encodeBucket(w: BufferWriter, b: Bucket): void {
  const start = w.offset;
  w.u16(0).u16(b.weight ?? 0, 'weight').u32(b.watchPort ?? OFPP.ANY, 'watch_port');
  w.u32(b.watchGroup ?? OFPG.ANY, 'watch_group').zeros(4);
  encodeActions(w, b.actions);
  w.patchU16(start, w.offset - start, 'bucket length');
}
function decodeBuckets(r: BufferReader): Bucket[] {
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
function encodeBand(w: BufferWriter, band: MeterBand): void {
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
function decodeBands(r: BufferReader): MeterBand[] {
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
        return { type: 'experimenter', rate, burstSize, experimenter: s.u32('experimenter'), data: rest(s) };
      default:
        // OFPMBT_* has no other values in OpenFlow 1.3; such a band has no meaning to keep.
        return s.fail(`unknown meter band type ${type}`, s.offset - 12);
    }
  });
}

/** ofp_packet_queue (§7.2.2): queue_id, port, len, pad, properties. */
function encodeQueue(w: BufferWriter, q: PacketQueue): void {
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
function decodeQueue(r: BufferReader): PacketQueue {
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
        return { type: 'experimenter', experimenter, data: rest(p) };
      }
      default:
        return { type: 'unknown', property, data: rest(p) };
    }
  });
  return { queueId, port, properties };
}
function peekU16(r: BufferReader, at: number): number {
  if (r.remaining < at + 2) r.fail('truncated length field');
  return r.buf.readUInt16BE(r.offset + at);
}

function encodeMac(w: BufferWriter, mac: string): void {
  const parts = mac.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new EncodeError(`bad MAC address: ${mac}`);
  }
  for (const p of parts) w.u8(parseInt(p, 16));
}
function decodeMac(r: BufferReader): string {
  return [...r.bytes(6, 'hw_addr')].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** The rest of a reader as a fresh Buffer: decoded payloads must not alias the receive buffer. */
function rest(r: BufferReader): Buffer {
  return Buffer.from(r.bytes(r.remaining));
}

export { OFP_HEADER_LEN };
