/**
 * IPv6 Neighbor Discovery responder (SPEC §4 table 20): a Neighbor Solicitation
 * for an address Plexus knows in the network is answered with the owner's MAC,
 * so it never floods over the tunnels. Duplicate-address detection for the
 * sender's own address is left unanswered (answering would make the workload
 * believe its address is taken). Pure: model in, frame out.
 */
import { normalizeIpv6 } from '../../protocols/packet/address';
import { buildNeighborAdvertisement, type DecodedPacket } from '../../protocols/packet/packet';
import type { Endpoint } from '../store/model';

export function answerNeighborSolicitation(packet: DecodedPacket, sender: Endpoint, network: readonly Endpoint[]): Buffer | undefined {
  if (packet.icmpv6?.kind !== 'neighbor-solicitation') return undefined;
  const target = normalizeIpv6(packet.icmpv6.target);
  const owner = network.find((e) => e.ips.some((ip) => ip.includes(':') && normalizeIpv6(ip) === target));
  if (!owner || owner.id === sender.id) return undefined;
  return buildNeighborAdvertisement(packet, owner.mac);
}
