/**
 * OpenFlow 1.3 actions (OpenFlow 1.3.5 §7.2.5) and the Nicira extension actions
 * Open vSwitch implements (experimenter 0x00002320, ovs-actions(7)).
 *
 * Every action starts with the same header and is padded to a multiple of 8:
 *
 *   +--------+--------+------------------+
 *   | type   | length | body ...         |   type 0xffff = experimenter:
 *   | 16     | 16     |                  |   body = experimenter id (32) + data
 *   +--------+--------+------------------+   Nicira data = subtype (16) + body
 *
 * Encoders and decoders are looked up in two tables (standard by OFPAT code,
 * Nicira by NXAST subtype). Decoding never fails on an action it does not
 * understand: unknown types and subtypes, unknown field references, and any
 * action whose body does not parse or is not in the form our encoder writes
 * (non-zero padding, properties out of order...) come back as `experimenter` /
 * `unknown` actions carrying their bytes, and re-encode to the same bytes. So a
 * decoded list always re-encodes to the bytes it came from, and one odd action
 * never costs a message (a flow-stats reply, say). Only an action list whose
 * framing lies (lengths, truncation) throws DecodeError.
 *
 * Decoded actions omit optional properties that hold their default value, so
 * decode(encode(a)) deep-equals `a` when `a` is written without defaults. A
 * `set_field` is OFPAT_SET_FIELD, or NXAST_REG_LOAD2 when it has a mask or says
 * `regLoad2` (how Open vSwitch writes `load:` into a whole field that has no
 * 32-bit NXM header).
 */
import type { BufferReader } from '../common/buffer-reader';
import type { BufferWriter } from '../common/buffer-writer';
import { DecodeError, EncodeError } from '../common/errors';
import { parseIpv4 } from '../packet/address';
import { NX_VENDOR_ID, OFPP } from './constants';
import {
  decodeOxm, encodeOxm, formatIpv6, makeFieldRef, parseIpv6, readRefHeader, resolveFieldRef, writeRefHeader,
  type FieldRef, type OxmField,
} from './match';

/** Action types (§7.2.5). */
export const OFPAT = {
  OUTPUT: 0,
  COPY_TTL_OUT: 11,
  COPY_TTL_IN: 12,
  SET_MPLS_TTL: 15,
  DEC_MPLS_TTL: 16,
  PUSH_VLAN: 17,
  POP_VLAN: 18,
  PUSH_MPLS: 19,
  POP_MPLS: 20,
  SET_QUEUE: 21,
  GROUP: 22,
  SET_NW_TTL: 23,
  DEC_NW_TTL: 24,
  SET_FIELD: 25,
  PUSH_PBB: 26,
  POP_PBB: 27,
  EXPERIMENTER: 0xffff,
} as const;

/** Nicira action subtypes (Open vSwitch nicira-ext.h). */
export const NXAST = {
  RESUBMIT: 1,
  POP_QUEUE: 5,
  REG_MOVE: 6,
  REG_LOAD: 7,
  NOTE: 8,
  RESUBMIT_TABLE: 14,
  OUTPUT_REG: 15,
  LEARN: 16,
  EXIT: 17,
  CONTROLLER: 20,
  DEC_TTL_CNT_IDS: 21,
  REG_LOAD2: 33,
  CONJUNCTION: 34,
  CT: 35,
  NAT: 36,
  CONTROLLER2: 37,
  CLONE: 42,
  CT_CLEAR: 43,
  RESUBMIT_TABLE_CT: 44,
} as const;

/** Max length meaning "send the whole packet, do not buffer" (§7.2.5). */
export const OFPCML_NO_BUFFER = 0xffff;
/** Packet-in reasons (§7.4.1) used by controller actions. */
export const OFPR = { NO_MATCH: 0, ACTION: 1, INVALID_TTL: 2 } as const;

// ---------------------------------------------------------------------------
// Types.

export interface OutputAction { readonly type: 'output'; readonly port: number; /** Default 0. */ readonly maxLen?: number }
export interface CopyTtlOutAction { readonly type: 'copy_ttl_out' }
export interface CopyTtlInAction { readonly type: 'copy_ttl_in' }
export interface SetMplsTtlAction { readonly type: 'set_mpls_ttl'; readonly ttl: number }
export interface DecMplsTtlAction { readonly type: 'dec_mpls_ttl' }
export interface PushVlanAction { readonly type: 'push_vlan'; readonly ethertype: number }
export interface PopVlanAction { readonly type: 'pop_vlan' }
export interface PushMplsAction { readonly type: 'push_mpls'; readonly ethertype: number }
export interface PopMplsAction { readonly type: 'pop_mpls'; readonly ethertype: number }
export interface SetQueueAction { readonly type: 'set_queue'; readonly queueId: number }
export interface GroupAction { readonly type: 'group'; readonly groupId: number }
export interface SetNwTtlAction { readonly type: 'set_nw_ttl'; readonly ttl: number }
/** OFPAT_DEC_NW_TTL; Open vSwitch prints it as `dec_ttl`. */
export interface DecNwTtlAction { readonly type: 'dec_nw_ttl' }
/**
 * Sets a field. Without a mask this is OFPAT_SET_FIELD; with a mask (not allowed
 * by OpenFlow 1.3) it is encoded as NXAST_REG_LOAD2, as Open vSwitch does.
 * `regLoad2: true` asks for NXAST_REG_LOAD2 without a mask, which is how Open
 * vSwitch writes a `load:` of a whole field that has no 32-bit NXM header
 * (`load:0xb3->nsh_flags[]`) or a variable length (tun_metadataN).
 */
export type SetFieldAction = { readonly type: 'set_field'; readonly regLoad2?: true } & OxmField;
export interface PushPbbAction { readonly type: 'push_pbb'; readonly ethertype: number }
export interface PopPbbAction { readonly type: 'pop_pbb' }

/**
 * NXAST_RESUBMIT / NXAST_RESUBMIT_TABLE(_CT). `port` is an OpenFlow 1.3 port number
 * (default OFPP_IN_PORT when a table is given); without `table` this is
 * NXAST_RESUBMIT (current table); `ct: true` selects the conntrack-tuple variant.
 * At least one of port and table is required.
 */
