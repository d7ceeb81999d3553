import assert from 'node:assert/strict';
import { readAttachments, readTunnelPorts } from '../../../src/southbound/attachments';
import { iface, U, viewOf } from '../../support/ovs-views';

describe('readAttachments', () => {
  it('binds every br-int interface with an iface-id and an OpenFlow port, and says what it is', () => {
    const view = viewOf(
      [
        iface(1, 'tap-vm', 3, { 'iface-id': 'vm1', 'attached-mac': '02:AA:00:00:00:01', 'vm-uuid': 'u-1' }),
        iface(2, 'veth-c', 4, { 'iface-id': ' c1 ', attached_mac: '02:aa:00:00:00:02', container_id: 'abc', 'plexus-network': 'DockerSN', 'plexus-ip': '10.0.0.9' }),
        iface(3, 'migr', 5, { 'iface-id': 'vm2', 'iface-status': 'inactive', 'attached-mac': 'not-a-mac' }),
        iface(4, 'done', 6, { 'iface-id': 'e4', 'plexus-installed': 'true' }),
        iface(5, 'pending', null, { 'iface-id': 'e5' }),
        iface(6, 'failed', -1, { 'iface-id': 'e6' }),
        iface(7, 'plain', 7, {}),
      ],
      [iface(8, 'other-bridge', 9, { 'iface-id': 'e8' })],
    );
    const a = readAttachments(view);
    assert.deepEqual([...a.keys()].sort(), ['c1', 'e4', 'vm1', 'vm2']);
    assert.deepEqual(a.get('vm1'), {
      endpointId: 'vm1', ifaceUuid: U(101), ifaceName: 'tap-vm', ofport: 3, mac: '02:aa:00:00:00:01', kind: 'vm',
      active: true, network: null, ip: null, installedMark: false,
    });
    assert.equal(a.get('c1')!.kind, 'container');
    assert.equal(a.get('c1')!.mac, '02:aa:00:00:00:02');
    assert.equal(a.get('c1')!.network, 'DockerSN');
    assert.equal(a.get('c1')!.ip, '10.0.0.9');
    assert.equal(a.get('vm2')!.active, false);
    assert.equal(a.get('vm2')!.mac, null);
    assert.equal(a.get('vm2')!.kind, 'other');
    assert.equal(a.get('e4')!.installedMark, true);
  });

  it('keeps the lowest OpenFlow port when one iface-id appears twice', () => {
    const a = readAttachments(viewOf([iface(1, 'late', 9, { 'iface-id': 'x' }), iface(2, 'early', 4, { 'iface-id': 'x' })]));
    assert.equal(a.get('x')!.ifaceName, 'early');
    assert.equal(a.get('x')!.ofport, 4);
  });

  it('finds plexus-vxlan\'s OpenFlow port, and the per-peer ports an earlier version left', () => {
    const view = viewOf([
      iface(0, 'plexus-vxlan', 9, {}, 'vxlan'),
      iface(1, 'vx1', 10, { 'plexus-peer': 'h2' }, 'vxlan'),
      iface(2, 'vx2', null, { 'plexus-peer': 'h3' }, 'vxlan'),
      iface(3, 'gre', 12, { 'plexus-peer': 'h4' }, 'gre'),
      iface(4, 'foreign', 13, {}, 'vxlan'),
    ]);
    assert.deepEqual(readTunnelPorts(view), { port: 9, legacy: new Map([['h2', 10]]) });
    assert.deepEqual(readTunnelPorts(viewOf([iface(0, 'plexus-vxlan', null, {}, 'vxlan')])), { port: undefined, legacy: new Map() });
  });
});
