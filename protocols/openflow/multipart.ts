/**
 * Multipart request and reply bodies (OpenFlow 1.3.5 §7.3.5, §7.3.6): the part of
 * OFPT_MULTIPART_REQUEST / OFPT_MULTIPART_REPLY after the type and flags. `codec`
 * writes and reads the message header and calls these; `encodeMessage` and
 * `decodeMessage` stay the one entry point. Bodies of a multipart type this codec
 * does not know decode opaque (`kind: 'unknown'`) and re-encode identically.
 */
import type { BufferReader } from '../common/buffer-reader';
import type { BufferWriter } from '../common/buffer-writer';
import { EncodeError } from '../common/errors';
import {
  DESC_STR_LEN, OFP_MAX_TABLE_NAME_LEN, OFPG, OFPM, OFPMP, OFPP, OFPQ_ALL, OFPTT, SERIAL_NUM_LEN,
} from './constants';
import { decodeInstructions, encodeInstructions } from './instructions';
import { decodeMatch, encodeMatch } from './match';
import type { FlowStatsFilter, MultipartReplyBody, MultipartRequestBody } from './messages';
import {
  decodeBands, decodeBuckets, decodeEach, decodeFixed, decodePort, encodeBand, encodeBucket, encodePort, readRest,
} from './structures';

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

/** The OFPMP_* number for a body (§7.3.5); opaque bodies carry their own. */
export function encodeMultipartType(body: MultipartRequestBody | MultipartReplyBody): number {
  const known = MULTIPART_TYPES[body.kind as KnownKind];
  if (known !== undefined) return known;
  if (body.kind !== 'unknown') throw new EncodeError(`unknown multipart kind ${String(body.kind)}`);
  return body.mpType;
}

/**
 * Request bodies that are one 32-bit id and 4 bytes of padding (§7.3.5.6,
 * §7.3.5.9, §7.3.5.12, §7.3.5.13): the property, its "all" default and its name.
 */
const ID_REQUESTS = {
  port_stats: { field: 'portNo', all: OFPP.ANY, what: 'port_no' },
  group_stats: { field: 'groupId', all: OFPG.ALL, what: 'group_id' },
  meter_stats: { field: 'meterId', all: OFPM.ALL, what: 'meter_id' },
  meter_config: { field: 'meterId', all: OFPM.ALL, what: 'meter_id' },
} as const;
type IdRequest = Extract<MultipartRequestBody, { kind: keyof typeof ID_REQUESTS }>;
type IdFields = Partial<Record<(typeof ID_REQUESTS)[keyof typeof ID_REQUESTS]['field'], number>>;

/** Experimenter and unknown bodies: the same in requests and replies. */
type OpaqueBody = Extract<MultipartRequestBody, { kind: 'experimenter' | 'unknown' }>;

function encodeOpaque(w: BufferWriter, body: OpaqueBody): void {
  if (body.kind === 'experimenter') w.u32(body.experimenter, 'experimenter').u32(body.expType, 'exp_type');
  if (body.data) w.bytes(body.data);
}

function decodeOpaque(r: BufferReader, kind: 'experimenter' | undefined, type: number): OpaqueBody {
  if (kind === undefined) return { kind: 'unknown', mpType: type, data: readRest(r) };
  return { kind, experimenter: r.u32('experimenter'), expType: r.u32('exp_type'), data: readRest(r) };
}

/** Writes one list entry whose 16-bit length is `lengthAt` bytes into it, patched once `body` has written the entry. */
function writeSized(w: BufferWriter, lengthAt: number, what: string, body: () => void): void {
  const start = w.offset;
  body();
  w.patchU16(start + lengthAt, w.offset - start, what);
}

export function encodeMultipartRequest(w: BufferWriter, body: MultipartRequestBody): void {
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
    case 'group_stats':
    case 'meter_stats':
    case 'meter_config': {
      const id = ID_REQUESTS[body.kind];
      w.u32((body as IdFields)[id.field] ?? id.all, id.what).zeros(4);
      return;
    }
    case 'queue_stats':
      w.u32(body.portNo ?? OFPP.ANY, 'port_no').u32(body.queueId ?? OFPQ_ALL, 'queue_id');
      return;
    case 'table_features':
      if (body.data) w.bytes(body.data);
      return;
    case 'experimenter':
    case 'unknown':
      encodeOpaque(w, body);
  }
}

function encodeFlowStatsFilter(w: BufferWriter, f: FlowStatsFilter): void {
  w.u8(f.tableId ?? OFPTT.ALL, 'table_id').zeros(3);
  w.u32(f.outPort ?? OFPP.ANY, 'out_port').u32(f.outGroup ?? OFPG.ANY, 'out_group').zeros(4);
  w.u64(f.cookie ?? 0n, 'cookie').u64(f.cookieMask ?? 0n, 'cookie_mask');
  encodeMatch(w, f.match ?? []);
}