export interface ResubmitAction { readonly type: 'resubmit'; readonly port?: number; readonly table?: number; readonly ct?: boolean }
/** NXAST_REG_MOVE: copy `src` bits to `dst` (same nBits). */
export interface RegMoveAction { readonly type: 'reg_move'; readonly src: FieldRef; readonly dst: FieldRef }
/** NXAST_REG_LOAD: `value` is a number when dst is ≤ 32 bits wide, else a bigint. */
export interface RegLoadAction { readonly type: 'reg_load'; readonly dst: FieldRef; readonly value: number | bigint }
/** NXAST_OUTPUT_REG: output to the port in a field; maxLen defaults to 65535. */
export interface OutputRegAction { readonly type: 'output_reg'; readonly src: FieldRef; readonly maxLen?: number }
/**
 * NXAST_CT. `zone` is an immediate zone or a 16-bit field range; `table` is the
 * recirculation table (omitted: none); `alg` a port number (21 ftp, 69 tftp).
 */
export interface CtAction {
  readonly type: 'ct';
  readonly commit?: boolean;
  readonly force?: boolean;
  readonly zone?: number | FieldRef;
  readonly table?: number;
  readonly alg?: number;
  readonly actions?: readonly Action[];
}
/** NXAST_NAT (only meaningful inside ct). Addresses are IPv4 or IPv6 text, ports numbers. */
export interface NatAction {
  readonly type: 'nat';
  readonly kind?: 'src' | 'dst';
  readonly ipMin?: string;
  readonly ipMax?: string;
  readonly portMin?: number;
  readonly portMax?: number;
  readonly persistent?: boolean;
  readonly hash?: boolean;
  readonly random?: boolean;
}
export interface CtClearAction { readonly type: 'ct_clear' }
/**
 * NXAST_DEC_TTL_CNT_IDS: decrement the IP TTL, sending packets whose TTL expires to
 * the listed controller ids. The plain form is {@link DecNwTtlAction} (NXAST_DEC_TTL
 * is an OpenFlow 1.0-only encoding that Open vSwitch rejects in 1.3; it decodes as
 * an opaque experimenter action).
 */
export interface DecTtlAction { readonly type: 'dec_ttl'; readonly controllerIds: readonly number[] }
/**
 * NXAST_CONTROLLER, or NXAST_CONTROLLER2 when userdata, pause or meterId is given.
 * Defaults: maxLen 65535, controllerId 0, reason OFPR_ACTION (1).
 */
export interface ControllerAction {
  readonly type: 'controller';
  readonly maxLen?: number;
  readonly controllerId?: number;
  readonly reason?: number;
  readonly userdata?: Buffer;
  readonly pause?: boolean;
  readonly meterId?: number;
}
/** NXAST_CONJUNCTION; `clause` is 1-based as in ovs-actions(7) (`conjunction(id, clause/nClauses)`). */
export interface ConjunctionAction { readonly type: 'conjunction'; readonly id: number; readonly clause: number; readonly nClauses: number }
/**
 * NXAST_NOTE. The wire pads the note with zeros to an 8-byte boundary, so a decoded
 * note includes that padding (a note of 6 + 8k bytes round-trips exactly).
 */
export interface NoteAction { readonly type: 'note'; readonly data: Buffer }
export interface ExitAction { readonly type: 'exit' }
export interface PopQueueAction { readonly type: 'pop_queue' }
export interface CloneAction { readonly type: 'clone'; readonly actions: readonly Action[] }

/** One flow_mod_spec of a learn action. Immediate values: number when nBits ≤ 32, else bigint. */
export type LearnSpec =
  | { readonly kind: 'match'; readonly dst: FieldRef; readonly src: FieldRef }
  | { readonly kind: 'match'; readonly dst: FieldRef; readonly value: number | bigint }
  | { readonly kind: 'load'; readonly dst: FieldRef; readonly src: FieldRef }
  | { readonly kind: 'load'; readonly dst: FieldRef; readonly value: number | bigint }
  | { readonly kind: 'output'; readonly src: FieldRef };

/** NXAST_LEARN. Defaults: timeouts 0, priority 0x8000, cookie 0, flags off. */
export interface LearnAction {
  readonly type: 'learn';
  readonly table: number;
  readonly idleTimeout?: number;
  readonly hardTimeout?: number;
  readonly finIdleTimeout?: number;
  readonly finHardTimeout?: number;
  readonly priority?: number;
  readonly cookie?: bigint;
  readonly sendFlowRem?: boolean;
  readonly deleteLearned?: boolean;
  readonly writeResult?: boolean;
  readonly specs: readonly LearnSpec[];
}

/** An experimenter action kept verbatim: `data` is everything after the experimenter id. */
export interface ExperimenterAction { readonly type: 'experimenter'; readonly experimenter: number; readonly data: Buffer }
/** A standard action type this codec does not know, kept verbatim (`data` follows type and length). */
export interface UnknownAction { readonly type: 'unknown'; readonly actionType: number; readonly data: Buffer }

export type Action =
  | OutputAction | CopyTtlOutAction | CopyTtlInAction | SetMplsTtlAction | DecMplsTtlAction
  | PushVlanAction | PopVlanAction | PushMplsAction | PopMplsAction | SetQueueAction | GroupAction
  | SetNwTtlAction | DecNwTtlAction | SetFieldAction | PushPbbAction | PopPbbAction
  | ResubmitAction | RegMoveAction | RegLoadAction | OutputRegAction | CtAction | NatAction | CtClearAction
  | DecTtlAction | ControllerAction | ConjunctionAction | NoteAction | ExitAction | PopQueueAction
  | CloneAction | LearnAction | ExperimenterAction | UnknownAction;

export type ActionType = Action['type'];
type Of<T extends ActionType> = Extract<Action, { type: T }>;

// ---------------------------------------------------------------------------
// Framing helpers: the writer owns offsets; each helper patches its own length.

/** Pads the action that starts at `start` to 8 bytes and patches its length. */
function endAction(w: BufferWriter, start: number): void {
  w.padTo(8, start);
  w.patchU16(start + 2, w.offset - start, 'action length');
}

function std(w: BufferWriter, code: number, body?: () => void): void {
  const start = w.offset;
  w.u16(code).u16(0);
  body?.();
  endAction(w, start);
}

function nx(w: BufferWriter, subtype: number, body?: () => void): void {
  const start = w.offset;
  w.u16(OFPAT.EXPERIMENTER).u16(0).u32(NX_VENDOR_ID).u16(subtype);
  body?.();
  endAction(w, start);
}

/** Nicira "extended" header: subtype followed by 6 pad bytes. */
function nxExt(w: BufferWriter, subtype: number, body: () => void): void {
  nx(w, subtype, () => {
    w.zeros(6);
    body();
  });
}

