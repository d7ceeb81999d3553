/** Distributed routing (SPEC §4 table 40), asserted by where packets go through the compiled flows. */
import assert from 'node:assert/strict';
import { compileHost, endpointPartition } from '../../../src/compiler/compile-host';
import { compileFabric } from '../../../src/compiler/fabric';
import { routerPartition } from '../../../src/compiler/l3';
import type { Snapshot } from '../../../src/compiler/snapshot';
import { walkFabric, type FabricResult, type PacketFields } from '../../../src/pipeline/flow-table-walk';
import type { Endpoint, Router, Subnet } from '../../../src/store/model';
import { routerMacOf } from '../../../src/store/router-store';
import { ENCAP_IP, fabricMembers, TUNNEL_OFPORT } from '../../support/fabric-fixtures';
import { bind, ep, net, subnet } from '../../support/model-fixtures';

/*
 *   router R: 10.1.0.0/24 + 2001:db8:a::/64 (network A, VNI 7001) and 10.2.0.0/24 + 2001:db8:b::/64 (network B, VNI 7002);
 *             static route 10.9.0.0/16 via fw (10.2.0.254, network B)
 *   a1 h1:1   b1 h1:2   b2 h2:3   fw h2:4     network C (VNI 7003, not routed): c3 h3:5
 */
const RMAC = routerMacOf('R');
const VNI = { A: 7001, B: 7002, C: 7003 } as const;
const NIC = {
  a1: { mac: '02:00:00:00:1a:01', ip: '10.1.0.11', ip6: '2001:db8:a::11', host: 'h1', port: 1, network: 'A' },
  b1: { mac: '02:00:00:00:1b:01', ip: '10.2.0.11', ip6: '2001:db8:b::11', host: 'h1', port: 2, network: 'B' },
  b2: { mac: '02:00:00:00:1b:02', ip: '10.2.0.12', ip6: '2001:db8:b::12', host: 'h2', port: 3, network: 'B' },
  fw: { mac: '02:00:00:00:1b:fe', ip: '10.2.0.254', ip6: undefined, host: 'h2', port: 4, network: 'B' },
  c3: { mac: '02:00:00:00:1c:03', ip: '10.3.0.13', ip6: undefined, host: 'h3', port: 5, network: 'C' },
} as const;
type NicName = keyof typeof NIC;

const v6 = (id: string, network: string, cidr: string, gw: string): Subnet => ({ ...subnet(id, network, cidr, gw), ipVersion: 6, dhcp: false });
const endpointOf = (id: NicName): Endpoint => {
  const n = NIC[id];
  const e = ep(id, n.network, n.mac, n.ip);
  return n.ip6 ? { ...e, ips: [...e.ips, n.ip6] } : e;
};

const ROUTER: Router = {
  id: 'R',
  name: 'R',
  tenant: 'default',
  mac: RMAC,
  interfaces: [
    { subnet: 'sa', network: 'A', cidr: '10.1.0.0/24', ip: '10.1.0.1' },
    { subnet: 'sa6', network: 'A', cidr: '2001:db8:a::/64', ip: '2001:db8:a::1' },
    { subnet: 'sb', network: 'B', cidr: '10.2.0.0/24', ip: '10.2.0.1' },
    { subnet: 'sb6', network: 'B', cidr: '2001:db8:b::/64', ip: '2001:db8:b::1' },
  ],
  routes: [{ destination: '10.9.0.0/16', nexthop: NIC.fw.ip }],
  createdAt: '',
  updatedAt: '',
};

