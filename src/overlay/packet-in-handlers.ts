/**
 * Every packet-in handler, in the order they are asked (packet-in.ts). Each
 * owns one kind of punted packet, matching a flow some compiler feature sends
 * to the controller:
 *
 *   answerDhcpPacketIn   compiler/dhcp.ts punts DHCP client requests
 *   answerNdPacketIn     compiler/arp.ts punts IPv6 neighbor solicitations for known targets
 *   answerNextHopMiss    compiler/nat.ts punts NATed packets while the next hop's MAC is unknown
 *
 * A new one (ARP miss, trace) is a pure function of PacketInInput added here.
 */
import { answerDhcpPacketIn } from './dhcp';
import { answerNextHopMiss } from './neighbors';
import { answerNdPacketIn } from './nd';
import type { PacketInHandler } from './packet-in';

export const PACKET_IN_HANDLERS: readonly PacketInHandler[] = [answerDhcpPacketIn, answerNdPacketIn, answerNextHopMiss];
