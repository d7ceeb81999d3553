/**
 * Three hosts and three networks for tests that run packets through compiled
 * flows (src/pipeline/flow-table-walk.ts), plus packet descriptions.
 *
 *   network A (VNI 5001, DHCP)       a1 h1:1   a5 h1:6   a2 h2:3   a3 h3:4
 *   network B (VNI 5002, no DHCP,    b1 h1:2   b2 h2:7
 *              dual stack)
 *   network C (VNI 5003)             c1 h3:5
 *
 *   tunnel port (plexus-vxlan, remote_ip=flow): ofport 10 on every host
 *   encap IPs: h1 192.0.2.1, h2 192.0.2.2, h3 192.0.2.3
 */
import { compileFabric, type FabricMember } from '../../src/compiler/fabric';
import type { Snapshot } from '../../src/compiler/snapshot';
import type { FabricHost, PacketFields } from '../../src/pipeline/flow-table-walk';
import type { Endpoint, Subnet } from '../../src/store/model';
import { bind, ep, net, subnet } from './model-fixtures';

export interface Nic {
  readonly mac: string;
  readonly ip: string;
  readonly ip6?: string;
  readonly host: string;
  readonly port: number;
}

export const NIC = {
  a1: { mac: '02:00:00:00:0a:01', ip: '10.1.0.11', host: 'h1', port: 1 },
  a5: { mac: '02:00:00:00:0a:05', ip: '10.1.0.15', host: 'h1', port: 6 },
  a2: { mac: '02:00:00:00:0a:02', ip: '10.1.0.12', host: 'h2', port: 3 },
  a3: { mac: '02:00:00:00:0a:03', ip: '10.1.0.13', host: 'h3', port: 4 },
  b1: { mac: '02:00:00:00:0b:01', ip: '10.2.0.11', ip6: '2001:db8:b::11', host: 'h1', port: 2 },
  b2: { mac: '02:00:00:00:0b:02', ip: '10.2.0.12', ip6: '2001:db8:b::12', host: 'h2', port: 7 },
  c1: { mac: '02:00:00:00:0c:01', ip: '10.3.0.11', host: 'h3', port: 5 },
} as const satisfies Record<string, Nic>;

export const VNI = { A: 5001, B: 5002, C: 5003 } as const;
export const ENCAP_IP = { h1: '192.0.2.1', h2: '192.0.2.2', h3: '192.0.2.3' } as const;
/** OpenFlow port of plexus-vxlan on every host. */
export const TUNNEL_OFPORT = 10;

export const BROADCAST = 'ff:ff:ff:ff:ff:ff';

function endpointOf(id: keyof typeof NIC, network: string): Endpoint {
  const n: Nic = NIC[id];
  const e = ep(id, network, n.mac, n.ip);
  return n.ip6 ? { ...e, ips: [...e.ips, n.ip6] } : e;
}

export function fabricSnapshot(): Snapshot {
  const noDhcp = (s: Subnet): Subnet => ({ ...s, dhcp: false });
  const v6: Subnet = { ...subnet('sb6', 'B', '2001:db8:b::/64', '2001:db8:b::1'), ipVersion: 6, dhcp: false };
  return {
    networks: new Map([['A', net('A', VNI.A)], ['B', net('B', VNI.B)], ['C', net('C', VNI.C)]]),
    subnetsByNetwork: new Map([
      ['A', [subnet('sa', 'A', '10.1.0.0/24', '10.1.0.1')]],
      ['B', [noDhcp(subnet('sb', 'B', '10.2.0.0/24', '10.2.0.1')), v6]],
      ['C', [subnet('sc', 'C', '10.3.0.0/24', '10.3.0.1')]],
    ]),
    endpointsByNetwork: new Map([
      ['A', [endpointOf('a1', 'A'), endpointOf('a2', 'A'), endpointOf('a3', 'A'), endpointOf('a5', 'A')]],
      ['B', [endpointOf('b1', 'B'), endpointOf('b2', 'B')]],
      ['C', [endpointOf('c1', 'C')]],
    ]),
    bindings: new Map(Object.entries(NIC).map(([id, n]) => [id, bind(id, n.host, n.port)])),
  };
}

export function fabricMembers(): FabricMember[] {
  return (['h1', 'h2', 'h3'] as const).map((id) => ({
    context: { id, tunnelPort: TUNNEL_OFPORT, encapIps: new Map(Object.entries(ENCAP_IP)) },
    encapIp: ENCAP_IP[id],
  }));
}

export function buildFabric(snapshot: Snapshot = fabricSnapshot()): Map<string, FabricHost> {
  return compileFabric(snapshot, fabricMembers());
}

/** An IPv4 UDP datagram from `src` (sent on its port) to `dst`. */
export function udp4(src: Nic, dst: { mac: string; ip: string }, over: Partial<Record<string, string | number>> = {}): PacketFields {
  return {
    in_port: src.port, eth_src: src.mac, eth_dst: dst.mac, eth_type: 0x0800,
    ip_src: src.ip, ip_dst: dst.ip, ip_proto: 17, nw_ttl: 64, udp_src: 40000, udp_dst: 9,
    ...over,
  };
}

/** An ARP request from `sender` for `targetIp`, broadcast. */
export function arpRequest(sender: Nic, targetIp: string, over: Partial<Record<string, string | number>> = {}): PacketFields {
  return {
    in_port: sender.port, eth_src: sender.mac, eth_dst: BROADCAST, eth_type: 0x0806,
    arp_op: 1, arp_sha: sender.mac, arp_spa: sender.ip, arp_tha: '00:00:00:00:00:00', arp_tpa: targetIp,
    ...over,
  };
}

/** DHCPDISCOVER from a client without an address yet. */
export function dhcpDiscover(client: Nic): PacketFields {
  return udp4(client, { mac: BROADCAST, ip: '255.255.255.255' }, { ip_src: '0.0.0.0', udp_src: 68, udp_dst: 67 });
}

/** An ICMPv6 neighbor solicitation from `src` (address `from`) for `target`. */
export function neighborSolicit(src: Nic, from: string, target: string): PacketFields {
  return {
    in_port: src.port, eth_src: src.mac, eth_dst: '33:33:ff:00:00:12', eth_type: 0x86dd,
    ipv6_src: from, ipv6_dst: 'ff02::1:ff00:12', ip_proto: 58, icmpv6_type: 135, icmpv6_code: 0, nd_target: target,
  };
}
