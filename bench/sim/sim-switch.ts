/**
 * A simulated OpenFlow 1.3 switch that connects to controllers over TCP the way
 * ovs-vswitchd does, and answers them as Open vSwitch 3.1 does (the answers and
 * error codes below were checked against a sandboxed ovs-vswitchd; see
 * test/bench/sim-switch.test.ts):
 *
 * - HELLO, FEATURES (given datapath id, 254 tables, no buffers), ECHO, BARRIER;
 * - ROLE_REQUEST: role per connection, one generation id per switch; a
 *   MASTER/SLAVE request whose generation id is older (signed 64-bit
 *   difference < 0) fails with OFPRRFC_STALE; a slave's state-changing requests
 *   fail with OFPBRC_IS_SLAVE; a new master demotes the old one;
 * - GET/SET_CONFIG, GET/SET_ASYNC, NXT_SET_PACKET_IN_FORMAT, NXT_SET_CONTROLLER_ID;
 * - multipart DESC, PORT_DESC, FLOW and AGGREGATE (from the flow table), TABLE,
 *   PORT_STATS, GROUP_DESC/STATS, METER_FEATURES; long replies are split with
 *   OFPMPF_REPLY_MORE;
 * - ONF bundles (EXT-230): open/add/close/commit/discard, atomic commit, with
 *   OVS's rules for when an error discards the bundle;
 * - FLOW_MOD on a real flow table (./flow-table.ts); PACKET_OUT counted and
 *   (optionally) kept; GROUP_MOD on a minimal group table;
 * - `trace(packet)`: where a packet would go through the installed flows, by
 *   the same in-memory walk the trace API uses (src/pipeline/flow-table-walk.ts).
 *
 * Cheap enough for thousands of instances in one process: no timers of its own;
 * each controller connection has only OpenFlowConnection's keepalive.
 */
import { EventEmitter } from 'node:events';
import { connect as tcpConnect } from 'node:net';
import { encodeMessage } from '../../protocols/openflow/codec';
import { OpenFlowConnection, type ConnectionEvent } from '../../protocols/openflow/connection';
import {
  NXPIF,
  OFP_DEFAULT_MISS_SEND_LEN,
  OFP_NO_BUFFER,
  OFPBCT,
  OFPCML,
  OFPCR_ROLE,
  OFPET,
  OFPGC,
  OFPMPF,
  OFPP,
  OFPPS,
  OFPR,
  ONF_VENDOR_ID,
} from '../../protocols/openflow/constants';
import type {
  AsyncConfig,
  Decoded,
  FlowMod,
  FlowStats,
  GroupDesc,
  MultipartReplyBody,
  MultipartRequest,
  OfpMessage,
  PacketOut,
  Port,
} from '../../protocols/openflow/messages';
import { indexFlows, walkPacket, type PacketFields, type WalkPort, type WalkResult } from '../../src/pipeline/flow-table-walk';
import { FlowTable, type CheckedFlowMod, type FlowChange, type OfErrorCode } from './flow-table';

