/**
 * DHCPv4 server (SPEC §4 table 20): the switch punts a client's DISCOVER or
 * REQUEST; Plexus answers with the address IPAM gave the endpoint, so the
 * answer is the same on every member and after every restart. Options: subnet
 * mask, router (and classless static routes), DNS, an MTU sized for the VXLAN
 * overhead, and lease times. Pure: model in, frame out; `answerDhcpPacketIn`
 * is the packet-in handler (packet-in.ts) that returns it as a packet-out.
 */
import type { OfpMessage } from '../../protocols/openflow/messages';
import { ipVersionOf, parseIpv4 } from '../../protocols/packet/address';
import { BOOTP_OP, DHCP_MESSAGE_TYPE, findDhcpOption, getDhcpMessageType, type DhcpOption } from '../../protocols/packet/dhcp';
import { buildDhcpReply, type DecodedPacket } from '../../protocols/packet/packet';
import type { Endpoint, Network, Router, Subnet } from '../store/model';
import { answerDhcpFast, keepDhcpReply } from './dhcp-replies';
import { packetOutTo, type PacketInInput } from './packet-in';

export const LEASE_SECONDS = 86_400;

/** The MAC the DHCP server answers from in a network: locally administered, derived from the VNI. */
export function serverMacOf(network: Network): string {
  const v = network.vni;
  return ['0a', '00', '00', (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff].map((b) => (typeof b === 'string' ? b : b.toString(16).padStart(2, '0'))).join(':');
}

function maskOf(prefix: number): string {
  const bits = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return [24, 16, 8, 0].map((s) => (bits >>> s) & 0xff).join('.');
}

function ipv4ToInt(ip: string): number {
  return parseIpv4(ip).readUInt32BE(0);
}

/** The subnet of `network` holding the endpoint's IPv4 address, with that address (integer math: this is per packet). */
export function dhcpSubnetOf(endpoint: Endpoint, subnets: readonly Subnet[]): { subnet: Subnet; ip: string } | undefined {
  for (const subnet of subnets) {
    if (subnet.ipVersion !== 4 || !subnet.dhcp) continue;
    const [base, len] = subnet.cidr.split('/');
    const mask = Number(len) === 0 ? 0 : (0xffffffff << (32 - Number(len))) >>> 0;
    const net = (ipv4ToInt(base!) & mask) >>> 0;
    for (const ip of endpoint.ips) {
      if (ipVersionOf(ip) === 4 && ((ipv4ToInt(ip) & mask) >>> 0) === net) return { subnet, ip };
    }
  }
  return undefined;
}

/**
 * The reply to a client message from `endpoint`, or undefined when there is
 * nothing to say (not DHCP, a message type a server ignores, no DHCP subnet).
 * A REQUEST for another address gets a NAK, so the client starts over.
 */
export function answerDhcp(packet: DecodedPacket, network: Network, endpoint: Endpoint, subnets: readonly Subnet[], routers: readonly Router[] = []): Buffer | undefined {
  const msg = packet.dhcp;
  // A server answers client messages only (BOOTREQUEST); a BOOTREPLY from a port is not ours to answer.
  if (!msg || !packet.ipv4 || msg.op !== BOOTP_OP.REQUEST) return undefined;
  const found = dhcpSubnetOf(endpoint, subnets);
  if (!found) return undefined;
  const { subnet, ip } = found;
  const prefix = Number(subnet.cidr.split('/')[1]);
  const serverIp = subnet.gateway ?? ip;
  const common = { request: packet, serverMac: serverMacOf(network), serverIp };
  const type = getDhcpMessageType(msg);
  if (type === DHCP_MESSAGE_TYPE.REQUEST) {
    const requested = findDhcpOption(msg, 'requested-ip')?.address ?? (msg.ciaddr !== '0.0.0.0' ? msg.ciaddr : undefined);
    if (requested !== undefined && requested !== ip) return buildDhcpReply({ ...common, messageType: DHCP_MESSAGE_TYPE.NAK });
  } else if (type !== DHCP_MESSAGE_TYPE.DISCOVER) {
    return undefined;
  }
  const options: DhcpOption[] = [
    { type: 'lease-time', seconds: LEASE_SECONDS },
    { type: 'renewal-time', seconds: LEASE_SECONDS / 2 },
    { type: 'rebinding-time', seconds: (LEASE_SECONDS * 7) / 8 },
    { type: 'subnet-mask', mask: maskOf(prefix) },
  ];
  // Routing: the router on this subnet is the default gateway, at its own address there; its static routes go in option 121.
  const routed = routedGatewayOf(routers, subnet);
  const gateway = routed?.ip ?? subnet.gateway;
  if (gateway) options.push({ type: 'router', addresses: [gateway] });
  const extra = routed ? routed.router.routes.filter((r) => ipVersionOf(r.nexthop) === 4).map((r) => ({ destination: r.destination, router: inSubnet(subnet, r.nexthop) ? r.nexthop : routed.ip })) : [];
  if (subnet.routes.length || extra.length) {
    // RFC 3442: a client that takes option 121 ignores the router option, so the default route goes in it too.
    const routes = [...subnet.routes.map((r) => ({ destination: r.destination, router: r.nexthop })), ...extra];
    if (gateway) routes.push({ destination: '0.0.0.0/0', router: gateway });
    options.push({ type: 'classless-static-routes', routes: routes.map((r) => toClassless(r.destination, r.router)) });
  }
  if (subnet.dnsServers.length) options.push({ type: 'dns-servers', addresses: [...subnet.dnsServers] });
  options.push({ type: 'mtu', mtu: network.mtu });
  return buildDhcpReply({
    ...common,
    messageType: type === DHCP_MESSAGE_TYPE.DISCOVER ? DHCP_MESSAGE_TYPE.OFFER : DHCP_MESSAGE_TYPE.ACK,
    yiaddr: ip,
    options,
  });
}

const NO_ROUTERS: readonly Router[] = [];
const NO_SUBNETS: readonly Subnet[] = [];

/**
 * Packet-in handler: a DHCP client message is answered out of the port it came
 * in on. A retransmission of a request already answered takes the kept reply
 * (dhcp-replies.ts) without being decoded.
 */
export function answerDhcpPacketIn(input: PacketInInput): readonly OfpMessage[] | undefined {
  const { network, endpoint } = input;
  const model = {
    network,
    endpoint,
    subnets: input.model.subnetsByNetwork.get(network.id) ?? NO_SUBNETS,
    routers: input.model.routersByNetwork?.get(network.id) ?? NO_ROUTERS,
  };
  const frame = input.message.data;
  const kept = answerDhcpFast(frame, model);
  if (kept) return [packetOutTo(input.inPort, kept)];
  if (!input.packet.dhcp) return undefined;
  const reply = answerDhcp(input.packet, network, endpoint, model.subnets, model.routers);
  if (!reply) return [];
  keepDhcpReply(frame, input.packet, reply, model);
  return [packetOutTo(input.inPort, reply)];
}

function toClassless(destination: string, router: string): { destination: string; prefixLength: number; router: string } {
  const [addr, len] = destination.split('/');
  return { destination: addr!, prefixLength: Number(len ?? 32), router };
}

/** Routing: the router with an interface on the subnet, and its address there. */
function routedGatewayOf(routers: readonly Router[], subnet: Subnet): { router: Router; ip: string } | undefined {
  for (const router of routers) {
    const leg = router.interfaces.find((i) => i.subnet === subnet.id);
    if (leg) return { router, ip: leg.ip };
  }
  return undefined;
}

function inSubnet(subnet: Subnet, ip: string): boolean {
  const [net, len] = subnet.cidr.split('/');
  const mask = Number(len) === 0 ? 0 : (~0 << (32 - Number(len))) >>> 0;
  return ((ipv4ToInt(ip) & mask) >>> 0) === ((ipv4ToInt(net!) & mask) >>> 0);
}