/** 16-bit OpenFlow 1.0 port numbers (as Nicira actions carry them) ↔ 32-bit OpenFlow 1.3 ones. */
function portTo16(port: number, what: string): number {
  if (Number.isInteger(port) && port >= 0 && port < 0xff00) return port;
  if (Number.isInteger(port) && port >= 0xffffff00 && port <= 0xffffffff) return port - 0xffff0000;
  throw new EncodeError(`${what}: port ${port} has no 16-bit form`);
}
function portFrom16(port: number): number {
  return port >= 0xff00 ? port + 0xffff0000 : port;
}

function ofsNbits(ofs: number, nBits: number): number {
  return (ofs << 6) | (nBits - 1);
}

function checkUint(v: unknown, bits: number, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= 2 ** bits) {
    throw new EncodeError(`${what}: expected an integer in 0..${2 ** bits - 1}, got ${String(v)}`);
  }
  return v;
}

function bigOf(v: unknown, nBits: number, what: string): bigint {
  if (nBits <= 32) {
    checkUint(v, nBits, what);
    return BigInt(v as number);
  }
  if (typeof v !== 'bigint' || v < 0n || v >= 1n << BigInt(nBits)) {
    throw new EncodeError(`${what}: expected a bigint in 0..2^${nBits}-1, got ${String(v)}`);
  }
  return v;
}

function fromBig(v: bigint, nBits: number): number | bigint {
  return nBits <= 32 ? Number(v) : v;
}

