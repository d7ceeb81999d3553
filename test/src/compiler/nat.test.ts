/** External networks on a host (compiler/nat.ts): the patch port's classify and ARP for the gateway address there, asserted by the walk. */
import assert from 'node:assert/strict';
import { compileHost } from '../../../src/compiler/compile-host';
import { externalMacOf, externalPartition, macBindingKey, natZoneOf } from '../../../src/compiler/nat';
import type { Snapshot } from '../../../src/compiler/snapshot';
import { FEATURE } from '../../../src/pipeline/cookies';
import { indexFlows, tableFlowsOf, walkPacket, type PacketFields } from '../../../src/pipeline/flow-table-walk';
import { Conntrack } from '../../../src/pipeline/walk-conntrack';
import { EXTERNAL_OUT } from '../../../src/pipeline/tables';
import type { FloatingIp, MacBinding, Network, Router } from '../../../src/store/model';
import { routerMacOf } from '../../../src/store/router-store';
import { bind, ep, net, subnet } from '../../support/model-fixtures';

const PATCH = 9;
const EXT: Network = { ...net('X', 7100), external: true, physicalNetwork: 'physnet1' };
const ROUTER: Router = {
  id: 'R',
  name: 'R',
  tenant: 'default',
  mac: routerMacOf('R'),
  interfaces: [{ subnet: 'sa', network: 'A', cidr: '10.1.0.0/24', ip: '10.1.0.1' }],
  routes: [],
  externalGateway: { network: 'X', subnet: 'sx', ip: '198.51.100.2', snat: true },
  createdAt: '',
  updatedAt: '',
};

const FIP: FloatingIp = { id: 'F', tenant: 'default', network: 'X', subnet: 'sx', address: '198.51.100.9', endpoint: 'a1', fixedIp: '10.1.0.11', createdAt: '', updatedAt: '' };

function snapshot(router: Router = ROUTER, floatingIps: FloatingIp[] = [FIP], macBindings: MacBinding[] = []): Snapshot {
  return {
    networks: new Map([['A', net('A', 7001)], ['X', EXT]]),
    subnetsByNetwork: new Map([['A', [subnet('sa', 'A', '10.1.0.0/24', '10.1.0.1')]], ['X', [subnet('sx', 'X', '198.51.100.0/24', '198.51.100.1')]]]),
    endpointsByNetwork: new Map([['A', [ep('a1', 'A', '02:00:00:00:1a:01', '10.1.0.11'), ep('a2', 'A', '02:00:00:00:1a:02', '10.1.0.12')]], ['X', []]]),
    bindings: new Map([['a1', bind('a1', 'h1', 1)], ['a2', bind('a2', 'h1', 2)]]),
    macBindings: new Map(macBindings.map((b) => [macBindingKey(b.network, b.ip), b])),
    routers: new Map([[router.id, router]]),
    routersByNetwork: new Map([['A', [router]]]),
    floatingIps: new Map(floatingIps.map((f) => [f.id, f])),
  };
}

const UPSTREAM = '02:00:00:00:ee:01';
const arpRequest = (tpa: string, inPort = PATCH) => ({
  in_port: inPort, eth_src: UPSTREAM, eth_dst: 'ff:ff:ff:ff:ff:ff', eth_type: 0x0806, arp_op: 1,
  arp_sha: UPSTREAM, arp_spa: '198.51.100.1', arp_tha: '00:00:00:00:00:00', arp_tpa: tpa,
});