export function decodeMultipartRequest(r: BufferReader, type: number): MultipartRequestBody {
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
    case 'port_stats':
    case 'group_stats':
    case 'meter_stats':
    case 'meter_config': {
      const id = ID_REQUESTS[kind];
      const value = r.u32(id.what);
      r.skip(4);
      return { kind, [id.field]: value } as IdRequest;
    }
    case 'queue_stats':
      return { kind, portNo: r.u32('port_no'), queueId: r.u32('queue_id') };
    case 'table_features':
      return { kind, data: readRest(r) };
    case 'experimenter':
    case undefined:
      return decodeOpaque(r, kind, type);
  }
}

export function encodeMultipartReply(w: BufferWriter, body: MultipartReplyBody): void {
  switch (body.kind) {
    case 'desc':
      w.cstring(body.mfrDesc, DESC_STR_LEN, 'mfr_desc').cstring(body.hwDesc, DESC_STR_LEN, 'hw_desc');
      w.cstring(body.swDesc, DESC_STR_LEN, 'sw_desc').cstring(body.serialNum, SERIAL_NUM_LEN, 'serial_num');
      w.cstring(body.dpDesc, DESC_STR_LEN, 'dp_desc');
      return;
    case 'flow':
      for (const f of body.entries) {
        writeSized(w, 0, 'flow stats length', () => {
          w.u16(0).u8(f.tableId, 'table_id').zeros(1).u32(f.durationSec).u32(f.durationNsec);
          w.u16(f.priority, 'priority').u16(f.idleTimeout).u16(f.hardTimeout).u16(f.flags, 'flags').zeros(4);
          w.u64(f.cookie, 'cookie').u64(f.packetCount, 'packet_count').u64(f.byteCount, 'byte_count');
          encodeMatch(w, f.match);
          encodeInstructions(w, f.instructions);
        });
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
        writeSized(w, 0, 'group stats length', () => {
          w.u16(0).zeros(2).u32(g.groupId, 'group_id').u32(g.refCount).zeros(4);
          w.u64(g.packetCount).u64(g.byteCount).u32(g.durationSec).u32(g.durationNsec);
          for (const b of g.bucketStats) w.u64(b.packetCount).u64(b.byteCount);
        });
      }
      return;
    case 'group_desc':
      for (const g of body.entries) {
        writeSized(w, 0, 'group desc length', () => {
          w.u16(0).u8(g.groupType, 'group type').zeros(1).u32(g.groupId, 'group_id');
          for (const b of g.buckets) encodeBucket(w, b);
        });
      }
      return;
    case 'group_features':
      w.u32(body.types).u32(body.capabilities);
      for (const v of body.maxGroups) w.u32(v, 'max_groups');
      for (const v of body.actions) w.u32(v, 'actions');
      return;
    case 'meter_stats':
      for (const m of body.entries) {
        writeSized(w, 4, 'meter stats length', () => {
          w.u32(m.meterId, 'meter_id').u16(0).zeros(6).u32(m.flowCount);
          w.u64(m.packetInCount).u64(m.byteInCount).u32(m.durationSec).u32(m.durationNsec);
          for (const b of m.bandStats) w.u64(b.packetBandCount).u64(b.byteBandCount);
        });
      }
      return;
    case 'meter_config':
      for (const m of body.entries) {
        writeSized(w, 0, 'meter config length', () => {
          w.u16(0).u16(m.flags, 'flags').u32(m.meterId, 'meter_id');
          for (const band of m.bands) encodeBand(w, band);
        });
      }
      return;
    case 'meter_features':
      w.u32(body.maxMeter).u32(body.bandTypes).u32(body.capabilities);
      w.u8(body.maxBands, 'max_bands').u8(body.maxColor, 'max_color').zeros(2);
      return;
    case 'table_features':
      for (const t of body.entries) {
        writeSized(w, 0, 'table features length', () => {
          w.u16(0).u8(t.tableId, 'table_id').zeros(5).cstring(t.name, OFP_MAX_TABLE_NAME_LEN, 'table name');
          w.u64(t.metadataMatch).u64(t.metadataWrite).u32(t.config).u32(t.maxEntries).bytes(t.properties);
        });
      }
      return;
    case 'port_desc':
      for (const p of body.entries) encodePort(w, p);
      return;
    case 'experimenter':
    case 'unknown':
      encodeOpaque(w, body);
  }
}

export function decodeMultipartReply(r: BufferReader, type: number): MultipartReplyBody {
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
          return { tableId, name, metadataMatch, metadataWrite, config, maxEntries, properties: readRest(s) };
        }),
      };
    case 'port_desc':
      return { kind, entries: decodeFixed(r, 'port', 64, decodePort) };
    case 'experimenter':
    case undefined:
      return decodeOpaque(r, kind, type);
  }
}
