/** The short stored form of endpoints and bindings: decoding gives back the record, byte for byte as JSON; old records read as they are. */
import assert from 'node:assert/strict';
import type { Binding, Endpoint } from '../../../src/store/model';
import { decodeBinding, decodeEndpoint, encodeBinding, encodeEndpoint } from '../../../src/store/stored-form';

const NET = '10b22414-2ec2-43ce-9aa7-d89d8aec4a52';
const ID = '43f3e5ef-67ff-4eb8-b9c6-f11bea3b2612';

/** What the previous version's EndpointStore.create wrote. */
const created: Endpoint = {
  id: ID,
  name: 'ep-0',
  network: NET,
  mac: 'fa:01:ce:ba:91:29',
  ips: ['10.0.0.2'],
  kind: 'container',
  labels: {},
  securityGroups: [],
  createdAt: '2026-12-03T00:14:42.888Z',
  updatedAt: '2026-12-03T00:14:42.888Z',
};

function roundTripEndpoint(e: Endpoint): Endpoint {
  return decodeEndpoint(e.network, e.id, encodeEndpoint(e));
}

function roundTripBinding(b: Binding): Binding {
  return decodeBinding(b.endpoint, encodeBinding(b));
}

describe('stored form of endpoints', () => {
  const shapes: [string, Endpoint][] = [
    ['as created, no name, groups or labels', { ...created, name: '', kind: 'other', ips: [] }],
    ['as created', created],
    ['with everything', { ...created, ips: ['10.0.0.2', '2001:db8::2'], labels: { app: 'web', tier: 'a/b "q"' }, securityGroups: ['sg-1', 'sg-2'], qosPolicy: 'q-1', kind: 'vm' }],
    ['updated later', { ...created, updatedAt: '2026-12-03T01:00:00.000Z' }],
    ['a QoS policy removed (null)', { ...created, qosPolicy: null }],
    // A patch that adds qosPolicy appends it after updatedAt ({...cur, qosPolicy, updatedAt}).
    ['a QoS policy added by a patch', { ...created, updatedAt: '2026-12-03T01:00:00.000Z', qosPolicy: 'q-2' }],
    ['timestamps not in toISOString form', { ...created, createdAt: '2026-12-03T00:14:42Z', updatedAt: 'yesterday' }],
    ['a MAC not in canonical form', { ...created, mac: 'FA-01-CE-BA-91-29' }],
  ];
  for (const [what, e] of shapes) {
    it(`gives back the record ${what}, key order included`, () => {
      assert.equal(JSON.stringify(roundTripEndpoint(e)), JSON.stringify(e));
    });
  }

  it('stores neither id nor network (the key has them) nor defaults', () => {
    const text = encodeEndpoint({ ...created, name: '', kind: 'other' });
    assert.equal(text, '{"m":"fa01ceba9129","i":["10.0.0.2"],"c":1796256882888}');
    assert.ok(!text.includes(ID) && !text.includes(NET));
  });

  it('is less than half the previous form', () => {
    assert.ok(encodeEndpoint(created).length * 2 < JSON.stringify(created).length, encodeEndpoint(created));
  });

  it('reads a record the previous version wrote as it is', () => {
    const old = JSON.stringify({ ...created, qosPolicy: 'q-1' });
    assert.equal(JSON.stringify(decodeEndpoint(NET, ID, old)), old);
  });

  it('refuses a value that is not a JSON object', () => {
    assert.throws(() => decodeEndpoint(NET, ID, '"x"'), TypeError);
    assert.throws(() => decodeEndpoint(NET, ID, '{'), SyntaxError);
  });
});

describe('stored form of bindings', () => {
  const bound: Binding = {
    endpoint: ID,
    host: 'host-1',
    ofport: 5,
    ifaceName: 'veth5',
    status: 'bound',
    history: [{ status: 'bound', at: '2026-12-03T00:14:42.896Z', host: 'host-1' }],
    updatedAt: '2026-12-03T00:14:42.896Z',
  };
  const installed: Binding = { ...bound, status: 'installed', history: [...bound.history, { status: 'installed', at: '2026-12-03T00:14:42.908Z', host: 'host-1' }], updatedAt: '2026-12-03T00:14:42.908Z' };
  const moved: Binding = {
    ...installed,
    host: 'host-2',
    ofport: 9,
    status: 'bound',
    history: [...installed.history, { status: 'down', at: '2026-12-03T00:15:00.000Z', host: 'host-1' }, { status: 'bound', at: '2026-12-03T00:14:59.990Z', host: 'host-2' }],
    updatedAt: '2026-12-03T00:14:59.990Z',
  };
  const shapes: [string, Binding][] = [
    ['bound', bound],
    ['installed', installed],
    ['moved to another host (an earlier clock on the second)', moved],
    ['down with no port', { ...installed, ofport: null, ifaceName: null, status: 'down', history: [...installed.history, { status: 'down', at: '2026-12-03T00:16:00.000Z', host: 'host-1' }], updatedAt: '2026-12-03T00:16:00.000Z' }],
    ['with no history and no host', { endpoint: ID, host: null, ofport: null, ifaceName: null, status: 'pending', history: [], updatedAt: '2026-12-03T00:16:00.000Z' }],
    ['whose status and time are not the last entry', { ...installed, status: 'down', updatedAt: '2026-12-03T00:17:00.000Z' }],
    ['with a host null in its history', { ...installed, history: [{ status: 'pending', at: '2026-12-03T00:14:40.000Z', host: null }, ...installed.history] }],
    ['with a time not in toISOString form in its history', { ...installed, history: [{ status: 'bound', at: 'then', host: 'host-1' }, ...installed.history] }],
  ];
  for (const [what, b] of shapes) {
    it(`gives back a binding ${what}, key order included`, () => {
      assert.equal(JSON.stringify(roundTripBinding(b)), JSON.stringify(b));
    });
  }

  it('stores the status history once, times after the first as deltas', () => {
    assert.equal(encodeBinding(installed), '{"h":"host-1","p":5,"f":"veth5","t":[["bound",1796256882896],["installed",12]]}');
  });

  it('reads a binding the previous version wrote as it is', () => {
    const old = JSON.stringify(installed);
    assert.equal(JSON.stringify(decodeBinding(ID, old)), old);
  });
});
