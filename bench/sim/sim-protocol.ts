/**
 * What the simulated switch (sim-switch.ts) and its message handlers share:
 * the error codes it sends (OpenFlow 1.3.5 §7.4.4, ONF EXT-230), a controller
 * session's state, and the switch state the handlers read and change.
 */
import { encodeMessage } from '../../protocols/openflow/codec';
import type { OpenFlowConnection } from '../../protocols/openflow/connection';
import { NXPIF, OFP_NO_BUFFER, OFPCML, OFPCR_ROLE, OFPET, OFPGC, OFPR, ONF_VENDOR_ID } from '../../protocols/openflow/constants';
import type { AsyncConfig, Decoded, GroupDesc, OfpMessage, Port } from '../../protocols/openflow/messages';
import type { CheckedFlowMod, FlowTable, OfErrorCode } from './flow-table';

/** Error codes the switch itself sends (OpenFlow 1.3.5 §7.4.4, ONF EXT-230). */
export const ERR = {
  BAD_TYPE: { errType: OFPET.BAD_REQUEST, code: 1 },
  BAD_MULTIPART: { errType: OFPET.BAD_REQUEST, code: 2 },
  BAD_EXPERIMENTER: { errType: OFPET.BAD_REQUEST, code: 3 },
  EPERM: { errType: OFPET.BAD_REQUEST, code: 5 },
  BUFFER_UNKNOWN: { errType: OFPET.BAD_REQUEST, code: 8 },
  IS_SLAVE: { errType: OFPET.BAD_REQUEST, code: 10 },
  ROLE_STALE: { errType: OFPET.ROLE_REQUEST_FAILED, code: 0 },
  ROLE_BAD: { errType: OFPET.ROLE_REQUEST_FAILED, code: 2 },
  GROUP_EXISTS: { errType: OFPET.GROUP_MOD_FAILED, code: 0 },
  UNKNOWN_GROUP: { errType: OFPET.GROUP_MOD_FAILED, code: 8 },
  GROUP_BAD_COMMAND: { errType: OFPET.GROUP_MOD_FAILED, code: 11 },
  PORT_BAD: { errType: OFPET.PORT_MOD_FAILED, code: 0 },
  BUNDLE_BAD_ID: { errType: OFPET.EXPERIMENTER, code: 2302, experimenter: ONF_VENDOR_ID },
  BUNDLE_CLOSED: { errType: OFPET.EXPERIMENTER, code: 2304, experimenter: ONF_VENDOR_ID },
  BUNDLE_BAD_TYPE: { errType: OFPET.EXPERIMENTER, code: 2306, experimenter: ONF_VENDOR_ID },
  BUNDLE_BAD_FLAGS: { errType: OFPET.EXPERIMENTER, code: 2307, experimenter: ONF_VENDOR_ID },
  BUNDLE_MSG_BAD_XID: { errType: OFPET.EXPERIMENTER, code: 2309, experimenter: ONF_VENDOR_ID },
  BUNDLE_MSG_UNSUP: { errType: OFPET.EXPERIMENTER, code: 2310, experimenter: ONF_VENDOR_ID },
  BUNDLE_MSG_FAILED: { errType: OFPET.EXPERIMENTER, code: 2313, experimenter: ONF_VENDOR_ID },
} as const satisfies Record<string, OfErrorCode>;

/** Room for one multipart reply body: 16-bit length minus the 16-byte headers. */
export const MAX_REPLY_BODY = 0xffff - 16;

export type Role = (typeof OFPCR_ROLE)[keyof typeof OFPCR_ROLE];

export interface Bundle {
  readonly flags: number;
  isClosed: boolean;
  readonly msgs: { readonly xid: number; readonly add: OfpMessage; readonly checked?: CheckedFlowMod }[];
}

/** One controller connection and its per-connection state. */
export interface SimSession {
  readonly conn: OpenFlowConnection;
  role: Role;
  async: AsyncConfig;
  missSendLen: number;
  configFlags: number;
  packetInFormat: number;
  controllerId: number;
  readonly bundles: Map<number, Bundle>;
}

/** The switch as its handlers (sim-multipart.ts, sim-bundles.ts) see it. */
export interface SwitchState {
  readonly datapathId: bigint;
  readonly dpidHex: string;
  readonly flows: FlowTable;
  readonly ports: ReadonlyMap<number, Port>;
  readonly groups: Map<number, GroupDesc>;
  readonly counters: { errors: number };
}

/** The switch-wide master election id and the sessions it demotes. */
export interface Election {
  id: bigint | undefined;
  readonly sessions: ReadonlySet<SimSession>;
}

/** OpenFlow 1.3.5 §6.3.5 as OVS implements it (ofproto.c handle_role_request). */
export function answerRole(sw: SwitchState, election: Election, s: SimSession, msg: Decoded<Extract<OfpMessage, { type: 'role_request' }>>): void {
  const role = msg.role;
  if (role > OFPCR_ROLE.SLAVE) return sendError(sw, s, msg.xid, ERR.ROLE_BAD, msg);
  if (role !== OFPCR_ROLE.NOCHANGE) {
    if (role !== OFPCR_ROLE.EQUAL) {
      const id = msg.generationId ?? 0n;
      // Stale when (int64)(id - current) < 0: the comparison wraps like OVS's.
      if (election.id !== undefined && BigInt.asIntN(64, id - election.id) < 0n) {
        return sendError(sw, s, msg.xid, ERR.ROLE_STALE, msg);
      }
      election.id = id;
    }
    if (role === OFPCR_ROLE.MASTER) {
      for (const other of election.sessions) if (other !== s && other.role === OFPCR_ROLE.MASTER) other.role = OFPCR_ROLE.SLAVE;
    }
    s.role = role as Role;
  }
  s.conn.send({ type: 'role_reply', xid: msg.xid, role: s.role, generationId: election.id ?? 0xffffffffffffffffn });
}

