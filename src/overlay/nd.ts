/**
 * IPv6 Neighbor Discovery responder (SPEC §4 table 20): a Neighbor Solicitation
 * for an address Plexus knows in the network is answered with the owner's MAC,
 * so it never floods over the tunnels. Duplicate-address detection for the
 * sender's own address is left unanswered (answering would make the workload
 * believe its address is taken). Pure: model in, frame out; `answerNdPacketIn`
 * is the packet-in handler (packet-in.ts) that returns it as a packet-out.
 */
import type { OfpMessage } from '../../protocols/openflow/messages';
import { normalizeIpv6 } from '../../protocols/packet/address';
import { buildNeighborAdvertisement, type DecodedPacket } from '../../protocols/packet/packet';
import type { Endpoint, Router } from '../store/model';
import { packetOutTo, type PacketInInput } from './packet-in';

export function answerNeighborSolicitation(packet: DecodedPacket, sender: Endpoint, network: readonly Endpoint[]): Buffer | undefined {
  if (packet.icmpv6?.kind !== 'neighbor-solicitation') return undefined;
  const target = normalizeIpv6(packet.icmpv6.target);
  const owner = network.find((e) => e.ips.some((ip) => ip.includes(':') && normalizeIpv6(ip) === target));
  if (!owner || owner.id === sender.id) return undefined;
  return buildNeighborAdvertisement(packet, owner.mac);
}

/** Routing: a solicitation for a router's gateway address in the network is answered with the router's MAC. */
export function answerGatewaySolicitation(packet: DecodedPacket, routers: readonly Router[], networkId: string): Buffer | undefined {
  if (packet.icmpv6?.kind !== 'neighbor-solicitation') return undefined;
  const target = normalizeIpv6(packet.icmpv6.target);
  const router = routers.find((r) => r.interfaces.some((i) => i.network === networkId && i.ip.includes(':') && normalizeIpv6(i.ip) === target));
  return router ? buildNeighborAdvertisement(packet, router.mac) : undefined;
}

/** Packet-in handler: a neighbor solicitation for a known address is answered out of the port it came in on. */
export function answerNdPacketIn(input: PacketInInput): readonly OfpMessage[] | undefined {
  if (input.packet.icmpv6?.kind !== 'neighbor-solicitation') return undefined;
  const reply =
    answerNeighborSolicitation(input.packet, input.endpoint, input.model.endpointsByNetwork.get(input.network.id) ?? []) ??
    answerGatewaySolicitation(input.packet, input.model.routersByNetwork?.get(input.network.id) ?? [], input.network.id);
  return reply ? [packetOutTo(input.inPort, reply)] : [];
}
