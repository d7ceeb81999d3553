/** DHCPv4 (SPEC §4 table 20): punted to the controller, asserted by where packets go. */
import assert from 'node:assert/strict';
import { walkFabric } from '../../../src/pipeline/flow-table-walk';
import { ARP_ND } from '../../../src/pipeline/tables';
import { buildFabric, dhcpDiscover, NIC } from '../../support/fabric-fixtures';

const fabric = buildFabric();

describe('compiler: DHCP', () => {
  it('punts a DISCOVER to the controller of the client\'s host, whole, and floods it nowhere', () => {
    const r = walkFabric(fabric, 'h1', dhcpDiscover(NIC.a1));
    assert.equal(r.verdict, 'to-controller', r.reason);
    assert.deepEqual(r.arrivals.map((a) => [a.host, a.kind]), [['h1', 'controller']]);
    const punt = r.hops.find((h) => h.flow && h.table === ARP_ND)!;
    assert.ok(punt.flow!.instructions.some((i) => i.type === 'apply_actions' && i.actions.some((a) => a.type === 'output' && a.maxLen === 0xffff)), 'no truncation');
  });

  it('does not punt DHCP in a network whose subnets have DHCP off: it is broadcast like any other frame', () => {
    const r = walkFabric(fabric, 'h1', dhcpDiscover(NIC.b1));
    assert.ok(!r.arrivals.some((a) => a.kind === 'controller'), r.reason);
    assert.deepEqual(r.arrivals.map((a) => `${a.host}:${a.kind === 'port' ? a.port : '-'}`), [`h2:${NIC.b2.port}`]);
  });
});
