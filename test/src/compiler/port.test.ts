/** Port security (SPEC §4 table 10), asserted by where packets go through the compiled flows. */
import assert from 'node:assert/strict';
import { walkFabric, walkPacket, type WalkResult } from '../../../src/pipeline/flow-table-walk';
import { PORT_SECURITY } from '../../../src/pipeline/tables';
import { arpRequest, buildFabric, dhcpDiscover, neighborSolicit, NIC, udp4 } from '../../support/fabric-fixtures';

const fabric = buildFabric();
const h1 = fabric.get('h1')!;

function droppedIn(r: WalkResult, tableName: string): void {
  assert.equal(r.verdict, 'dropped', r.reason);
  const last = r.hops[r.hops.length - 1]!;
  assert.equal(last.table?.name, tableName, r.reason);
  assert.equal(last.flow?.priority ?? 0, 0, 'dropped by the table-miss flow');
}

describe('compiler: port security', () => {
  it('lets an endpoint send from its own MAC and IP', () => {
    const r = walkPacket(h1, udp4(NIC.a1, NIC.a5));
    assert.equal(r.verdict, 'delivered', r.reason);
    assert.deepEqual(r.outputs.map((o) => o.kind === 'port' && o.port), [NIC.a5.port]);
  });

  it('drops a spoofed source MAC', () => {
    droppedIn(walkPacket(h1, udp4({ ...NIC.a1, mac: '02:00:00:00:99:99' }, NIC.a5)), PORT_SECURITY.name);
  });

  it('drops a spoofed source IP, also one that belongs to another endpoint of the network', () => {
    droppedIn(walkPacket(h1, udp4({ ...NIC.a1, ip: '10.1.0.99' }, NIC.a5)), PORT_SECURITY.name);
    droppedIn(walkPacket(h1, udp4({ ...NIC.a1, ip: NIC.a5.ip }, NIC.a2)), PORT_SECURITY.name);
  });

  it('drops ARP whose sender IP or sender MAC is not the endpoint\'s', () => {
    droppedIn(walkPacket(h1, arpRequest(NIC.a1, NIC.a2.ip, { arp_spa: '10.1.0.99' })), PORT_SECURITY.name);
    droppedIn(walkPacket(h1, arpRequest(NIC.a1, NIC.a2.ip, { arp_sha: '02:00:00:00:99:99' })), PORT_SECURITY.name);
  });

  it('lets DHCP from 0.0.0.0 through, and nothing else from 0.0.0.0', () => {
    const dhcp = walkFabric(fabric, 'h1', dhcpDiscover(NIC.a1));
    assert.equal(dhcp.verdict, 'to-controller', dhcp.reason);
    droppedIn(walkPacket(h1, udp4({ ...NIC.a1, ip: '0.0.0.0' }, NIC.a5, { udp_dst: 53 })), PORT_SECURITY.name);
  });

  it('lets IPv6 through from the endpoint\'s address and its link-local one, and DAD from ::', () => {
    const from = (ip: string) => walkPacket(h1, neighborSolicit(NIC.b1, ip, NIC.b2.ip6));
    assert.equal(from(NIC.b1.ip6).verdict, 'to-controller');
    assert.equal(from('fe80::ff:fe00:b01').verdict, 'to-controller');
    assert.equal(from('::').verdict, 'to-controller');
    droppedIn(from('2001:db8:b::99'), PORT_SECURITY.name);
    droppedIn(from('fe80::1'), PORT_SECURITY.name);
  });

  it('drops everything from a port no endpoint is bound to', () => {
    droppedIn(walkPacket(h1, udp4({ ...NIC.a1, port: 9 }, NIC.a5)), 'classify');
  });

  it('drops a frame that arrives on another endpoint\'s port', () => {
    droppedIn(walkPacket(h1, udp4({ ...NIC.a1, port: NIC.b1.port }, NIC.a5)), PORT_SECURITY.name);
  });
});
