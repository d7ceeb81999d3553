import { createServer, type Server, type Socket } from 'node:net';
import { decodeMessage, encodeMessage } from '../../protocols/openflow/codec';
import { Framer } from '../../protocols/openflow/framer';
import type { Decoded, MultipartReplyBody, MultipartRequestBody, OfpMessage, Port } from '../../protocols/openflow/messages';
import { waitFor } from '../../src/sandbox/processes';

/**
 * A tiny OpenFlow 1.3 peer on 127.0.0.1 (random port) that records every message
 * it receives, raw and decoded, to capture bytes Open vSwitch itself produces
 * (SPEC §9: decode tests on bytes OVS produced).
 *
 * - `role: 'switch'` answers like a switch, so that `ovs-ofctl -O OpenFlow13 <cmd>
 *   tcp:127.0.0.1:PORT` completes: HELLO, FEATURES, BARRIER, echo, empty multipart
 *   replies (a one-port PORT_DESC so `mod-port` finds its port), bundle replies.
 * - `role: 'controller'` is what `ovs-vsctl set-controller` connects a real
 *   ovs-vswitchd to: it sends HELLO and FEATURES_REQUEST and answers echo; the
 *   test sends anything else with {@link OfpCapture.send}.
 */
export interface CapturedMessage {
  readonly connection: number;
  readonly raw: Buffer;
  readonly decoded?: Decoded;
  readonly error?: Error;
}

export const CAPTURE_PORT: Port = {
  portNo: 1,
  hwAddr: 'aa:55:aa:55:00:01',
  name: 'p1',
  config: 0,
  state: 4,
  curr: 0x2820,
  advertised: 0,
  supported: 0,
  peer: 0,
  currSpeed: 10_000_000,
  maxSpeed: 0,
};

export class OfpCapture {
  readonly messages: CapturedMessage[] = [];
  private readonly sockets: Socket[] = [];

  private constructor(
    private readonly server: Server,
    readonly port: number,
    readonly role: 'switch' | 'controller',
  ) {}

  static listen(role: 'switch' | 'controller'): Promise<OfpCapture> {
    return new Promise((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        if (address === null || typeof address === 'string') {
          reject(new Error('no TCP address'));
          return;
        }
        const capture = new OfpCapture(server, address.port, role);
        server.on('connection', (socket) => capture.accept(socket));
        resolve(capture);
      });
    });
  }

  get target(): string {
    return `tcp:127.0.0.1:${this.port}`;
  }

  private accept(socket: Socket): void {
    const connection = this.sockets.push(socket) - 1;
    const framer = new Framer();
    if (this.role === 'controller') {
      this.write(socket, { type: 'hello', xid: 0, versions: [4] });
      this.write(socket, { type: 'features_request', xid: 0 });
    }
    socket.on('data', (chunk: Buffer) => {
      let frames: Buffer[];
      try {
        frames = framer.push(chunk);
      } catch (err) {
        this.messages.push({ connection, raw: chunk, error: err as Error });
        socket.destroy();
        return;
      }
      for (const raw of frames) {
        try {
          const decoded = decodeMessage(raw);
          this.messages.push({ connection, raw, decoded });
          this.answer(socket, decoded);
        } catch (err) {
          this.messages.push({ connection, raw, error: err as Error });
        }
      }
    });
    socket.on('error', () => socket.destroy());
  }

  private write(socket: Socket, msg: OfpMessage): void {
    if (!socket.destroyed) socket.write(encodeMessage(msg));
  }

  private answer(socket: Socket, m: Decoded): void {
    const xid = m.xid;
    switch (m.type) {
      case 'hello':
        if (this.role === 'switch') this.write(socket, { type: 'hello', xid, versions: [4] });
        return;
      case 'echo_request':
        this.write(socket, { type: 'echo_reply', xid, data: m.data ?? Buffer.alloc(0) });
        return;
      default:
        if (this.role === 'switch') this.answerAsSwitch(socket, m);
    }
  }

  private answerAsSwitch(socket: Socket, m: Decoded): void {
    const xid = m.xid;
    switch (m.type) {
      case 'features_request':
        this.write(socket, { type: 'features_reply', xid, datapathId: 1n, nBuffers: 0, nTables: 254, auxiliaryId: 0, capabilities: 0x4f });
        return;
      case 'barrier_request':
        this.write(socket, { type: 'barrier_reply', xid });
        return;
      case 'get_config_request':
        this.write(socket, { type: 'get_config_reply', xid, flags: 0, missSendLen: 128 });
        return;
      case 'role_request':
        this.write(socket, { type: 'role_reply', xid, role: m.role, generationId: m.generationId ?? 0n });
        return;
      case 'bundle_control':
        // Each request type is even; its reply is the next number.
        this.write(socket, { type: 'bundle_control', xid, bundleId: m.bundleId, ctrlType: m.ctrlType + 1, flags: m.flags ?? 0 });
        return;
      case 'multipart_request': {
        const body = emptyReply(m.body);
        if (body) this.write(socket, { type: 'multipart_reply', xid, flags: 0, body });
        return;
      }
      default:
        return;
    }
  }

  /** Sends to the newest connection. */
  send(msg: OfpMessage): void {
    this.write(this.newest(), msg);
  }

  /** Sends bytes as they are (messages Open vSwitch produced) to the newest connection. */
  sendRaw(bytes: Buffer): void {
    const socket = this.newest();
    if (!socket.destroyed) socket.write(bytes);
  }

  private newest(): Socket {
    const socket = this.sockets[this.sockets.length - 1];
    if (!socket) throw new Error('no connection to send on');
    return socket;
  }

  /** Waits for a received message satisfying `match` (checked over everything received so far). */
  waitFor(what: string, match: (m: Decoded) => boolean, timeoutMs = 10_000): Promise<CapturedMessage> {
    return waitFor(what, () => this.messages.find((c) => c.decoded !== undefined && match(c.decoded)), timeoutMs);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A minimal valid reply to a multipart request: empty lists, zero counters. */
function emptyReply(req: MultipartRequestBody): MultipartReplyBody | undefined {
  switch (req.kind) {
    case 'desc':
      return { kind: 'desc', mfrDesc: 'Plexus', hwDesc: 'capture', swDesc: '0', serialNum: 'None', dpDesc: 'capture' };
    case 'aggregate':
      return { kind: 'aggregate', packetCount: 0n, byteCount: 0n, flowCount: 0 };
    case 'port_desc':
      return { kind: 'port_desc', entries: [CAPTURE_PORT] };
    case 'flow':
    case 'table':
    case 'port_stats':
    case 'queue_stats':
    case 'group_stats':
    case 'group_desc':
    case 'meter_stats':
    case 'meter_config':
      return { kind: req.kind, entries: [] };
    case 'table_features':
      // ovs-ofctl asks for table names before flow commands; it wants one table with
      // the eight required properties (OFPTFPT_INSTRUCTIONS .. APPLY_SETFIELD), empty.
      return {
        kind: 'table_features',
        entries: [{
          tableId: 0, name: 'table0', metadataMatch: 0n, metadataWrite: 0n, config: 0, maxEntries: 1_000_000,
          properties: Buffer.concat([0, 2, 4, 6, 8, 10, 12, 14].map((t) => Buffer.from([0, t, 0, 4, 0, 0, 0, 0]))),
        }],
      };
    default:
      return undefined;
  }
}
