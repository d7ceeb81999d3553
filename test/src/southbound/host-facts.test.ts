import assert from 'node:assert/strict';
import { readHostFacts } from '../../../src/southbound/host-facts';
import type { OvsView } from '../../../src/southbound/ovs-view';
import { viewOf } from '../../support/ovs-views';

describe('readHostFacts', () => {
  it('reads system-id, encap IP and datapath type', () => {
    const f = readHostFacts(viewOf([], [], { 'system-id': 'h1', 'plexus-encap-ip': ' 10.0.0.21 ', 'plexus-bridge-datapath-type': 'netdev' }));
    assert.deepEqual(f, { systemId: 'h1', encapIp: '10.0.0.21', datapathType: 'netdev', ovsVersion: '3.1.0', problems: [] });
    assert.equal(readHostFacts(viewOf([], [], { 'system-id': 'h1', 'plexus-encap-ip': 'fd00::1' })).datapathType, 'system');
  });

  it('names every missing or malformed key and guesses nothing', () => {
    const none = readHostFacts(viewOf([], [], {}));
    assert.equal(none.systemId, null);
    assert.equal(none.encapIp, null);
    assert.deepEqual(none.problems, [
      'external_ids:system-id is not set on the Open_vSwitch row',
      'external_ids:plexus-encap-ip is not set (the tunnel endpoint IP of this host)',
    ]);
    const bad = readHostFacts(viewOf([], [], { 'system-id': 'a/b', 'plexus-encap-ip': '10.0.0.300', 'plexus-bridge-datapath-type': 'kernel' }));
    assert.equal(bad.systemId, null);
    assert.equal(bad.encapIp, null);
    assert.equal(bad.datapathType, 'system');
    assert.equal(bad.problems.length, 3);
    assert.match(bad.problems[0]!, /system-id "a\/b" has characters/);
    assert.match(bad.problems[1]!, /"10\.0\.0\.300" is not an IP address/);
    assert.match(bad.problems[2]!, /"kernel" is not one of system, netdev, dummy/);
    const empty: OvsView = { ...viewOf([]), root: null };
    assert.match(readHostFacts(empty).problems[0]!, /Open_vSwitch table has no row/);
  });
});