function routedSnapshot(router: Router = ROUTER): Snapshot {
  const names = Object.keys(NIC) as NicName[];
  const byNetwork = (network: string) => names.filter((n) => NIC[n].network === network).map(endpointOf);
  return {
    networks: new Map([['A', net('A', VNI.A)], ['B', net('B', VNI.B)], ['C', net('C', VNI.C)]]),
    subnetsByNetwork: new Map([
      ['A', [subnet('sa', 'A', '10.1.0.0/24', '10.1.0.1'), v6('sa6', 'A', '2001:db8:a::/64', '2001:db8:a::1')]],
      ['B', [subnet('sb', 'B', '10.2.0.0/24', '10.2.0.1'), v6('sb6', 'B', '2001:db8:b::/64', '2001:db8:b::1')]],
      ['C', [subnet('sc', 'C', '10.3.0.0/24', '10.3.0.1')]],
    ]),
    endpointsByNetwork: new Map([['A', byNetwork('A')], ['B', byNetwork('B')], ['C', byNetwork('C')]]),
    bindings: new Map(names.map((id) => [id, bind(id, NIC[id].host, NIC[id].port)])),
    routers: new Map([[router.id, router]]),
    routersByNetwork: new Map([['A', [router]], ['B', [router]]]),
  };
}

const fabric = compileFabric(routedSnapshot(), fabricMembers());

function ip4(from: NicName, toIp: string, over: Partial<Record<string, string | number>> = {}): PacketFields {
  const s = NIC[from];
  return { in_port: s.port, eth_src: s.mac, eth_dst: RMAC, eth_type: 0x0800, ip_src: s.ip, ip_dst: toIp, ip_proto: 1, nw_ttl: 64, icmp_type: 8, icmp_code: 0, ...over };
}

function ip6(from: NicName, toIp: string): PacketFields {
  const s = NIC[from];
  return { in_port: s.port, eth_src: s.mac, eth_dst: RMAC, eth_type: 0x86dd, ipv6_src: s.ip6!, ipv6_dst: toIp, ip_proto: 58, nw_ttl: 64, icmpv6_type: 128, icmpv6_code: 0 };
}

const where = (r: FabricResult): string[] => r.arrivals.map((a) => `${a.host}:${a.kind === 'port' ? a.port : a.kind}`).sort();

