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
 * - GET/SET_CONFIG, GET/SET_ASYNC, NXT_SET_PACKET_IN_FORMAT, NXT_SET_CONTROLLER_ID
 *   (these, FEATURES, BARRIER and ROLE: ./sim-session.ts);
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
import { OpenFlowConnection, type ConnectionEvent } from '../../protocols/openflow/connection';
import type { LivenessOptions } from '../../protocols/openflow/liveness';
import {
  NXPIF,
  OFP_DEFAULT_MISS_SEND_LEN,
  OFP_NO_BUFFER,
  OFPCR_ROLE,
  OFPPS,
} from '../../protocols/openflow/constants';
import type {
  AsyncConfig,
  Decoded,
  FlowMod,
  GroupDesc,
  OfpMessage,
  PacketOut,
  Port,
} from '../../protocols/openflow/messages';
import { indexFlows, walkPacket, type PacketFields, type WalkPort, type WalkResult } from '../../src/pipeline/flow-table-walk';
import { FlowTable, type FlowChange, type OfErrorCode } from './flow-table';
import { onBundleAdd, onBundleControl, type BundleTarget } from './sim-bundles';
import { answerMultipart } from './sim-multipart';
import { answerSessionMessage } from './sim-session';
import { applyGroupMod, encodePacketIns, ERR, portMac, sendError, type Election, type EncodedPacketIn, type PacketInRequest, type SimSession } from './sim-protocol';

export type { EncodedPacketIn, PacketInRequest } from './sim-protocol';

export type { SimSession } from './sim-protocol';

/** Async defaults of an OVS OpenFlow 1.3 connection, [master/equal, slave] (read from OVS 3.1). */
const DEFAULT_ASYNC: AsyncConfig = { packetInMask: [3, 0], portStatusMask: [7, 7], flowRemovedMask: [15, 0] };
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
  /** Echo timing toward the controller until `setInactivityProbe` (default liveness.ts's). */
  readonly echoIntervalMs?: number;
  readonly echoTimeoutMs?: number;
}

export type SimSwitchEvent =
  | { readonly kind: 'connected'; readonly session: SimSession }
  | { readonly kind: 'disconnected'; readonly session: SimSession; readonly reason: string }
  | { readonly kind: 'packet_out'; readonly session: SimSession; readonly message: Decoded<PacketOut> }
  | { readonly kind: 'flow_mod'; readonly session: SimSession; readonly message: FlowMod };

/**
 * Events: 'event' (SimSwitchEvent: sessions, PACKET_OUT, FLOW_MOD messages) and
 * 'flow' (FlowChange: a flow added, modified or removed in the table, emitted
 * once the change is final — after a bundle commits, never for a rolled-back one).
 */
export class SimSwitch extends EventEmitter implements BundleTarget {
  readonly flows: FlowTable;
  readonly datapathId: bigint;
  readonly sessions = new Set<SimSession>();
  /** Switch-wide master election id (OVS: per connection manager), undefined until a MASTER/SLAVE request sets it. */
  private readonly election: Election = { id: undefined, sessions: this.sessions };
  readonly ports = new Map<number, Port>();
  /** How `trace` sees each port: local, or a tunnel with its remote IP. */
  private readonly walkPorts = new Map<number, WalkPort>();
  readonly groups = new Map<number, GroupDesc>();
  readonly counters = { packetIns: 0, packetOuts: 0, flowMods: 0, errors: 0 };
  readonly packetOuts: Decoded<PacketOut>[] = [];
  private echo: LivenessOptions;

  constructor(private readonly options: SimSwitchOptions) {
    super();
    this.echo = {
      ...(options.echoIntervalMs !== undefined ? { echoIntervalMs: options.echoIntervalMs } : {}),
      ...(options.echoTimeoutMs !== undefined ? { echoTimeoutMs: options.echoTimeoutMs } : {}),
    };
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
        const conn = new OpenFlowConnection(socket, { side: 'switch', ...this.echo });
        const session: SimSession = {
          conn, role: OFPCR_ROLE.EQUAL, async: DEFAULT_ASYNC, missSendLen: OFP_DEFAULT_MISS_SEND_LEN,
          configFlags: 0, packetInFormat: NXPIF.STANDARD, controllerId: 0, bundles: new Map(),
        };
        conn.on('event', (e: ConnectionEvent) => {
          switch (e.kind) {
            case 'ready':
              clearTimeout(timer);
              conn.retuneEcho(this.echo); // in case the probe changed during the handshake
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

  /**
   * Probes the controller as ovs-vswitchd does with its Controller row's
   * `inactivity_probe` (OVS rconn): an echo after `ms` of silence, the connection
   * dropped when another `ms` passes unanswered.
   */
  setInactivityProbe(ms: number): void {
    this.echo = { echoIntervalMs: ms, echoTimeoutMs: ms };
    for (const s of this.sessions) s.conn.retuneEcho(this.echo);
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
    return this.sendEncodedPacketIn(this.encodePacketIn(p));
  }

  /**
   * The packet-in `sendPacketIn` would send to each controller, encoded: a load
   * generator keeps these and sends them again with `sendEncodedPacketIn`.
   */
  encodePacketIn(p: PacketInRequest): EncodedPacketIn[] {
    return encodePacketIns(this.sessions, p);
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
    sendError(this, s, xid, e, request);
  }

  private handle(s: SimSession, msg: Decoded): void {
    if (s.conn.currentState === 'closed') return;
    if (answerSessionMessage(this, this.election, s, msg)) return;
    switch (msg.type) {
      case 'multipart_request':
        return answerMultipart(this, s, msg);
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
        return onBundleControl(this, s, msg);
      case 'bundle_add':
        return onBundleAdd(this, s, msg);
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

  /** A bundle committed (sim-bundles.ts): its flow mods, flow changes and packet-outs, as if sent one by one. */
  committed(s: SimSession, applied: readonly FlowMod[], changes: readonly FlowChange[], outs: readonly Decoded<PacketOut>[]): void {
    this.counters.flowMods += applied.length;
    for (const message of applied) this.emit('event', { kind: 'flow_mod', session: s, message } satisfies SimSwitchEvent);
    this.emitFlowChanges(changes);
    for (const o of outs) this.recordPacketOut(s, o);
  }

  applyGroupMod(msg: Extract<OfpMessage, { type: 'group_mod' }>): OfErrorCode | undefined {
    return applyGroupMod(this.groups, msg);
  }
}