describe('compiler: external networks (patch port, gateway ARP)', () => {
  const withPatch = compileHost(snapshot(), { id: 'h1', tunnelPort: undefined, encapIps: new Map(), externalPorts: new Map([['physnet1', PATCH]]) });
  const sw = { flows: indexFlows(tableFlowsOf([...withPatch.values()].flat())) };

  it('answers ARP for the router\'s external address from the patch port with its external MAC, back out the patch port', () => {
    const r = walkPacket(sw, arpRequest('198.51.100.2'));
    assert.equal(r.verdict, 'delivered', r.reason);
    assert.equal(r.outputs.length, 1);
    const out = r.outputs[0]!;
    assert.equal(out.kind === 'port' && out.port, PATCH, 'back where it came from (OFPP_IN_PORT)');
    const mac = externalMacOf('R');
    assert.notEqual(mac, ROUTER.mac);
    assert.deepEqual([out.packet['eth_src'], out.packet['eth_dst'], out.packet['arp_op'], out.packet['arp_sha'], out.packet['arp_spa'], out.packet['arp_tha'], out.packet['arp_tpa']], [mac, UPSTREAM, 2, mac, '198.51.100.2', UPSTREAM, '198.51.100.1']);
    assert.equal(Number(out.cookie >> 56n), FEATURE.EXTERNAL);
  });

  it('answers nothing else from the patch port: other addresses are dropped, not flooded inside', () => {
    const r = walkPacket(sw, arpRequest('198.51.100.77'));
    assert.equal(r.verdict, 'dropped', r.reason);
    assert.equal(walkPacket(sw, arpRequest('198.51.100.2', 5)).verdict, 'dropped', 'the same request on another port is not the outside');
  });

  it('compiles nothing external on a host without the mapping, or for a router without a gateway', () => {
    const without = compileHost(snapshot(), { id: 'h1', tunnelPort: undefined, encapIps: new Map() });
    assert.deepEqual(without.get(externalPartition('R')), []);
    const { externalGateway: _gw, ...noGateway } = ROUTER;
    const none = compileHost(snapshot(noGateway), { id: 'h1', tunnelPort: undefined, encapIps: new Map(), externalPorts: new Map([['physnet1', PATCH]]) });
    assert.deepEqual(none.get(externalPartition('R')), []);
    assert.ok(withPatch.get(externalPartition('R'))!.length > 3, 'classify, ARP answers and the NAT flows');
  });

  it('answers ARP for a floating IP only on its endpoint\'s host, and not once it is released', () => {
    const fip = walkPacket(sw, arpRequest('198.51.100.9'));
    assert.equal(fip.verdict, 'delivered', fip.reason);
    assert.equal(fip.outputs[0]!.packet['arp_sha'], externalMacOf('R'));
    const elsewhere = compileHost(snapshot(), { id: 'h2', tunnelPort: undefined, encapIps: new Map(), externalPorts: new Map([['physnet1', PATCH]]) });
    assert.equal(walkPacket({ flows: indexFlows(tableFlowsOf([...elsewhere.values()].flat())) }, arpRequest('198.51.100.9')).verdict, 'dropped', 'h2 does not run a1');
    const released = compileHost(snapshot(ROUTER, [{ ...FIP, endpoint: null, fixedIp: null }]), { id: 'h1', tunnelPort: undefined, encapIps: new Map(), externalPorts: new Map([['physnet1', PATCH]]) });
    assert.equal(walkPacket({ flows: indexFlows(tableFlowsOf([...released.values()].flat())) }, arpRequest('198.51.100.9')).verdict, 'dropped');
  });
});

