/**
 * Every packet-in handler, in the order they are asked (packet-in.ts). Each
 * owns one kind of punted packet, matching a flow some compiler feature sends
 * to the controller:
 *
 *   answerDhcpPacketIn   compiler/dhcp.ts punts DHCP client requests
 *   answerNdPacketIn     compiler/arp.ts punts IPv6 neighbor solicitations for known targets
 *
 * A new one (ARP miss, trace) is a pure function of PacketInInput added here.
 */
import { answerDhcpPacketIn } from './dhcp';
import { answerNdPacketIn } from './nd';
import type { PacketInHandler } from './packet-in';

export const PACKET_IN_HANDLERS: readonly PacketInHandler[] = [answerDhcpPacketIn, answerNdPacketIn];