/** Sends OFPT_ERROR for `request` (its encoding, cut to fit, as the data). */
export function sendError(sw: SwitchState, s: SimSession, xid: number, e: OfErrorCode, request: OfpMessage): void {
  sw.counters.errors++;
  let data: Buffer;
  try {
    data = encodeMessage({ ...request, xid } as OfpMessage);
  } catch {
    data = Buffer.alloc(0);
  }
  if (data.length > 0xffff - 16) data = data.subarray(0, 0xffff - 16);
  s.conn.send({ type: 'error', xid, errType: e.errType, code: e.code, ...(e.experimenter !== undefined ? { experimenter: e.experimenter } : {}), data });
}

/** A locally administered MAC from the datapath id and port number. */
export function portMac(dpid: bigint, portNo: number): string {
  const low = Number(dpid & 0xffffn);
  const bytes = [0x0e, (low >> 8) & 0xff, low & 0xff, (portNo >> 16) & 0xff, (portNo >> 8) & 0xff, portNo & 0xff];
  return bytes.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

export interface PacketInRequest {
  readonly inPort: number;
  readonly data: Buffer;
  /** OFPR_*; default NO_MATCH (table miss). */
  readonly reason?: number;
  readonly tableId?: number;
  readonly cookie?: bigint;
}

/**
 * The packet-in `s` gets for `p`, if its role and async mask want it, in the
 * format it asked for; a table miss is cut to miss_send_len as OVS does when it
 * does not buffer.
 */
export function packetInFor(s: SimSession, p: PacketInRequest, reason: number): Extract<OfpMessage, { type: 'packet_in' | 'nx_packet_in2' }> | undefined {
  const mask = s.async.packetInMask[s.role === OFPCR_ROLE.SLAVE ? 1 : 0];
  if ((mask & (1 << reason)) === 0) return undefined;
  const cut = reason === OFPR.NO_MATCH && s.missSendLen !== OFPCML.NO_BUFFER && p.data.length > s.missSendLen;
  const data = cut ? p.data.subarray(0, s.missSendLen) : p.data;
  const tableId = p.tableId ?? 0;
  if (s.packetInFormat === NXPIF.NXT_PACKET_IN2) {
    return {
      type: 'nx_packet_in2', data, ...(cut ? { fullLen: p.data.length } : {}), tableId,
      cookie: p.cookie ?? 0xffffffffffffffffn, reason, metadata: [{ field: 'in_port', value: p.inPort }],
    };
  }
  return {
    type: 'packet_in', bufferId: OFP_NO_BUFFER, totalLen: p.data.length, reason, tableId,
    ...(p.cookie !== undefined ? { cookie: p.cookie } : {}), match: [{ field: 'in_port', value: p.inPort }], data,
  };
}

/** A packet-in encoded for one controller session; the frame starts at `dataAt` (a generator patches it there). */
export interface EncodedPacketIn {
  readonly session: SimSession;
  readonly bytes: Buffer;
  readonly dataAt: number;
}

/** The packet-in each ready session gets for `p` ({@link packetInFor}), encoded with xid 0 as OVS sends asynchronous messages. */
export function encodePacketIns(sessions: Iterable<SimSession>, p: PacketInRequest): EncodedPacketIn[] {
  const reason = p.reason ?? OFPR.NO_MATCH;
  const out: EncodedPacketIn[] = [];
  for (const s of sessions) {
    const message = s.conn.currentState === 'ready' ? packetInFor(s, p, reason) : undefined;
    if (!message) continue;
    const bytes = encodeMessage({ ...message, xid: 0 });
    out.push({ session: s, bytes, dataAt: bytes.length - message.data.length });
  }
  return out;
}

/** A GROUP_MOD applied to `groups` as OVS does (§7.3.4.2); the error it earns, if any. */
export function applyGroupMod(groups: Map<number, GroupDesc>, msg: Extract<OfpMessage, { type: 'group_mod' }>): OfErrorCode | undefined {
  const command = msg.command ?? OFPGC.ADD;
  const desc: GroupDesc = { groupType: msg.groupType ?? 0, groupId: msg.groupId, buckets: msg.buckets ?? [] };
  switch (command) {
    case OFPGC.ADD:
      if (groups.has(msg.groupId)) return ERR.GROUP_EXISTS;
      groups.set(msg.groupId, desc);
      return undefined;
    case OFPGC.MODIFY:
      if (!groups.has(msg.groupId)) return ERR.UNKNOWN_GROUP;
      groups.set(msg.groupId, desc);
      return undefined;
    case OFPGC.DELETE:
      if (msg.groupId === 0xfffffffc) groups.clear();
      else groups.delete(msg.groupId);
      return undefined;
    default:
      return ERR.GROUP_BAD_COMMAND;
  }
}