describe('compiler: NAT to and from the outside (conntrack, walked)', () => {
  const UPSTREAM_BINDING: MacBinding = { network: 'X', ip: '198.51.100.1', mac: UPSTREAM, host: 'h1', updatedAt: '' };
  const host = { id: 'h1', tunnelPort: undefined, encapIps: new Map<string, string>(), externalPorts: new Map([['physnet1', PATCH]]) };
  const switchOf = (s: Snapshot) => ({ flows: indexFlows(tableFlowsOf([...compileHost(s, host).values()].flat())), conntrack: new Conntrack() });
  const tcp = (over: PacketFields): PacketFields => ({ eth_type: 0x0800, ip_proto: 6, nw_ttl: 64, tcp_src: 40000, tcp_dst: 80, ...over });
  const fromA = (mac: string, ip: string, port: number) => tcp({ in_port: port, eth_src: mac, eth_dst: ROUTER.mac, ip_src: ip, ip_dst: '203.0.113.7' });
  const fromOutside = (dst: string, srcPort = 80, dstPort = 40000) => tcp({ in_port: PATCH, eth_src: UPSTREAM, eth_dst: externalMacOf('R'), ip_src: '203.0.113.7', ip_dst: dst, tcp_src: srcPort, tcp_dst: dstPort });

  it('SNATs a router subnet to the gateway address, to the learned next hop out the patch port, and un-NATs the reply to the endpoint', () => {
    const sw = switchOf(snapshot(ROUTER, [], [UPSTREAM_BINDING]));
    const out = walkPacket(sw, fromA('02:00:00:00:1a:02', '10.1.0.12', 2));
    assert.equal(out.verdict, 'delivered', out.reason);
    const o = out.outputs[0]!;
    assert.equal(o.kind === 'port' && o.port, PATCH);
    assert.deepEqual([o.packet['ip_src'], o.packet['ip_dst'], o.packet['eth_src'], o.packet['eth_dst'], o.packet['nw_ttl']], ['198.51.100.2', '203.0.113.7', externalMacOf('R'), UPSTREAM, 63]);
    assert.ok(sw.conntrack.size(natZoneOf('R')) > 0, 'tracked in the router\'s zone');
    const back = walkPacket(sw, fromOutside('198.51.100.2'));
    assert.equal(back.verdict, 'delivered', back.reason);
    const b = back.outputs[0]!;
    assert.equal(b.kind === 'port' && b.port, 2, 'to a2\'s port');
    assert.deepEqual([b.packet['ip_dst'], b.packet['eth_dst'], b.packet['eth_src']], ['10.1.0.12', '02:00:00:00:1a:02', ROUTER.mac]);
    assert.equal(walkPacket(sw, fromOutside('198.51.100.2', 80, 40001)).verdict, 'dropped', 'nothing un-NATs a connection nobody opened');
  });

  it('translates a floating IP 1:1 on its endpoint\'s host: reachable from outside, and its own traffic leaves with it', () => {
    const sw = switchOf(snapshot(ROUTER, [FIP], [UPSTREAM_BINDING]));
    const inbound = walkPacket(sw, fromOutside('198.51.100.9', 50000, 22));
    assert.equal(inbound.verdict, 'delivered', inbound.reason);
    const i = inbound.outputs[0]!;
    assert.equal(i.kind === 'port' && i.port, 1);
    assert.deepEqual([i.packet['ip_dst'], i.packet['eth_dst']], ['10.1.0.11', '02:00:00:00:1a:01']);
    const reply = walkPacket(sw, tcp({ in_port: 1, eth_src: '02:00:00:00:1a:01', eth_dst: ROUTER.mac, ip_src: '10.1.0.11', ip_dst: '203.0.113.7', tcp_src: 22, tcp_dst: 50000 }));
    assert.equal(reply.verdict, 'delivered', reply.reason);
    assert.equal(reply.outputs[0]!.packet['ip_src'], '198.51.100.9', 'the reply comes from the floating IP');
    const own = walkPacket(sw, fromA('02:00:00:00:1a:01', '10.1.0.11', 1));
    assert.equal(own.outputs[0]!.packet['ip_src'], '198.51.100.9', 'a1 opens connections from its floating IP, not the gateway address');
    const released = switchOf(snapshot(ROUTER, [{ ...FIP, endpoint: null, fixedIp: null }], [UPSTREAM_BINDING]));
    assert.equal(walkPacket(released, fromOutside('198.51.100.9', 50000, 22)).verdict, 'dropped', 'released: no way in');
    assert.equal(walkPacket(released, fromA('02:00:00:00:1a:01', '10.1.0.11', 1)).outputs[0]!.packet['ip_src'], '198.51.100.2', 'released: SNAT to the gateway');
  });

  it('punts to the controller, with the patch port in reg2, while the next hop\'s MAC is not learned; its ARP replies are punted', () => {
    const sw = switchOf(snapshot(ROUTER, []));
    const r = walkPacket(sw, fromA('02:00:00:00:1a:02', '10.1.0.12', 2));
    assert.equal(r.verdict, 'to-controller', r.reason);
    assert.equal(r.hops.at(-1)!.tableId, EXTERNAL_OUT.id);
    assert.equal(r.outputs[0]!.packet['reg2'], PATCH);
    assert.equal(r.outputs[0]!.packet['ip_src'], '198.51.100.2', 'already NATed: the ARP request is sent from the gateway address');
    const reply = walkPacket(sw, { ...arpRequest('198.51.100.2'), eth_dst: externalMacOf('R'), arp_op: 2, arp_tha: externalMacOf('R') });
    assert.equal(reply.verdict, 'to-controller', reply.reason);
  });

  it('without SNAT only floating IPs leave; a router without a mapped gateway leaves nothing out', () => {
    const noSnat = switchOf(snapshot({ ...ROUTER, externalGateway: { ...ROUTER.externalGateway!, snat: false } }, [FIP], [UPSTREAM_BINDING]));
    assert.equal(walkPacket(noSnat, fromA('02:00:00:00:1a:02', '10.1.0.12', 2)).verdict, 'dropped');
    assert.equal(walkPacket(noSnat, fromA('02:00:00:00:1a:01', '10.1.0.11', 1)).verdict, 'delivered');
    const unmapped = { flows: indexFlows(tableFlowsOf([...compileHost(snapshot(), { ...host, externalPorts: new Map() }).values()].flat())), conntrack: new Conntrack() };
    assert.equal(walkPacket(unmapped, fromA('02:00:00:00:1a:02', '10.1.0.12', 2)).verdict, 'dropped');
  });
});
