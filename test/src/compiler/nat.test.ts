/** External networks on a host (compiler/nat.ts): the patch port's classify and ARP for the gateway address there, asserted by the walk. */
import assert from 'node:assert/strict';
import { compileHost } from '../../../src/compiler/compile-host';
import { externalMacOf, externalPartition } from '../../../src/compiler/nat';
import type { Snapshot } from '../../../src/compiler/snapshot';
import { FEATURE } from '../../../src/pipeline/cookies';
import { indexFlows, tableFlowsOf, walkPacket } from '../../../src/pipeline/flow-table-walk';
import type { FloatingIp, Network, Router } from '../../../src/store/model';
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

function snapshot(router: Router = ROUTER, floatingIps: FloatingIp[] = [FIP]): Snapshot {
  return {
    networks: new Map([['A', net('A', 7001)], ['X', EXT]]),
    subnetsByNetwork: new Map([['A', [subnet('sa', 'A', '10.1.0.0/24', '10.1.0.1')]], ['X', [subnet('sx', 'X', '198.51.100.0/24', '198.51.100.1')]]]),
    endpointsByNetwork: new Map([['A', [ep('a1', 'A', '02:00:00:00:1a:01', '10.1.0.11')]], ['X', []]]),
    bindings: new Map([['a1', bind('a1', 'h1', 1)]]),
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
    assert.equal(withPatch.get(externalPartition('R'))!.length, 3);
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
