/**
 * Packet-ins (SPEC §4 table 20): the switch punts only what the pipeline asks
 * it to — DHCP requests and neighbor solicitations today; ARP misses and trace
 * packets later. Handlers are pure: packet-in and model in, the OpenFlow
 * messages that answer it out; they never send. `answerPacketIn` runs the
 * registered handlers (packet-in-handlers.ts) in order and the first that owns
 * the packet answers; `respondToPacketIn` is the one place that sends.
 *
 *   switch ──packet_in──▶ respondToPacketIn ──▶ answerPacketIn ──▶ handler(input)
 *                              │ (master only)                        │ messages
 *   switch ◀──packet_out──────┘◀───────────────────────────────────────┘
 */
import { OFPP } from '../../protocols/openflow/constants';
import type { OpenFlowConnection } from '../../protocols/openflow/connection';
import type { Decoded, OfpMessage, PacketIn, PacketOut } from '../../protocols/openflow/messages';
import { decodePacket, type DecodedPacket } from '../../protocols/packet/packet';
import type { Logger } from '../log';
import type { Endpoint, Network } from '../store/model';
import type { ModelView } from '../store/model-view';

/** What a handler is given: the packet-in, its decoded frame (decoded on first read), and who sent it. */
export interface PacketInInput {
  readonly message: Decoded<PacketIn>;
  readonly inPort: number;
  readonly packet: DecodedPacket;
  /** The endpoint attached at `inPort`, and its network. */
  readonly endpoint: Endpoint;
  readonly network: Network;
  readonly model: ModelView;
}

/**
 * A packet-in handler: `undefined` when the packet is not its kind (the next
 * handler is asked), else the messages that answer it ([] = nothing to say).
 */
export type PacketInHandler = (input: PacketInInput) => readonly OfpMessage[] | undefined;

export type PacketInAnswer =
  | { readonly kind: 'answered'; readonly messages: readonly OfpMessage[]; readonly endpoint: string }
  | { readonly kind: 'ignored'; readonly reason: string };

const CONTROLLER_PORT = OFPP.CONTROLLER;

/** A frame sent back out of the port a packet-in came in on. */
export function packetOutTo(port: number, frame: Buffer): PacketOut {
  return { type: 'packet_out', inPort: CONTROLLER_PORT, actions: [{ type: 'output', port }], data: frame };
}

/** The endpoint behind a port of the switch the packet-in came from, if any. */
export type EndpointAtPort = (inPort: number) => Endpoint | undefined;

function inPortOf(message: Decoded<PacketIn>): unknown {
  // OVS puts in_port first; a loop, not find(), since this runs for every packet-in.
  for (const f of message.match) if (f.field === 'in_port') return f.value;
  return undefined;
}

/** Pure: the answer of the first handler that owns the packet. */
export function answerPacketIn(
  message: Decoded<PacketIn>,
  endpointAt: EndpointAtPort,
  model: ModelView,
  handlers: readonly PacketInHandler[],
): PacketInAnswer {
  const inPort = inPortOf(message);
  if (typeof inPort !== 'number') return { kind: 'ignored', reason: 'no in_port' };
  const endpoint = endpointAt(inPort);
  const network = endpoint ? model.networks.get(endpoint.network) : undefined;
  if (!endpoint || !network) return { kind: 'ignored', reason: 'no endpoint at the port' };
  const input = new LazyInput(message, inPort, endpoint, network, model);
  try {
    for (const handle of handlers) {
      const messages = handle(input);
      if (messages) return { kind: 'answered', messages, endpoint: endpoint.id };
    }
  } catch (err) {
    if (input.undecodable === undefined || err !== input.undecodable) throw err;
    return { kind: 'ignored', reason: `undecodable: ${input.undecodable.message}` };
  }
  return { kind: 'ignored', reason: 'no handler' };
}

/**
 * The frame is decoded when a handler first reads `packet` (a kept DHCP reply
 * needs none); a frame that does not decode is ignored whichever handler asked.
 */
class LazyInput implements PacketInInput {
  private decoded: DecodedPacket | undefined;
  undecodable: Error | undefined;

  constructor(
    readonly message: Decoded<PacketIn>,
    readonly inPort: number,
    readonly endpoint: Endpoint,
    readonly network: Network,
    readonly model: ModelView,
  ) {}

  get packet(): DecodedPacket {
    if (this.decoded) return this.decoded;
    try {
      return (this.decoded = decodePacket(this.message.data));
    } catch (err) {
      throw (this.undecodable = err as Error);
    }
  }
}

/** Answers one packet-in and sends the answer on the switch's connection (the one place that sends). */
export function respondToPacketIn(
  conn: OpenFlowConnection,
  message: Decoded<PacketIn>,
  endpointAt: EndpointAtPort,
  model: ModelView,
  handlers: readonly PacketInHandler[],
  log: Logger,
  hostId: string,
): void {
  const answer = answerPacketIn(message, endpointAt, model, handlers);
  if (answer.kind === 'ignored') {
    if (log.isDebugEnabled()) log.debug('packet-in ignored', { host: hostId, reason: answer.reason });
    return;
  }
  // No log line per answer: this runs for every DHCP retransmission (plexus_packet_ins_total counts them).
  for (const m of answer.messages) conn.send(m);
}
