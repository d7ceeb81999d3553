import assert from 'node:assert/strict';
import { derivedEndpointId, readAttachments, readTunnelPorts, readUnbindable } from '../../../src/southbound/attachments';
import { iface, U, viewOf } from '../../support/ovs-views';

describe('readAttachments', () => {
  it('binds every br-int interface with an iface-id and an OpenFlow port, and says what it is', () => {
    const view = viewOf(
      [
        iface(1, 'tap-vm', 3, { 'iface-id': 'vm1', 'attached-mac': '02:AA:00:00:00:01', 'vm-uuid': 'u-1' }),
        iface(2, 'veth-c', 4, { 'iface-id': ' c1 ', attached_mac: '02:aa:00:00:00:02', container_id: 'abc', 'plexus-network': 'DockerSN', 'plexus-ip': '10.0.0.9' }),
        iface(3, 'migr', 5, { 'iface-id': 'vm2', 'iface-status': 'inactive' }),
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
      active: true, network: null, ip: null, installedMark: false, derivedId: false,
      externalIds: { 'iface-id': 'vm1', 'attached-mac': '02:AA:00:00:00:01', 'vm-uuid': 'u-1' },
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

  it('names an ovs-docker port (container_id + container_iface, no iface-id) with plexus-network by host and container interface', () => {
    const ids = { container_id: 'c0ffee', container_iface: 'eth1', 'plexus-network': 'DockerSN' };
    const on = (systemId: string) => readAttachments(viewOf([iface(1, 'a1b2_l', 3, ids)], [], { 'system-id': systemId }));
    const [h1, again, h2] = [on('h1'), on('h1'), on('h2')];
    const id = derivedEndpointId('h1', 'c0ffee', 'eth1');
    assert.deepEqual([...h1.keys()], [id]);
    assert.deepEqual([...again.keys()], [id], 'stable');
    assert.notEqual([...h2.keys()][0], id, 'unique across hosts');
    assert.notEqual(derivedEndpointId('h1', 'c0ffee', 'eth2'), id);
    assert.match(id, /^ovs-[0-9a-f]{24}$/);
    assert.equal(h1.get(id)!.derivedId, true);
    assert.equal(h1.get(id)!.kind, 'container');
    assert.equal(h1.get(id)!.mac, null);
  });

  it('says why every other workload interface on br-int cannot be bound, and leaves infrastructure ports alone', () => {
    const view = viewOf(
      [
        iface(1, 'br-int', 65534, {}, 'internal'),
        iface(2, 'vx1', 10, { 'plexus-peer': 'h2' }, 'vxlan'),
        iface(3, 'patch-ex', 11, {}, 'patch'),
        iface(4, 'plain', 7, {}),
        iface(5, 'docker-no-net', 8, { container_id: 'c1', container_iface: 'eth0' }),
        iface(6, 'net-no-name', 9, { 'plexus-network': 'DockerSN' }),
        iface(7, 'bad-mac', 12, { 'iface-id': 'e7', 'attached-mac': 'not-a-mac' }),
        iface(8, 'failed', -1, { 'iface-id': 'e8' }),
        iface(9, 'pending', null, {}),
        iface(10, 'first', 13, { 'iface-id': 'dup' }),
        iface(11, 'second', 14, { 'iface-id': 'dup' }),
        iface(12, 'good', 15, { 'iface-id': 'ok', 'attached-mac': '02:00:00:00:00:01' }),
      ],
      [iface(20, 'elsewhere', 3, {})],
      { 'system-id': 'h1' },
    );
    const a = readAttachments(view);
    assert.deepEqual([...a.keys()].sort(), ['dup', 'ok']);
    const reasons = new Map(readUnbindable(view, a).map((u) => [u.ifaceName, u.reason]));
    assert.deepEqual([...reasons.keys()], ['plain', 'docker-no-net', 'net-no-name', 'bad-mac', 'failed', 'second']);
    assert.match(reasons.get('plain')!, /no external_ids:iface-id .*no plexus-network/);
    assert.match(reasons.get('docker-no-net')!, /no plexus-network/);
    assert.match(reasons.get('net-no-name')!, /neither iface-id nor container_id \+ container_iface/);
    assert.match(reasons.get('bad-mac')!, /attached-mac "not-a-mac" is not a MAC address/);
    assert.match(reasons.get('failed')!, /could not add the interface/);
    assert.match(reasons.get('second')!, /endpoint dup is already attached on this host by interface first/);
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