/** Error codes the switch itself sends (OpenFlow 1.3.5 §7.4.4, ONF EXT-230). */
const ERR = {
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

/** FEATURES capabilities OVS reports: FLOW, TABLE, PORT, GROUP and QUEUE stats. */
const OVS_CAPABILITIES = 79;
/** Async defaults of an OVS OpenFlow 1.3 connection, [master/equal, slave] (read from OVS 3.1). */
const DEFAULT_ASYNC: AsyncConfig = { packetInMask: [3, 0], portStatusMask: [7, 7], flowRemovedMask: [15, 0] };
/** Room for one multipart reply body: 16-bit length minus the 16-byte headers. */
const MAX_REPLY_BODY = 0xffff - 16;

export interface SimPort {
  readonly portNo: number;
  readonly name: string;
  /** Default derived from the datapath id and port number. */
  readonly hwAddr?: string;
  /** A VXLAN port (options:key=flow): its remote and local IP, for `trace`. */
  readonly tunnel?: { readonly remoteIp: string; readonly localIp?: string };
}

export interface SimSwitchOptions {
  readonly datapathId: bigint;
  readonly ports?: readonly SimPort[];
  /** Default 254, as OVS. */
  readonly nTables?: number;
  /** Keep the last N PACKET_OUTs in `packetOuts` (default 0: count only). */
  readonly keepPacketOuts?: number;
  readonly echoIntervalMs?: number;
  readonly echoTimeoutMs?: number;
}

type Role = (typeof OFPCR_ROLE)[keyof typeof OFPCR_ROLE];

interface Bundle {
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

export type SimSwitchEvent =
  | { readonly kind: 'connected'; readonly session: SimSession }
  | { readonly kind: 'disconnected'; readonly session: SimSession; readonly reason: string }
  | { readonly kind: 'packet_out'; readonly session: SimSession; readonly message: Decoded<PacketOut> }
  | { readonly kind: 'flow_mod'; readonly session: SimSession; readonly message: FlowMod };

/** A packet-in encoded for one controller session; the frame starts at `dataAt` (a generator patches it there). */
export interface EncodedPacketIn {
  readonly session: SimSession;
  readonly bytes: Buffer;
  readonly dataAt: number;
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
 * Events: 'event' (SimSwitchEvent: sessions, PACKET_OUT, FLOW_MOD messages) and
 * 'flow' (FlowChange: a flow added, modified or removed in the table, emitted
 * once the change is final — after a bundle commits, never for a rolled-back one).
 */
export class SimSwitch extends EventEmitter {
  readonly flows: FlowTable;
  readonly datapathId: bigint;
  readonly sessions = new Set<SimSession>();
  /** Switch-wide master election id (OVS: per connection manager), undefined until a MASTER/SLAVE request sets it. */
  private electionId: bigint | undefined;
  private readonly ports = new Map<number, Port>();
  /** How `trace` sees each port: local, or a tunnel with its remote IP. */
  private readonly walkPorts = new Map<number, WalkPort>();
  private readonly groups = new Map<number, GroupDesc>();
  readonly counters = { packetIns: 0, packetOuts: 0, flowMods: 0, errors: 0 };
  readonly packetOuts: Decoded<PacketOut>[] = [];

  constructor(private readonly options: SimSwitchOptions) {
    super();
    this.datapathId = options.datapathId;
    this.flows = new FlowTable(options.nTables ?? 254);
    this.flows.recordChanges = true;
    for (const p of options.ports ?? []) this.addPort(p);
  }

  /** Adds (or replaces) a port; connected controllers get OFPT_PORT_STATUS. */
  addPort(p: SimPort): void {
    const isNew = !this.ports.has(p.portNo);
    const port: Port = {
      portNo: p.portNo, hwAddr: p.hwAddr ?? portMac(this.datapathId, p.portNo), name: p.name,
      config: 0, state: OFPPS.LIVE, curr: 0, advertised: 0, supported: 0, peer: 0, currSpeed: 0, maxSpeed: 0,
    };
    this.ports.set(p.portNo, port);
    this.walkPorts.set(p.portNo, p.tunnel ? { kind: 'tunnel', name: p.name, ...p.tunnel } : { kind: 'local', name: p.name });
    for (const s of this.sessions) s.conn.send({ type: 'port_status', reason: isNew ? 0 : 2, port });
  }

  get isConnected(): boolean {
    for (const s of this.sessions) if (s.conn.currentState === 'ready') return true;
    return false;
  }

  /** Connects to a controller (like a `tcp:host:port` controller target); resolves once HELLO is exchanged. */
  connect(port: number, host = '127.0.0.1', timeoutMs = 10_000): Promise<SimSession> {
    return new Promise((resolve, reject) => {
      const socket = tcpConnect({ port, host });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`switch ${this.dpidHex}: no OpenFlow session with ${host}:${port} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      socket.once('connect', () => {
        const conn = new OpenFlowConnection(socket, {
          side: 'switch',
          ...(this.options.echoIntervalMs !== undefined ? { echoIntervalMs: this.options.echoIntervalMs } : {}),
          ...(this.options.echoTimeoutMs !== undefined ? { echoTimeoutMs: this.options.echoTimeoutMs } : {}),
        });
        const session: SimSession = {
          conn, role: OFPCR_ROLE.EQUAL, async: DEFAULT_ASYNC, missSendLen: OFP_DEFAULT_MISS_SEND_LEN,
          configFlags: 0, packetInFormat: NXPIF.STANDARD, controllerId: 0, bundles: new Map(),
        };
        conn.on('event', (e: ConnectionEvent) => {
          switch (e.kind) {
            case 'ready':
              clearTimeout(timer);
              this.sessions.add(session);
              this.emit('event', { kind: 'connected', session } satisfies SimSwitchEvent);
              resolve(session);
              return;
            case 'message':
              this.handle(session, e.message);
              return;
            case 'closed': {
              clearTimeout(timer);
              const reason = e.error?.message ?? 'closed';
              if (this.sessions.delete(session)) {
                this.emit('event', { kind: 'disconnected', session, reason } satisfies SimSwitchEvent);
              } else {
                reject(new Error(`switch ${this.dpidHex}: connection to ${host}:${port} closed before HELLO: ${reason}`));
              }
              return;
            }
          }
        });
      });
    });
  }

  /** Closes every controller connection. */
  close(): void {
    for (const s of [...this.sessions]) s.conn.close();
  }

  get dpidHex(): string {
    return this.datapathId.toString(16).padStart(16, '0');
  }

  /**
   * Sends a packet-in to every controller whose role and async mask want it, in the
   * format each asked for; a table miss is cut to miss_send_len as OVS does when
   * it does not buffer. Returns how many controllers it went to.
   */
  sendPacketIn(p: PacketInRequest): number {
    const encoded = this.encodePacketIn(p);
    for (const { session, bytes } of encoded) session.conn.sendEncoded(bytes);
    if (encoded.length) this.counters.packetIns++;
    return encoded.length;
  }

  /**
   * The packet-in `sendPacketIn` would send to each controller, encoded: a load
   * generator keeps these and sends them again with `sendEncodedPacketIn`.
   */
  encodePacketIn(p: PacketInRequest): EncodedPacketIn[] {
    const reason = p.reason ?? OFPR.NO_MATCH;
    const out: EncodedPacketIn[] = [];
    for (const s of this.sessions) {
      if (s.conn.currentState !== 'ready') continue;
      const mask = s.async.packetInMask[s.role === OFPCR_ROLE.SLAVE ? 1 : 0];
      if ((mask & (1 << reason)) === 0) continue;
      const cut = reason === OFPR.NO_MATCH && s.missSendLen !== OFPCML.NO_BUFFER && p.data.length > s.missSendLen;
      const data = cut ? p.data.subarray(0, s.missSendLen) : p.data;
      const tableId = p.tableId ?? 0;
      // Asynchronous messages carry xid 0, as OVS sends them.
      const bytes = s.packetInFormat === NXPIF.NXT_PACKET_IN2
        ? encodeMessage({
          type: 'nx_packet_in2', xid: 0, data, ...(cut ? { fullLen: p.data.length } : {}), tableId,
          cookie: p.cookie ?? 0xffffffffffffffffn, reason, metadata: [{ field: 'in_port', value: p.inPort }],
        })
        : encodeMessage({
          type: 'packet_in', xid: 0, bufferId: OFP_NO_BUFFER, totalLen: p.data.length, reason, tableId,
          ...(p.cookie !== undefined ? { cookie: p.cookie } : {}), match: [{ field: 'in_port', value: p.inPort }], data,
        });
      out.push({ session: s, bytes, dataAt: bytes.length - data.length });
    }
    return out;
  }

  /** Sends packet-ins encoded by `encodePacketIn` (to sessions still ready); returns how many went out. */
  sendEncodedPacketIn(encoded: readonly EncodedPacketIn[]): number {
    let sent = 0;
    for (const { session, bytes } of encoded) {
      if (session.conn.currentState !== 'ready' || !this.sessions.has(session)) continue;
      session.conn.sendEncoded(bytes);
      sent++;
    }
    if (sent) this.counters.packetIns++;
    return sent;
  }

  /** Where `packet` goes through the flows and groups installed now (a snapshot: later changes do not affect the result). */
  trace(packet: PacketFields): WalkResult {
    return walkPacket({ flows: indexFlows(this.flows.entries()), ports: this.walkPorts, groups: this.groups }, packet);
  }

  /** The name of a port, for reading trace results. */
  portName(portNo: number): string | undefined {
    return this.ports.get(portNo)?.name;
  }

  private sendError(s: SimSession, xid: number, e: OfErrorCode, request: OfpMessage): void {
    this.counters.errors++;
    let data: Buffer;
    try {
      data = encodeMessage({ ...request, xid } as OfpMessage);
    } catch {
      data = Buffer.alloc(0);
    }
    if (data.length > 0xffff - 16) data = data.subarray(0, 0xffff - 16);
    s.conn.send({ type: 'error', xid, errType: e.errType, code: e.code, ...(e.experimenter !== undefined ? { experimenter: e.experimenter } : {}), data });
  }

  private handle(s: SimSession, msg: Decoded): void {
    if (s.conn.currentState === 'closed') return;
    switch (msg.type) {
      case 'hello':
      case 'echo_reply':
      case 'error':
        return;
      case 'features_request':
        s.conn.send({
          type: 'features_reply', xid: msg.xid, datapathId: this.datapathId, nBuffers: 0,
          nTables: this.flows.nTables, auxiliaryId: 0, capabilities: OVS_CAPABILITIES,
        });
        return;
      case 'barrier_request':
        s.conn.send({ type: 'barrier_reply', xid: msg.xid });
        return;
      case 'get_config_request':
        s.conn.send({ type: 'get_config_reply', xid: msg.xid, flags: s.configFlags, missSendLen: s.missSendLen });
        return;
      case 'set_config':
        s.configFlags = msg.flags ?? 0;
        s.missSendLen = msg.missSendLen ?? OFP_DEFAULT_MISS_SEND_LEN;
        return;
      case 'get_async_request':
        s.conn.send({ type: 'get_async_reply', xid: msg.xid, ...s.async });
        return;
      case 'set_async':
        s.async = { packetInMask: msg.packetInMask, portStatusMask: msg.portStatusMask, flowRemovedMask: msg.flowRemovedMask };
        return;
      case 'nx_set_packet_in_format':
        if (msg.format > NXPIF.NXT_PACKET_IN2) return this.sendError(s, msg.xid, ERR.EPERM, msg);
        s.packetInFormat = msg.format;
        return;
      case 'nx_set_controller_id':
        s.controllerId = msg.controllerId;
        return;
      case 'role_request':
        return this.onRole(s, msg);
      case 'multipart_request':
        return this.onMultipart(s, msg);
      case 'queue_get_config_request': {
        const ports = msg.port === undefined || msg.port === OFPP.ANY ? [...this.ports.keys()] : [msg.port];
        s.conn.send({
          type: 'queue_get_config_reply', xid: msg.xid, port: msg.port ?? OFPP.ANY,
          queues: ports.map((port) => ({ queueId: 0, port, properties: [] })),
        });
        return;
      }
      case 'flow_mod': {
        if (s.role === OFPCR_ROLE.SLAVE) return this.sendError(s, msg.xid, ERR.IS_SLAVE, msg);
        const checked = this.flows.validate(msg);
        if ('errType' in checked) return this.sendError(s, msg.xid, checked, msg);
        const err = this.flows.apply(checked);
        const changes = this.flows.takeChanges();
        if (err) return this.sendError(s, msg.xid, err, msg);
        this.counters.flowMods++;
        this.emit('event', { kind: 'flow_mod', session: s, message: msg } satisfies SimSwitchEvent);
        this.emitFlowChanges(changes);
        return;
      }
      case 'packet_out':
        if (s.role === OFPCR_ROLE.SLAVE) return this.sendError(s, msg.xid, ERR.IS_SLAVE, msg);
        if ((msg.bufferId ?? OFP_NO_BUFFER) !== OFP_NO_BUFFER) return this.sendError(s, msg.xid, ERR.BUFFER_UNKNOWN, msg);
        this.recordPacketOut(s, msg);
        return;
      case 'group_mod': {
        if (s.role === OFPCR_ROLE.SLAVE) return this.sendError(s, msg.xid, ERR.IS_SLAVE, msg);
        const err = this.applyGroupMod(msg);
        if (err) this.sendError(s, msg.xid, err, msg);
        return;
      }
      case 'port_mod':
        if (s.role === OFPCR_ROLE.SLAVE) return this.sendError(s, msg.xid, ERR.IS_SLAVE, msg);
        if (!this.ports.has(msg.portNo)) return this.sendError(s, msg.xid, ERR.PORT_BAD, msg);
        return;
      case 'table_mod':
        if (s.role === OFPCR_ROLE.SLAVE) return this.sendError(s, msg.xid, ERR.IS_SLAVE, msg);
        return;
      case 'bundle_control':
        return this.onBundleControl(s, msg);
      case 'bundle_add':
        return this.onBundleAdd(s, msg);
      case 'experimenter':
        return this.sendError(s, msg.xid, ERR.BAD_EXPERIMENTER, msg);
      default:
        // Messages a switch does not accept (replies, async messages, meters, unknown types).
        return this.sendError(s, msg.xid, ERR.BAD_TYPE, msg);
    }
  }

  private emitFlowChanges(changes: readonly FlowChange[]): void {
    if (this.listenerCount('flow') === 0) return;
    for (const c of changes) this.emit('flow', c);
  }

  private recordPacketOut(s: SimSession, msg: Decoded<PacketOut>): void {
    this.counters.packetOuts++;
    const keep = this.options.keepPacketOuts ?? 0;
    if (keep > 0) {
      this.packetOuts.push(msg);
      if (this.packetOuts.length > keep) this.packetOuts.shift();
    }
    this.emit('event', { kind: 'packet_out', session: s, message: msg } satisfies SimSwitchEvent);
  }

  /** OpenFlow 1.3.5 §6.3.5 as OVS implements it (ofproto.c handle_role_request). */
  private onRole(s: SimSession, msg: Decoded<Extract<OfpMessage, { type: 'role_request' }>>): void {
    const role = msg.role;
    if (role > OFPCR_ROLE.SLAVE) return this.sendError(s, msg.xid, ERR.ROLE_BAD, msg);
    if (role !== OFPCR_ROLE.NOCHANGE) {
      if (role !== OFPCR_ROLE.EQUAL) {
        const id = msg.generationId ?? 0n;
        // Stale when (int64)(id - current) < 0: the comparison wraps like OVS's.
        if (this.electionId !== undefined && BigInt.asIntN(64, id - this.electionId) < 0n) {
          return this.sendError(s, msg.xid, ERR.ROLE_STALE, msg);
        }
        this.electionId = id;
      }
      if (role === OFPCR_ROLE.MASTER) {
        for (const other of this.sessions) if (other !== s && other.role === OFPCR_ROLE.MASTER) other.role = OFPCR_ROLE.SLAVE;
      }
      s.role = role as Role;
    }
    s.conn.send({ type: 'role_reply', xid: msg.xid, role: s.role, generationId: this.electionId ?? 0xffffffffffffffffn });
  }

  private onMultipart(s: SimSession, msg: Decoded<MultipartRequest>): void {
    const reply = (body: MultipartReplyBody): void => {
      s.conn.send({ type: 'multipart_reply', xid: msg.xid, body });
    };
    const b = msg.body;
    switch (b.kind) {
      case 'desc':
        return reply({ kind: 'desc', mfrDesc: 'Plexus', hwDesc: 'simulated switch', swDesc: 'plexus-sim 0.1', serialNum: 'None', dpDesc: this.dpidHex });
      case 'port_desc':
        return reply({ kind: 'port_desc', entries: [...this.ports.values(), this.localPort()] });
      case 'flow': {
        const stats = this.flows.stats(b);
        if (!Array.isArray(stats)) return this.sendError(s, msg.xid, stats as OfErrorCode, msg);
        return this.sendFlowStats(s, msg.xid, stats);
      }
      case 'aggregate': {
        const stats = this.flows.stats(b);
        if (!Array.isArray(stats)) return this.sendError(s, msg.xid, stats as OfErrorCode, msg);
        return reply({ kind: 'aggregate', packetCount: 0n, byteCount: 0n, flowCount: stats.length });
      }
      case 'table': {
        const active = this.flows.activeCounts();
        return reply({
          kind: 'table',
          entries: Array.from({ length: this.flows.nTables }, (_, tableId) => ({ tableId, activeCount: active.get(tableId) ?? 0, lookupCount: 0n, matchedCount: 0n })),
        });
      }
      case 'port_stats': {
        const ports = b.portNo === undefined || b.portNo === OFPP.ANY ? [...this.ports.keys()] : [b.portNo];
        const z = 0n;
        return reply({
          kind: 'port_stats',
          entries: ports.filter((p) => this.ports.has(p)).map((portNo) => ({
            portNo, rxPackets: z, txPackets: z, rxBytes: z, txBytes: z, rxDropped: z, txDropped: z, rxErrors: z, txErrors: z,
            rxFrameErr: z, rxOverErr: z, rxCrcErr: z, collisions: z, durationSec: 0, durationNsec: 0,
          })),
        });
      }
      case 'group_desc':
        return reply({ kind: 'group_desc', entries: [...this.groups.values()] });
      case 'group_stats':
        return reply({
          kind: 'group_stats',
          entries: [...this.groups.values()].map((g) => ({
            groupId: g.groupId, refCount: 0, packetCount: 0n, byteCount: 0n, durationSec: 0, durationNsec: 0,
            bucketStats: g.buckets.map(() => ({ packetCount: 0n, byteCount: 0n })),
          })),
        });
      case 'queue_stats':
        return reply({ kind: 'queue_stats', entries: [] });
      case 'meter_stats':
        return reply({ kind: 'meter_stats', entries: [] });
      case 'meter_config':
        return reply({ kind: 'meter_config', entries: [] });
      case 'meter_features':
        // What OVS 3.1 reports on a dummy datapath.
        return reply({ kind: 'meter_features', maxMeter: 262144, bandTypes: 2, capabilities: 15, maxBands: 8, maxColor: 0 });
      case 'experimenter':
        return this.sendError(s, msg.xid, ERR.BAD_EXPERIMENTER, msg);
      default:
        // table_features, group_features and unknown kinds are not simulated.
        return this.sendError(s, msg.xid, ERR.BAD_MULTIPART, msg);
    }
  }

  /** Flow stats in as many OFPMPF_REPLY_MORE parts as the 16-bit length needs. */
  private sendFlowStats(s: SimSession, xid: number, stats: FlowStats[]): void {
    let part: FlowStats[] = [];
    let bytes = 0;
    const parts: FlowStats[][] = [];
    for (const f of stats) {
      const size = flowStatsSize(f);
      if (bytes + size > MAX_REPLY_BODY && part.length) {
        parts.push(part);
        part = [];
        bytes = 0;
      }
      part.push(f);
      bytes += size;
    }
    parts.push(part);
    parts.forEach((entries, i) => {
      s.conn.send({ type: 'multipart_reply', xid, flags: i < parts.length - 1 ? OFPMPF.REPLY_MORE : 0, body: { kind: 'flow', entries } });
    });
  }

  private localPort(): Port {
    return {
      portNo: OFPP.LOCAL, hwAddr: portMac(this.datapathId, 0), name: 'br-int', config: 0, state: OFPPS.LIVE,
      curr: 0, advertised: 0, supported: 0, peer: 0, currSpeed: 0, maxSpeed: 0,
    };
  }

  private applyGroupMod(msg: Extract<OfpMessage, { type: 'group_mod' }>): OfErrorCode | undefined {
    const command = msg.command ?? OFPGC.ADD;
    const desc: GroupDesc = { groupType: msg.groupType ?? 0, groupId: msg.groupId, buckets: msg.buckets ?? [] };
    switch (command) {
      case OFPGC.ADD:
        if (this.groups.has(msg.groupId)) return ERR.GROUP_EXISTS;
        this.groups.set(msg.groupId, desc);
        return undefined;
      case OFPGC.MODIFY:
        if (!this.groups.has(msg.groupId)) return ERR.UNKNOWN_GROUP;
        this.groups.set(msg.groupId, desc);
        return undefined;
      case OFPGC.DELETE:
        if (msg.groupId === 0xfffffffc) this.groups.clear();
        else this.groups.delete(msg.groupId);
        return undefined;
      default:
        return ERR.GROUP_BAD_COMMAND;
    }
  }

  // -------------------------------------------------------------------------
  // ONF bundles (EXT-230) with OVS's behaviour (ofproto/bundles.c, ofproto.c):
  // an error about the bundle itself discards it; an error in one message
  // added to it rejects only that message; a commit applies every message or,
  // on the first failure, none (OFPBFC_MSG_FAILED) and discards the bundle.

  private onBundleControl(s: SimSession, msg: Decoded<Extract<OfpMessage, { type: 'bundle_control' }>>): void {
    if (s.role === OFPCR_ROLE.SLAVE) return this.sendError(s, msg.xid, ERR.IS_SLAVE, msg);
    const flags = msg.flags ?? 0;
    const b = s.bundles.get(msg.bundleId);
    const fail = (e: OfErrorCode): void => {
      s.bundles.delete(msg.bundleId);
      this.sendError(s, msg.xid, e, msg);
    };
    const ok = (ctrlType: number): void => {
      s.conn.send({ type: 'bundle_control', xid: msg.xid, bundleId: msg.bundleId, ctrlType, flags: 0 });
    };
    switch (msg.ctrlType) {
      case OFPBCT.OPEN_REQUEST:
        if (b) return fail(ERR.BUNDLE_BAD_ID);
        s.bundles.set(msg.bundleId, { flags, isClosed: false, msgs: [] });
        return ok(OFPBCT.OPEN_REPLY);
      case OFPBCT.CLOSE_REQUEST:
        if (!b) return fail(ERR.BUNDLE_BAD_ID);
        if (b.isClosed) return fail(ERR.BUNDLE_CLOSED);
        if (b.flags !== flags) return fail(ERR.BUNDLE_BAD_FLAGS);
        b.isClosed = true;
        return ok(OFPBCT.CLOSE_REPLY);
      case OFPBCT.COMMIT_REQUEST:
        if (!b) return fail(ERR.BUNDLE_BAD_ID);
        if (b.flags !== flags) return fail(ERR.BUNDLE_BAD_FLAGS);
        s.bundles.delete(msg.bundleId);
        return this.commit(s, msg, b) ? ok(OFPBCT.COMMIT_REPLY) : undefined;
      case OFPBCT.DISCARD_REQUEST:
        if (!b) return fail(ERR.BUNDLE_BAD_ID);
        s.bundles.delete(msg.bundleId);
        return ok(OFPBCT.DISCARD_REPLY);
      default:
        return fail(ERR.BUNDLE_BAD_TYPE);
    }
  }

  private onBundleAdd(s: SimSession, msg: Decoded<Extract<OfpMessage, { type: 'bundle_add' }>>): void {
    if (s.role === OFPCR_ROLE.SLAVE) return this.sendError(s, msg.xid, ERR.IS_SLAVE, msg);
    const inner = msg.message;
    if (inner.xid !== msg.xid) return this.sendError(s, msg.xid, ERR.BUNDLE_MSG_BAD_XID, msg);
    const flags = msg.flags ?? 0;
    let b = s.bundles.get(msg.bundleId);
    const fail = (e: OfErrorCode): void => {
      s.bundles.delete(msg.bundleId);
      this.sendError(s, msg.xid, e, msg);
    };
    if (!b) s.bundles.set(msg.bundleId, (b = { flags, isClosed: false, msgs: [] }));
    else if (b.isClosed) return fail(ERR.BUNDLE_CLOSED);
    else if (b.flags !== flags) return fail(ERR.BUNDLE_BAD_FLAGS);
    switch (inner.type) {
      case 'flow_mod': {
        const checked = this.flows.validate(inner);
        if ('errType' in checked) return this.sendError(s, msg.xid, checked, msg);
        b.msgs.push({ xid: msg.xid, add: msg, checked });
        return;
      }
      case 'packet_out':
      case 'group_mod':
      case 'port_mod':
        b.msgs.push({ xid: msg.xid, add: msg });
        return;
      default:
        return this.sendError(s, msg.xid, ERR.BUNDLE_MSG_UNSUP, msg);
    }
  }

  /** Applies a bundle atomically; false (errors sent) when a message failed and nothing was applied. */
  private commit(s: SimSession, control: Decoded<Extract<OfpMessage, { type: 'bundle_control' }>>, b: Bundle): boolean {
    const saved = this.flows.snapshot();
    const savedGroups = new Map(this.groups);
    const outs: Decoded<PacketOut>[] = [];
    const applied: FlowMod[] = [];
    for (const m of b.msgs) {
      const inner = (m.add as Extract<OfpMessage, { type: 'bundle_add' }>).message as Decoded;
      let err: OfErrorCode | undefined;
      if (m.checked) {
        err = this.flows.apply(m.checked);
        if (!err) applied.push(m.checked.mod);
      } else if (inner.type === 'group_mod') {
        err = this.applyGroupMod(inner);
      } else if (inner.type === 'port_mod') {
        if (!this.ports.has(inner.portNo)) err = ERR.PORT_BAD;
      } else if (inner.type === 'packet_out') {
        outs.push(inner);
      }
      if (err) {
        this.flows.takeChanges();
        this.flows.restore(saved);
        this.groups.clear();
        for (const [k, v] of savedGroups) this.groups.set(k, v);
        this.sendError(s, m.xid, err, m.add);
        this.sendError(s, control.xid, ERR.BUNDLE_MSG_FAILED, control);
        return false;
      }
    }
    this.counters.flowMods += applied.length;
    const changes = this.flows.takeChanges();
    for (const message of applied) this.emit('event', { kind: 'flow_mod', session: s, message } satisfies SimSwitchEvent);
    this.emitFlowChanges(changes);
    for (const o of outs) this.recordPacketOut(s, o);
    return true;
  }
}

/** A locally administered MAC from the datapath id and port number. */
function portMac(dpid: bigint, portNo: number): string {
  const low = Number(dpid & 0xffffn);
  const bytes = [0x0e, (low >> 8) & 0xff, low & 0xff, (portNo >> 16) & 0xff, (portNo >> 8) & 0xff, portNo & 0xff];
  return bytes.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** Encoded size of one ofp_flow_stats entry. */
function flowStatsSize(f: FlowStats): number {
  return encodeMessage({ type: 'multipart_reply', body: { kind: 'flow', entries: [f] } }).length - 16;
}
