/**
 * Pure OpenFlow 1.3 codec: `encodeMessage` turns a message object into bytes,
 * `decodeMessage` turns exactly one message's bytes into an object. One writer and
 * one reader own every offset; malformed input throws DecodeError with its offset.
 */
import { BufferReader } from '../common/buffer-reader';
import { BufferWriter } from '../common/buffer-writer';
import { DecodeError, EncodeError } from '../common/errors';
import { OFP_HEADER_LEN, OFP_NO_BUFFER, OFP_VERSION, OFPFC, OFPG, OFPHET, OFPP, OFPT } from './constants';
import { decodeHeader } from './header';
import { decodeInstructions, encodeInstructions } from './instructions';
import { decodeMatch, encodeMatch } from './match';
import type { Decoded, OfpMessage } from './messages';

/** Encodes one message. The xid defaults to 0. */
export function encodeMessage(msg: OfpMessage): Buffer {
  const w = new BufferWriter(64);
  const type = OFPT[msg.type.toUpperCase() as keyof typeof OFPT];
  if (type === undefined) throw new EncodeError(`unknown message type ${String(msg.type)}`);
  w.u8(OFP_VERSION).u8(type).u16(0).u32(msg.xid ?? 0, 'xid');
  encodeBody(w, msg);
  const out = w.finish();
  if (out.length > 0xffff) throw new EncodeError(`message too long: ${out.length} bytes`);
  out.writeUInt16BE(out.length, 2);
  return out;
}

function encodeBody(w: BufferWriter, msg: OfpMessage): void {
  switch (msg.type) {
    case 'hello':
      if (msg.versions) {
        const bitmap = msg.versions.reduce((acc, v) => acc | (1 << v), 0) >>> 0;
        w.u16(OFPHET.VERSIONBITMAP).u16(8).u32(bitmap);
      }
      return;
    case 'error':
      w.u16(msg.errType).u16(msg.code).bytes(msg.data);
      return;
    case 'echo_request':
    case 'echo_reply':
      if (msg.data) w.bytes(msg.data);
      return;
    case 'features_request':
    case 'barrier_request':
    case 'barrier_reply':
      return;
    case 'features_reply':
      w.u64(msg.datapathId).u32(msg.nBuffers).u8(msg.nTables).u8(msg.auxiliaryId).zeros(2);
      w.u32(msg.capabilities).u32(0);
      return;
    case 'flow_mod':
      w.u64(msg.cookie ?? 0n, 'cookie').u64(msg.cookieMask ?? 0n, 'cookie_mask');
      w.u8(msg.tableId ?? 0, 'table_id').u8(msg.command ?? OFPFC.ADD, 'command');
      w.u16(msg.idleTimeout ?? 0).u16(msg.hardTimeout ?? 0).u16(msg.priority ?? 0x8000, 'priority');
      w.u32(msg.bufferId ?? OFP_NO_BUFFER).u32(msg.outPort ?? OFPP.ANY).u32(msg.outGroup ?? OFPG.ANY);
      w.u16(msg.flags ?? 0).zeros(2);
      encodeMatch(w, msg.match);
      encodeInstructions(w, msg.instructions ?? []);
      return;
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
    case OFPT.ERROR:
      return { type: 'error', xid, errType: r.u16('error type'), code: r.u16('error code'), data: copy(r.bytes(r.remaining)) };
    case OFPT.ECHO_REQUEST:
      return { type: 'echo_request', xid, data: copy(r.bytes(r.remaining)) };
    case OFPT.ECHO_REPLY:
      return { type: 'echo_reply', xid, data: copy(r.bytes(r.remaining)) };
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
    case OFPT.BARRIER_REQUEST:
      return { type: 'barrier_request', xid };
    case OFPT.BARRIER_REPLY:
      return { type: 'barrier_reply', xid };
    default:
      throw new DecodeError(`unsupported message type ${h.type}`, base + 1);
  }
}

/** Decoded payloads must not alias the receive buffer, which the framer reuses. */
function copy(b: Buffer): Buffer {
  return Buffer.from(b);
}

export { OFP_HEADER_LEN };