function bigToBytes(v: bigint, n: number): Buffer {
  const out = Buffer.alloc(n);
  for (let i = n - 1; i >= 0; i--, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}

function bytesToBig(b: Buffer): bigint {
  return b.reduce((acc, x) => (acc << 8n) | BigInt(x), 0n);
}

// ---------------------------------------------------------------------------
// Encoders, one per action type.

type Encoder<T extends ActionType> = (w: BufferWriter, a: Of<T>) => void;

const ENCODERS: { readonly [T in ActionType]: Encoder<T> } = {
  output: (w, a) => {
    // In nearly every flow: framed inline (16 bytes, no padding).
    const start = w.offset;
    w.u16(OFPAT.OUTPUT).u16(0).u32(checkUint(a.port, 32, 'output port')).u16(checkUint(a.maxLen ?? 0, 16, 'output max_len')).zeros(6);
    endAction(w, start);
  },
  copy_ttl_out: (w) => std(w, OFPAT.COPY_TTL_OUT, () => w.zeros(4)),
  copy_ttl_in: (w) => std(w, OFPAT.COPY_TTL_IN, () => w.zeros(4)),
  set_mpls_ttl: (w, a) => std(w, OFPAT.SET_MPLS_TTL, () => w.u8(checkUint(a.ttl, 8, 'set_mpls_ttl ttl'))),
  dec_mpls_ttl: (w) => std(w, OFPAT.DEC_MPLS_TTL, () => w.zeros(4)),
  push_vlan: (w, a) => std(w, OFPAT.PUSH_VLAN, () => w.u16(checkUint(a.ethertype, 16, 'push_vlan ethertype'))),
  pop_vlan: (w) => std(w, OFPAT.POP_VLAN, () => w.zeros(4)),
  push_mpls: (w, a) => std(w, OFPAT.PUSH_MPLS, () => w.u16(checkUint(a.ethertype, 16, 'push_mpls ethertype'))),
  pop_mpls: (w, a) => std(w, OFPAT.POP_MPLS, () => w.u16(checkUint(a.ethertype, 16, 'pop_mpls ethertype'))),
  set_queue: (w, a) => std(w, OFPAT.SET_QUEUE, () => w.u32(checkUint(a.queueId, 32, 'set_queue queue_id'))),
  group: (w, a) => std(w, OFPAT.GROUP, () => w.u32(checkUint(a.groupId, 32, 'group group_id'))),
  set_nw_ttl: (w, a) => std(w, OFPAT.SET_NW_TTL, () => w.u8(checkUint(a.ttl, 8, 'set_nw_ttl ttl'))),
  dec_nw_ttl: (w) => std(w, OFPAT.DEC_NW_TTL, () => w.zeros(4)),
  // The action is its OXM entry plus `type` and `regLoad2`, which encodeOxm does not read.
  set_field: (w, a) => {
    if (a.mask === undefined && !a.regLoad2) {
      const start = w.offset;
      w.u16(OFPAT.SET_FIELD).u16(0);
      encodeOxm(w, a);
      endAction(w, start);
    } else nx(w, NXAST.REG_LOAD2, () => encodeOxm(w, a, WRITE_MASK));
  },
  push_pbb: (w, a) => std(w, OFPAT.PUSH_PBB, () => w.u16(checkUint(a.ethertype, 16, 'push_pbb ethertype'))),
  pop_pbb: (w) => std(w, OFPAT.POP_PBB, () => w.zeros(4)),

  resubmit: (w, a) => {
    if (a.port === undefined && a.table === undefined) throw new EncodeError('resubmit: give a port, a table or both');
    const port = portTo16(a.port ?? OFPP.IN_PORT, 'resubmit');
    if (a.table === undefined && !a.ct) {
      nx(w, NXAST.RESUBMIT, () => w.u16(port));
      return;
    }
    const table = checkUint(a.table ?? 0xff, 8, 'resubmit table');
    nx(w, a.ct ? NXAST.RESUBMIT_TABLE_CT : NXAST.RESUBMIT_TABLE, () => w.u16(port).u8(table));
  },
  reg_move: (w, a) => {
    const src = resolveFieldRef(a.src, 'reg_move src');
    const dst = resolveFieldRef(a.dst, 'reg_move dst');
    if (src.nBits !== dst.nBits) throw new EncodeError(`reg_move: src has ${src.nBits} bits, dst ${dst.nBits}`);
    nx(w, NXAST.REG_MOVE, () => {
      w.u16(src.nBits).u16(src.ofs).u16(dst.ofs);
      writeRefHeader(w, src);
      writeRefHeader(w, dst);
    });
  },
  reg_load: (w, a) => {
    const dst = resolveFieldRef(a.dst, 'reg_load dst', NO_EXPERIMENTER);
    if (dst.nBits > 64) throw new EncodeError(`reg_load: ${dst.nBits} bits exceed 64; use set_field`);
    const value = bigOf(a.value, dst.nBits, 'reg_load value');
    nx(w, NXAST.REG_LOAD, () => w.u16(ofsNbits(dst.ofs, dst.nBits)).u32(dst.header).u64(value));
  },
  output_reg: (w, a) => {
    const src = resolveFieldRef(a.src, 'output_reg src', NO_EXPERIMENTER);
    nx(w, NXAST.OUTPUT_REG, () => {
      w.u16(ofsNbits(src.ofs, src.nBits)).u32(src.header).u16(checkUint(a.maxLen ?? 0xffff, 16, 'output_reg max_len')).zeros(6);
    });
  },
  ct: (w, a) => {
    const flags = (a.commit ? NX_CT_F.COMMIT : 0) | (a.force ? NX_CT_F.FORCE : 0);
    let zoneSrc = 0;
    let zone = 0;
    if (typeof a.zone === 'object') {
      const ref = resolveFieldRef(a.zone, 'ct zone', NO_EXPERIMENTER);
      if (ref.nBits !== 16) throw new EncodeError(`ct zone: field range must be 16 bits, got ${ref.nBits}`);
      zoneSrc = ref.header;
      zone = ofsNbits(ref.ofs, ref.nBits);
    } else if (a.zone !== undefined) {
      zone = checkUint(a.zone, 16, 'ct zone');
    }
    nx(w, NXAST.CT, () => {
      w.u16(flags).u32(zoneSrc).u16(zone).u8(checkUint(a.table ?? NX_CT_RECIRC_NONE, 8, 'ct table')).zeros(3);
      w.u16(checkUint(a.alg ?? 0, 16, 'ct alg'));
      encodeActions(w, a.actions ?? []);
    });
  },
  nat: (w, a) => encodeNat(w, a),
  ct_clear: (w) => nx(w, NXAST.CT_CLEAR),
  dec_ttl: (w, a) => {
    const ids = a.controllerIds;
    if (!Array.isArray(ids)) throw new EncodeError('dec_ttl: controllerIds must be an array (use dec_nw_ttl for the plain form)');
    nx(w, NXAST.DEC_TTL_CNT_IDS, () => {
      w.u16(checkUint(ids.length, 16, 'dec_ttl controller count')).zeros(4);
      for (const id of ids) w.u16(checkUint(id, 16, 'dec_ttl controller id'));
    });
  },
  controller: (w, a) => encodeController(w, a),
  conjunction: (w, a) => {
    const n = checkUint(a.nClauses, 8, 'conjunction n_clauses');
    if (n < 2 || n > 64) throw new EncodeError(`conjunction: n_clauses ${n} not in 2..64`);
    const k = checkUint(a.clause, 8, 'conjunction clause');
    if (k < 1 || k > n) throw new EncodeError(`conjunction: clause ${k} not in 1..${n}`);
    nx(w, NXAST.CONJUNCTION, () => w.u8(k - 1).u8(n).u32(checkUint(a.id, 32, 'conjunction id')));
  },
  note: (w, a) => {
    if (!Buffer.isBuffer(a.data)) throw new EncodeError('note: data must be a Buffer');
    nx(w, NXAST.NOTE, () => w.bytes(a.data).zeros(a.data.length < 6 ? 6 - a.data.length : 0));
  },
  exit: (w) => nx(w, NXAST.EXIT),
  pop_queue: (w) => nx(w, NXAST.POP_QUEUE),
  clone: (w, a) => nxExt(w, NXAST.CLONE, () => encodeActions(w, a.actions)),
  learn: (w, a) => encodeLearn(w, a),
  experimenter: (w, a) => {
    if (!Buffer.isBuffer(a.data) || (a.data.length + 8) % 8 !== 0) {
      throw new EncodeError('experimenter action: data must be a Buffer whose length + 8 is a multiple of 8');
    }
    const start = w.offset;
    w.u16(OFPAT.EXPERIMENTER).u16(0).u32(checkUint(a.experimenter, 32, 'experimenter id')).bytes(a.data);
    endAction(w, start);
  },
  unknown: (w, a) => {
    if (!Buffer.isBuffer(a.data) || (a.data.length + 4) % 8 !== 0) {
      throw new EncodeError('unknown action: data must be a Buffer whose length + 4 is a multiple of 8');
    }
    std(w, checkUint(a.actionType, 16, 'action type'), () => w.bytes(a.data));
  },
};

const WRITE_MASK = { writeMask: true } as const;

/** For actions whose field header slot is 32 bits: a 64-bit experimenter header does not fit. */
const NO_EXPERIMENTER = { experimenter: false } as const;

/** NXAST_CT flags. */
const NX_CT_F = { COMMIT: 1, FORCE: 2 } as const;
const NX_CT_RECIRC_NONE = 0xff;
/** NXAST_NAT flags and range_present bits. */
const NX_NAT_F = { SRC: 1, DST: 2, PERSISTENT: 4, PROTO_HASH: 8, PROTO_RANDOM: 16 } as const;
const NX_NAT_RANGE = { IPV4_MIN: 1, IPV4_MAX: 2, IPV6_MIN: 4, IPV6_MAX: 8, PROTO_MIN: 16, PROTO_MAX: 32 } as const;
/** NXAST_CONTROLLER2 property types. */
const NXAC2PT = { MAX_LEN: 0, CONTROLLER_ID: 1, REASON: 2, USERDATA: 3, PAUSE: 4, METER_ID: 5 } as const;
/** NXAST_LEARN flags and flow_mod_spec header bits. */
const NX_LEARN_F = { SEND_FLOW_REM: 1, DELETE_LEARNED: 2, WRITE_RESULT: 4 } as const;
const NX_LEARN_SRC_IMMEDIATE = 1 << 13;
const NX_LEARN_DST = { MATCH: 0, LOAD: 1 << 11, OUTPUT: 2 << 11 } as const;
const NX_LEARN_N_BITS_MASK = 0x3ff;

function encodeNat(w: BufferWriter, a: NatAction): void {
  let flags = (a.persistent ? NX_NAT_F.PERSISTENT : 0) | (a.hash ? NX_NAT_F.PROTO_HASH : 0) | (a.random ? NX_NAT_F.PROTO_RANDOM : 0);
  if (a.kind === 'src') flags |= NX_NAT_F.SRC;
  else if (a.kind === 'dst') flags |= NX_NAT_F.DST;
  else if (a.kind !== undefined) throw new EncodeError(`nat: kind must be 'src' or 'dst', got ${String(a.kind)}`);
  if (a.kind === undefined && (a.ipMin ?? a.portMin) !== undefined) throw new EncodeError('nat: a range needs kind src or dst');
  if (a.ipMax !== undefined && a.ipMin === undefined) throw new EncodeError('nat: ipMax without ipMin');
  if (a.portMax !== undefined && a.portMin === undefined) throw new EncodeError('nat: portMax without portMin');
  const isV6 = a.ipMin !== undefined && a.ipMin.includes(':');
  const ip = (s: string, what: string): Buffer => {
    if (isV6) return parseIpv6(s, what);
    try {
      return parseIpv4(s);
    } catch (err) {
      throw new EncodeError(`${what}: bad IPv4 address ${JSON.stringify(s)}`, { cause: err });
    }
  };
  let present = 0;
  const ranges: Buffer[] = [];
  if (a.ipMin !== undefined) {
    present |= isV6 ? NX_NAT_RANGE.IPV6_MIN : NX_NAT_RANGE.IPV4_MIN;
    ranges.push(ip(a.ipMin, 'nat ipMin'));
    if (a.ipMax !== undefined) {
      present |= isV6 ? NX_NAT_RANGE.IPV6_MAX : NX_NAT_RANGE.IPV4_MAX;
      ranges.push(ip(a.ipMax, 'nat ipMax'));
    }
  }
  const port = (p: number, what: string): Buffer => {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(checkUint(p, 16, what));
    return b;
  };
  if (a.portMin !== undefined) {
    present |= NX_NAT_RANGE.PROTO_MIN;
    ranges.push(port(a.portMin, 'nat portMin'));
    if (a.portMax !== undefined) {
      present |= NX_NAT_RANGE.PROTO_MAX;
      ranges.push(port(a.portMax, 'nat portMax'));
    }
  }
  nx(w, NXAST.NAT, () => {
    w.zeros(2).u16(flags).u16(present);
    for (const b of ranges) w.bytes(b);
  });
}

function encodeController(w: BufferWriter, a: ControllerAction): void {
  const maxLen = checkUint(a.maxLen ?? OFPCML_NO_BUFFER, 16, 'controller max_len');
  const id = checkUint(a.controllerId ?? 0, 16, 'controller id');
  const reason = checkUint(a.reason ?? OFPR.ACTION, 8, 'controller reason');
  if (a.userdata === undefined && !a.pause && a.meterId === undefined) {
    nx(w, NXAST.CONTROLLER, () => w.u16(maxLen).u16(id).u8(reason).u8(0));
    return;
  }
  if (a.userdata !== undefined && !Buffer.isBuffer(a.userdata)) throw new EncodeError('controller userdata must be a Buffer');
  const prop = (type: number, body: () => void): void => {
    const start = w.offset;
    w.u16(type).u16(0);
    body();
    w.patchU16(start + 2, w.offset - start, 'property length');
    w.padTo(8, start);
  };
  // A 16-bit property is 8 bytes long, its value padded with two zero bytes inside
  // the length, as OpenFlow writes such properties (Open vSwitch ofpprop_put_be16).
  nxExt(w, NXAST.CONTROLLER2, () => {
    if (maxLen !== OFPCML_NO_BUFFER) prop(NXAC2PT.MAX_LEN, () => w.u16(maxLen).zeros(2));
    if (id !== 0) prop(NXAC2PT.CONTROLLER_ID, () => w.u16(id).zeros(2));
    if (reason !== OFPR.ACTION) prop(NXAC2PT.REASON, () => w.u8(reason));
    if (a.userdata !== undefined) prop(NXAC2PT.USERDATA, () => w.bytes(a.userdata!));
    if (a.pause) prop(NXAC2PT.PAUSE, () => undefined);
    if (a.meterId !== undefined) prop(NXAC2PT.METER_ID, () => w.u32(checkUint(a.meterId, 32, 'controller meter_id')));
  });
}

function encodeLearn(w: BufferWriter, a: LearnAction): void {
  const flags = (a.sendFlowRem ? NX_LEARN_F.SEND_FLOW_REM : 0) | (a.deleteLearned ? NX_LEARN_F.DELETE_LEARNED : 0)
    | (a.writeResult ? NX_LEARN_F.WRITE_RESULT : 0);
  if (!Array.isArray(a.specs)) throw new EncodeError('learn: specs must be an array');
  nx(w, NXAST.LEARN, () => {
    w.u16(checkUint(a.idleTimeout ?? 0, 16, 'learn idle_timeout'))
      .u16(checkUint(a.hardTimeout ?? 0, 16, 'learn hard_timeout'))
      .u16(checkUint(a.priority ?? 0x8000, 16, 'learn priority'))
      .u64(a.cookie ?? 0n, 'learn cookie')
      .u16(flags)
      .u8(checkUint(a.table, 8, 'learn table'))
      .u8(0)
      .u16(checkUint(a.finIdleTimeout ?? 0, 16, 'learn fin_idle_timeout'))
      .u16(checkUint(a.finHardTimeout ?? 0, 16, 'learn fin_hard_timeout'));
    for (const spec of a.specs) encodeLearnSpec(w, spec);
  });
}

function encodeLearnSpec(w: BufferWriter, spec: LearnSpec): void {
  if (spec.kind === 'output') {
    const src = resolveFieldRef(spec.src, 'learn output src', NO_EXPERIMENTER);
    w.u16(NX_LEARN_DST.OUTPUT | src.nBits).u32(src.header).u16(src.ofs);
    return;
  }
  if (spec.kind !== 'match' && spec.kind !== 'load') throw new EncodeError(`learn: unknown spec kind ${String((spec as { kind: unknown }).kind)}`);
  const dst = resolveFieldRef(spec.dst, `learn ${spec.kind} dst`, NO_EXPERIMENTER);
  if (dst.nBits > NX_LEARN_N_BITS_MASK) throw new EncodeError(`learn: ${dst.nBits} bits is too wide`);
  const dstType = spec.kind === 'match' ? NX_LEARN_DST.MATCH : NX_LEARN_DST.LOAD;
  if ('src' in spec) {
    const src = resolveFieldRef(spec.src, `learn ${spec.kind} src`, NO_EXPERIMENTER);
    if (src.nBits !== dst.nBits) throw new EncodeError(`learn: src has ${src.nBits} bits, dst ${dst.nBits}`);
    w.u16(dstType | dst.nBits).u32(src.header).u16(src.ofs);
  } else {
    const value = bigOf(spec.value, dst.nBits, `learn ${spec.kind} value`);
    w.u16(NX_LEARN_SRC_IMMEDIATE | dstType | dst.nBits).bytes(bigToBytes(value, 2 * Math.ceil(dst.nBits / 16)));
  }
  w.u32(dst.header).u16(dst.ofs);
}

/** Writes a list of ofp_action_* structures (§7.2.5), validating every value. */
export function encodeActions(w: BufferWriter, actions: readonly Action[]): void {
  if (!Array.isArray(actions)) throw new EncodeError('actions must be an array');
  for (const a of actions) {
    const enc = a !== null && typeof a === 'object' ? (ENCODERS as Record<string, Encoder<ActionType>>)[a.type] : undefined;
    if (!enc) throw new EncodeError(`unknown action type ${JSON.stringify((a as { type?: unknown } | null)?.type)}`);
    enc(w, a);
  }
}

// ---------------------------------------------------------------------------
// Decoders. Each reads the body (after type+length, or after the Nicira subtype)
// and returns the action, or undefined when the content is not something this
// codec writes back identically (the caller then keeps the bytes). A DecodeError
// inside one action's body has the same effect.

type Decoder = (r: BufferReader) => Action | undefined;

/** Skips `n` padding bytes; false if any is not zero (we would write zeros). */
function zeros(r: BufferReader, n: number): boolean {
  const at = r.offset;
  r.skip(n, 'padding');
  for (let i = at; i < at + n; i++) if (r.buf[i] !== 0) return false;
  return true;
}

const STD_DECODERS: ReadonlyMap<number, Decoder> = new Map<number, Decoder>([
  [OFPAT.OUTPUT, (r) => {
    const port = r.u32('output port');
    const maxLen = r.u16('output max_len');
    if (!zeros(r, 6)) return undefined;
    return maxLen === 0 ? { type: 'output', port } : { type: 'output', port, maxLen };
  }],
  [OFPAT.COPY_TTL_OUT, (r) => (zeros(r, 4) ? { type: 'copy_ttl_out' } : undefined)],
  [OFPAT.COPY_TTL_IN, (r) => (zeros(r, 4) ? { type: 'copy_ttl_in' } : undefined)],
  [OFPAT.SET_MPLS_TTL, (r) => ({ type: 'set_mpls_ttl', ttl: r.u8('mpls_ttl') })],
  [OFPAT.DEC_MPLS_TTL, (r) => (zeros(r, 4) ? { type: 'dec_mpls_ttl' } : undefined)],
  [OFPAT.PUSH_VLAN, (r) => ({ type: 'push_vlan', ethertype: r.u16('ethertype') })],
  [OFPAT.POP_VLAN, (r) => (zeros(r, 4) ? { type: 'pop_vlan' } : undefined)],
  [OFPAT.PUSH_MPLS, (r) => ({ type: 'push_mpls', ethertype: r.u16('ethertype') })],
  [OFPAT.POP_MPLS, (r) => ({ type: 'pop_mpls', ethertype: r.u16('ethertype') })],
  [OFPAT.SET_QUEUE, (r) => ({ type: 'set_queue', queueId: r.u32('queue_id') })],
  [OFPAT.GROUP, (r) => ({ type: 'group', groupId: r.u32('group_id') })],
  [OFPAT.SET_NW_TTL, (r) => ({ type: 'set_nw_ttl', ttl: r.u8('nw_ttl') })],
  [OFPAT.DEC_NW_TTL, (r) => (zeros(r, 4) ? { type: 'dec_nw_ttl' } : undefined)],
  [OFPAT.SET_FIELD, (r) => {
    // OpenFlow 1.3 has no masked set-field; we would write that as NXAST_REG_LOAD2.
    const oxm = decodeOxm(r);
    return oxm.mask === undefined ? { type: 'set_field', ...oxm } : undefined;
  }],
  [OFPAT.PUSH_PBB, (r) => ({ type: 'push_pbb', ethertype: r.u16('ethertype') })],
  [OFPAT.POP_PBB, (r) => (zeros(r, 4) ? { type: 'pop_pbb' } : undefined)],
]);

const NX_DECODERS: ReadonlyMap<number, Decoder> = new Map<number, Decoder>([
  [NXAST.RESUBMIT, (r) => ({ type: 'resubmit', port: portFrom16(r.u16('resubmit in_port')) })],
  [NXAST.RESUBMIT_TABLE, (r) => decodeResubmitTable(r, false)],
  [NXAST.RESUBMIT_TABLE_CT, (r) => decodeResubmitTable(r, true)],
  [NXAST.REG_MOVE, (r) => {
    const nBits = r.u16('n_bits');
    const srcOfs = r.u16('src_ofs');
    const dstOfs = r.u16('dst_ofs');
    // Each header is 32 bits, or 64 for an experimenter OXM (tun_erspan_idx...).
    const src = makeFieldRef(readRefHeader(r, 'src'), srcOfs, nBits);
    const dst = makeFieldRef(readRefHeader(r, 'dst'), dstOfs, nBits);
    return src && dst ? { type: 'reg_move', src, dst } : undefined;
  }],
  [NXAST.REG_LOAD, (r) => {
    const on = r.u16('ofs_nbits');
    const nBits = (on & 0x3f) + 1;
    const dst = makeFieldRef(r.u32('dst'), on >> 6, nBits);
    const value = r.u64('value');
    if (!dst || (nBits < 64 && value >> BigInt(nBits) !== 0n)) return undefined;
    return { type: 'reg_load', dst, value: fromBig(value, nBits) };
  }],
  [NXAST.OUTPUT_REG, (r) => {
    const on = r.u16('ofs_nbits');
    const src = makeFieldRef(r.u32('src'), on >> 6, (on & 0x3f) + 1);
    const maxLen = r.u16('max_len');
    if (!src || !zeros(r, 6)) return undefined;
    return maxLen === 0xffff ? { type: 'output_reg', src } : { type: 'output_reg', src, maxLen };
  }],
  // Unlike other "extended" Nicira actions, the OXM entry starts right after the subtype.
  [NXAST.REG_LOAD2, (r) => {
    const oxm = decodeOxm(r, { strictMask: true });
    return oxm.mask === undefined ? { type: 'set_field', regLoad2: true, ...oxm } : { type: 'set_field', ...oxm };
  }],
  [NXAST.NOTE, (r) => ({ type: 'note', data: Buffer.from(r.bytes(r.remaining)) })],
  [NXAST.EXIT, () => ({ type: 'exit' })],
  [NXAST.POP_QUEUE, () => ({ type: 'pop_queue' })],
  [NXAST.CT_CLEAR, () => ({ type: 'ct_clear' })],
  [NXAST.DEC_TTL_CNT_IDS, (r) => {
    const n = r.u16('n_controllers');
    if (!zeros(r, 4)) return undefined;
    const controllerIds: number[] = [];
    for (let i = 0; i < n; i++) controllerIds.push(r.u16('controller id'));
    return { type: 'dec_ttl', controllerIds };
  }],
  [NXAST.CONTROLLER, (r) => {
    const maxLen = r.u16('max_len');
    const controllerId = r.u16('controller_id');
    const reason = r.u8('reason');
    if (!zeros(r, 1)) return undefined;
    return controllerAction(maxLen, controllerId, reason, {});
  }],
  [NXAST.CONTROLLER2, decodeController2],
  [NXAST.CONJUNCTION, (r) => {
    const clause = r.u8('clause');
    const nClauses = r.u8('n_clauses');
    const id = r.u32('id');
    return clause < nClauses && nClauses >= 2 && nClauses <= 64 ? { type: 'conjunction', id, clause: clause + 1, nClauses } : undefined;
  }],
  [NXAST.CT, decodeCt],
  [NXAST.NAT, decodeNat],
  [NXAST.CLONE, (r) => {
    if (!zeros(r, 6)) return undefined;
    return { type: 'clone', actions: decodeActions(r.sub(r.remaining, 'clone actions')) };
  }],
  [NXAST.LEARN, decodeLearn],
]);

function decodeResubmitTable(r: BufferReader, ct: boolean): Action | undefined {
  const port = portFrom16(r.u16('resubmit in_port'));
  const table = r.u8('resubmit table');
  if (!zeros(r, 3)) return undefined;
  return {
    type: 'resubmit',
    ...(port === OFPP.IN_PORT ? {} : { port }),
    table,
    ...(ct ? { ct: true } : {}),
  };
}

function controllerAction(maxLen: number, controllerId: number, reason: number, extra: Partial<ControllerAction>): ControllerAction {
  return {
    type: 'controller',
    ...(maxLen === OFPCML_NO_BUFFER ? {} : { maxLen }),
    ...(controllerId === 0 ? {} : { controllerId }),
    ...(reason === OFPR.ACTION ? {} : { reason }),
    ...extra,
  };
}

/**
 * NXAST_CONTROLLER2: properties, each padded to 8 bytes. Only the form our
 * encoder writes is decoded: properties in its order, each once, non-default,
 * 16-bit values padded to 8 bytes, and at least one of userdata, pause, meter_id
 * (otherwise we write NXAST_CONTROLLER).
 */
function decodeController2(r: BufferReader): Action | undefined {
  if (!zeros(r, 6)) return undefined;
  let maxLen: number = OFPCML_NO_BUFFER;
  let id = 0;
  let reason: number = OFPR.ACTION;
  const extra: { userdata?: Buffer; pause?: boolean; meterId?: number } = {};
  let last = -1;
  while (r.remaining > 0) {
    const at = r.offset;
    const type = r.u16('property type');
    const len = r.u16('property length');
    if (len < 4) r.fail(`controller property length ${len} < 4`, at + 2);
    const p = r.sub(len - 4, 'controller property');
    if (!zeros(r, Math.min(r.remaining, ((len + 7) & ~7) - len)) || type <= last) return undefined;
    last = type;
    switch (type) {
      case NXAC2PT.MAX_LEN:
        if (len !== 8) return undefined;
        maxLen = p.u16('max_len');
        if (!zeros(p, 2) || maxLen === OFPCML_NO_BUFFER) return undefined;
        break;
      case NXAC2PT.CONTROLLER_ID:
        if (len !== 8) return undefined;
        id = p.u16('controller_id');
        if (!zeros(p, 2) || id === 0) return undefined;
        break;
      case NXAC2PT.REASON:
        if (len !== 5) return undefined;
        reason = p.u8('reason');
        if (reason === OFPR.ACTION) return undefined;
        break;
      case NXAC2PT.USERDATA: extra.userdata = Buffer.from(p.bytes(p.remaining)); break;
      case NXAC2PT.PAUSE:
        if (len !== 4) return undefined;
        extra.pause = true;
        break;
      case NXAC2PT.METER_ID:
        if (len !== 8) return undefined;
        extra.meterId = p.u32('meter_id');
        break;
      default: return undefined;
    }
  }
  if (extra.userdata === undefined && !extra.pause && extra.meterId === undefined) return undefined;
  return controllerAction(maxLen, id, reason, extra);
}

function decodeCt(r: BufferReader): Action | undefined {
  const flags = r.u16('ct flags');
  const zoneSrc = r.u32('zone_src');
  const zoneRaw = r.u16('zone');
  const table = r.u8('recirc_table');
  if (!zeros(r, 3)) return undefined;
  const alg = r.u16('alg');
  const actions = decodeActions(r.sub(r.remaining, 'ct actions'));
  if (flags & ~(NX_CT_F.COMMIT | NX_CT_F.FORCE)) return undefined;
  let zone: number | FieldRef | undefined;
  if (zoneSrc !== 0) {
    zone = makeFieldRef(zoneSrc, zoneRaw >> 6, (zoneRaw & 0x3f) + 1);
    if (!zone || ((zoneRaw & 0x3f) + 1) !== 16) return undefined;
  } else if (zoneRaw !== 0) {
    zone = zoneRaw;
  }
  return {
    type: 'ct',
    ...(flags & NX_CT_F.COMMIT ? { commit: true } : {}),
    ...(flags & NX_CT_F.FORCE ? { force: true } : {}),
    ...(zone === undefined ? {} : { zone }),
    ...(table === NX_CT_RECIRC_NONE ? {} : { table }),
    ...(alg === 0 ? {} : { alg }),
    ...(actions.length === 0 ? {} : { actions }),
  };
}

function decodeNat(r: BufferReader): Action | undefined {
  if (!zeros(r, 2)) return undefined;
  const flags = r.u16('nat flags');
  const present = r.u16('range_present');
  const known = NX_NAT_RANGE.IPV4_MIN | NX_NAT_RANGE.IPV4_MAX | NX_NAT_RANGE.IPV6_MIN | NX_NAT_RANGE.IPV6_MAX
    | NX_NAT_RANGE.PROTO_MIN | NX_NAT_RANGE.PROTO_MAX;
  const v4 = present & (NX_NAT_RANGE.IPV4_MIN | NX_NAT_RANGE.IPV4_MAX);
  const v6 = present & (NX_NAT_RANGE.IPV6_MIN | NX_NAT_RANGE.IPV6_MAX);
  const fields: { ipMin?: string; ipMax?: string; portMin?: number; portMax?: number } = {};
  if (present & NX_NAT_RANGE.IPV4_MIN) fields.ipMin = [...r.bytes(4, 'ipv4 min')].join('.');
  if (present & NX_NAT_RANGE.IPV4_MAX) fields.ipMax = [...r.bytes(4, 'ipv4 max')].join('.');
  if (present & NX_NAT_RANGE.IPV6_MIN) fields.ipMin = formatIpv6(r.bytes(16, 'ipv6 min'));
  if (present & NX_NAT_RANGE.IPV6_MAX) fields.ipMax = formatIpv6(r.bytes(16, 'ipv6 max'));
  if (present & NX_NAT_RANGE.PROTO_MIN) fields.portMin = r.u16('proto min');
  if (present & NX_NAT_RANGE.PROTO_MAX) fields.portMax = r.u16('proto max');
  const src = (flags & NX_NAT_F.SRC) !== 0;
  const dst = (flags & NX_NAT_F.DST) !== 0;
  const allFlags = NX_NAT_F.SRC | NX_NAT_F.DST | NX_NAT_F.PERSISTENT | NX_NAT_F.PROTO_HASH | NX_NAT_F.PROTO_RANDOM;
  // Shapes the encoder cannot reproduce stay opaque.
  if ((present & ~known) || (flags & ~allFlags) || (src && dst) || (v4 && v6)
    || (fields.ipMax !== undefined && fields.ipMin === undefined)
    || (fields.portMax !== undefined && fields.portMin === undefined)
    || (!src && !dst && present !== 0)) return undefined;
  return {
    type: 'nat',
    ...(src ? { kind: 'src' as const } : dst ? { kind: 'dst' as const } : {}),
    ...fields,
    ...(flags & NX_NAT_F.PERSISTENT ? { persistent: true } : {}),
    ...(flags & NX_NAT_F.PROTO_HASH ? { hash: true } : {}),
    ...(flags & NX_NAT_F.PROTO_RANDOM ? { random: true } : {}),
  };
}

function decodeLearn(r: BufferReader): Action | undefined {
  const idleTimeout = r.u16('idle_timeout');
  const hardTimeout = r.u16('hard_timeout');
  const priority = r.u16('priority');
  const cookie = r.u64('cookie');
  const flags = r.u16('learn flags');
  const table = r.u8('table_id');
  if (!zeros(r, 1)) return undefined;
  const finIdleTimeout = r.u16('fin_idle_timeout');
  const finHardTimeout = r.u16('fin_hard_timeout');
  const specs: LearnSpec[] = [];
  if (flags & ~(NX_LEARN_F.SEND_FLOW_REM | NX_LEARN_F.DELETE_LEARNED | NX_LEARN_F.WRITE_RESULT)) return undefined;
  while (r.remaining >= 2) {
    const header = r.u16('flow_mod_spec header');
    if (header === 0) break;
    const nBits = header & NX_LEARN_N_BITS_MASK;
    const isImmediate = (header & NX_LEARN_SRC_IMMEDIATE) !== 0;
    const dstType = header & (3 << 11);
    // Reserved bits, an unknown destination, or a spec we would not write.
    if ((header & ~(NX_LEARN_SRC_IMMEDIATE | (3 << 11) | NX_LEARN_N_BITS_MASK)) || dstType === 3 << 11 || nBits === 0) return undefined;
    let src: FieldRef | undefined;
    let value: bigint | undefined;
    if (isImmediate) {
      value = bytesToBig(r.bytes(2 * Math.ceil(nBits / 16), 'learn immediate'));
      if (value >> BigInt(nBits) !== 0n) return undefined;
    } else {
      src = makeFieldRef(r.u32('learn src'), r.u16('learn src ofs'), nBits);
      if (!src) return undefined;
    }
    if (dstType === NX_LEARN_DST.OUTPUT) {
      if (isImmediate) return undefined;
      specs.push({ kind: 'output', src: src! });
      continue;
    }
    const dst = makeFieldRef(r.u32('learn dst'), r.u16('learn dst ofs'), nBits);
    if (!dst) return undefined;
    const kind = dstType === NX_LEARN_DST.MATCH ? 'match' : 'load';
    const spec = isImmediate ? { dst, value: fromBig(value!, nBits) } : { dst, src: src! };
    specs.push(kind === 'match' ? { kind, ...spec } : { kind, ...spec });
  }
  // What follows the specs is padding (we write zeros).
  if (!zeros(r, r.remaining)) return undefined;
  return {
    type: 'learn',
    table,
    ...(idleTimeout ? { idleTimeout } : {}),
    ...(hardTimeout ? { hardTimeout } : {}),
    ...(finIdleTimeout ? { finIdleTimeout } : {}),
    ...(finHardTimeout ? { finHardTimeout } : {}),
    ...(priority !== 0x8000 ? { priority } : {}),
    ...(cookie !== 0n ? { cookie } : {}),
    ...(flags & NX_LEARN_F.SEND_FLOW_REM ? { sendFlowRem: true } : {}),
    ...(flags & NX_LEARN_F.DELETE_LEARNED ? { deleteLearned: true } : {}),
    ...(flags & NX_LEARN_F.WRITE_RESULT ? { writeResult: true } : {}),
    specs,
  };
}

/**
 * Reads actions until the reader is exhausted (pass a sub-reader sized to the
 * list). Throws DecodeError only when an action's length does not frame it.
 */
export function decodeActions(r: BufferReader): Action[] {
  const out: Action[] = [];
  while (r.remaining > 0) {
    const at = r.offset;
    const type = r.u16('action type');
    const len = r.u16('action length');
    if (len < 8 || len % 8 !== 0) r.fail(`action length ${len} is not a positive multiple of 8`, at + 2);
    const body = r.sub(len - 4, 'action');
    out.push(decodeOne(body, type, at));
  }
  return out;
}

/** One well-framed action: decoded, or kept as its bytes. */
function decodeOne(body: BufferReader, type: number, at: number): Action {
  if (type !== OFPAT.EXPERIMENTER) {
    const raw = (): UnknownAction => ({ type: 'unknown', actionType: type, data: Buffer.from(body.buf.subarray(at + 4, body.end)) });
    const dec = STD_DECODERS.get(type);
    return (dec && decodeBody(body, dec)) ?? raw();
  }
  const experimenter = body.u32('experimenter');
  const opaque = (): ExperimenterAction => ({ type: 'experimenter', experimenter, data: Buffer.from(body.buf.subarray(at + 8, body.end)) });
  if (experimenter !== NX_VENDOR_ID || body.remaining < 2) return opaque();
  const dec = NX_DECODERS.get(body.u16('nicira subtype'));
  return (dec && decodeBody(body, dec)) ?? opaque();
}

/**
 * Runs a decoder over one action's body, which must then hold only zero padding
 * shorter than 8 bytes. Undefined when the body is not in the form we write.
 */
function decodeBody(body: BufferReader, dec: Decoder): Action | undefined {
  try {
    const a = dec(body);
    if (a === undefined || body.remaining >= 8 || !zeros(body, body.remaining)) return undefined;
    return a;
  } catch (err) {
    if (err instanceof DecodeError) return undefined;
    throw err;
  }
}