describe('compiler: distributed L3', () => {
  it('answers ARP for the gateway address in the switch with the router MAC', () => {
    const a1 = NIC.a1;
    const r = walkFabric(fabric, 'h1', {
      in_port: a1.port, eth_src: a1.mac, eth_dst: 'ff:ff:ff:ff:ff:ff', eth_type: 0x0806,
      arp_op: 1, arp_sha: a1.mac, arp_spa: a1.ip, arp_tha: '00:00:00:00:00:00', arp_tpa: '10.1.0.1',
    });
    assert.deepEqual(where(r), [`h1:${a1.port}`]);
    const p = r.arrivals[0]!.packet;
    assert.deepEqual([p.arp_op, p.arp_sha, p.arp_spa, p.eth_src, p.eth_dst], [2, RMAC, '10.1.0.1', RMAC, a1.mac]);
  });

  it('routes to another subnet across hosts: TTL 63, MACs rewritten, into the tunnel with the destination VNI', () => {
    const r = walkFabric(fabric, 'h1', ip4('a1', NIC.b2.ip));
    assert.deepEqual(where(r), [`h2:${NIC.b2.port}`], r.reason);
    const tunnelHop = r.hops.find((h) => h.host === 'h2')!;
    assert.equal(tunnelHop.table?.name, 'classify');
    assert.ok(tunnelHop.flow!.match.some((f) => f.field === 'tun_id' && f.value === BigInt(VNI.B)), 'arrives with network B\'s VNI');
    const p = r.arrivals[0]!.packet;
    assert.deepEqual([p.nw_ttl, p.eth_src, p.eth_dst, p.ip_dst], [63, RMAC, NIC.b2.mac, NIC.b2.ip]);
    assert.ok(r.hops.filter((h) => h.host === 'h1').some((h) => h.table?.name === 'l3'), 'routed on the sending host');
    assert.ok(!r.hops.filter((h) => h.host === 'h2').some((h) => h.table?.name === 'l3'), 'not routed again on the receiving host');
  });

  it('routes to another subnet on the same host without a tunnel', () => {
    const r = walkFabric(fabric, 'h1', ip4('a1', NIC.b1.ip));
    assert.deepEqual(where(r), [`h1:${NIC.b1.port}`], r.reason);
    assert.deepEqual([r.arrivals[0]!.packet.nw_ttl, r.arrivals[0]!.packet.eth_dst], [63, NIC.b1.mac]);
  });

  it('routes the reply back on the replying host (both directions distributed)', () => {
    const r = walkFabric(fabric, 'h2', ip4('b2', NIC.a1.ip));
    assert.deepEqual(where(r), [`h1:${NIC.a1.port}`], r.reason);
    const out = r.hops.find((h) => h.host === 'h2' && h.table?.name === 'l2');
    assert.ok(out, 'h2 has network A only routed to, yet forwards into it');
  });

  it('routes IPv6, decrementing the hop limit', () => {
    const r = walkFabric(fabric, 'h1', ip6('a1', NIC.b2.ip6));
    assert.deepEqual(where(r), [`h2:${NIC.b2.port}`], r.reason);
    assert.deepEqual([r.arrivals[0]!.packet.nw_ttl, r.arrivals[0]!.packet.eth_dst], [63, NIC.b2.mac]);
  });

  it('sends a static route\'s traffic to the appliance endpoint holding its next hop', () => {
    const r = walkFabric(fabric, 'h1', ip4('a1', '10.9.3.4'));
    assert.deepEqual(where(r), [`h2:${NIC.fw.port}`], r.reason);
    const p = r.arrivals[0]!.packet;
    assert.deepEqual([p.nw_ttl, p.eth_src, p.eth_dst, p.ip_dst], [63, RMAC, NIC.fw.mac, '10.9.3.4']);
  });

  it('stops a packet whose TTL expires at the router, and drops unknown addresses in a routed subnet', () => {
    // dec_ttl on TTL 1 punts to the controller (OFPR_INVALID_TTL) and stops, as ovs-vswitchd does: only the controller sees it.
    const expired = walkFabric(fabric, 'h1', ip4('a1', NIC.b2.ip, { nw_ttl: 1 }));
    assert.deepEqual([expired.verdict, expired.arrivals.map((a) => a.kind)], ['to-controller', ['controller']]);
    const r = walkFabric(fabric, 'h1', ip4('a1', '10.2.0.99'));
    assert.equal(r.verdict, 'dropped');
    assert.match(r.reason, /l3-neighbor/);
  });

  it('does not route into a network the router is not on', () => {
    const r = walkFabric(fabric, 'h1', ip4('a1', NIC.c3.ip));
    assert.equal(r.verdict, 'dropped');
    assert.equal(r.arrivals.length, 0);
  });

  it('compiles a router only on hosts where one of its networks is present', () => {
    const [h1, , h3] = fabricMembers();
    const snap = routedSnapshot();
    assert.ok((compileHost(snap, h1!.context).get(routerPartition('R')) ?? []).length > 0);
    assert.equal(compileHost(snap, h3!.context).get(routerPartition('R')), undefined);
    assert.equal(compileHost(snap, h3!.context).get(endpointPartition('b2')), undefined, 'routed networks are not compiled on h3 either');
  });

  it('an endpoint in a network only routed to from a host costs that host its L2 and neighbour flows only', () => {
    const [h1] = fabricMembers();
    // Remove b1 (h1's only B endpoint): B is then only routed to from h1.
    const snap = routedSnapshot();
    const bindings = new Map(snap.bindings);
    bindings.delete('b1');
    const flows = compileHost({ ...snap, bindings }, h1!.context).get(endpointPartition('b2'))!;
    assert.deepEqual(flows.map((f) => f.table.name).sort(), ['l2', 'l3-neighbor', 'l3-neighbor']);
    const l2 = flows.find((f) => f.table.name === 'l2')!;
    const actions = l2.instructions.flatMap((i) => (i.type === 'apply_actions' ? i.actions : []));
    assert.ok(actions.some((a) => a.type === 'set_field' && a.field === 'tun_dst' && a.value === ENCAP_IP.h2), 'tun_dst = h2');
    assert.ok(actions.some((a) => a.type === 'output' && a.port === TUNNEL_OFPORT), 'into plexus-vxlan');
  });
});
