import assert from 'node:assert/strict';
import { cookie, FEATURE } from '../../../src/pipeline/cookies';
import { m, REG } from '../../../src/pipeline/fields';
import { applyThenGoto, buildFlow, type Flow } from '../../../src/pipeline/flow';
import { CLASSIFY, OUTPUT, PORT_SECURITY } from '../../../src/pipeline/tables';
import { DesiredFlows, keyed } from '../../../src/reconciler/desired-flows';

/** The two flows every local endpoint has that depend on its port alone: classify in_port, output reg2. */
function portFlows(endpoint: string, ofport: number, vni: number): Flow[] {
  const c = cookie(FEATURE.PORT, endpoint);
  return [
    buildFlow(CLASSIFY, 'port', [m('in_port', ofport)], applyThenGoto([{ type: 'set_field', field: REG.NETWORK, value: vni }], PORT_SECURITY), c),
    buildFlow(OUTPUT, 'port', [m(REG.OUT_PORT, ofport)], applyThenGoto([{ type: 'output', port: ofport }]), c),
  ];
}

const [classify5] = portFlows('x', 5, 1).map(keyed);

describe('desired flows: keys shared between partitions', () => {
  it('keeps a key wanted by two partitions until neither wants it', () => {
    const d = new DesiredFlows();
    d.setPartition('endpoint:old', portFlows('old', 5, 100));
    // The port is reused by a new endpoint while the old binding is still being taken down.
    d.setPartition('endpoint:new', portFlows('new', 5, 200));
    assert.equal(d.refCount(classify5!.key), 2);
    assert.deepEqual(d.claimants(classify5!.key), ['endpoint:old', 'endpoint:new']);
    // A full recompile sets the old partition again after the new one, unchanged: the new one keeps the key.
    assert.deepEqual([...d.setPartition('endpoint:old', portFlows('old', 5, 100))], []);
    assert.equal(d.flows.get(classify5!.key)!.cookie, cookie(FEATURE.PORT, 'new'));
    // The old binding goes: nothing to send, the key stays with the new endpoint.
    assert.deepEqual([...d.setPartition('endpoint:old', [])], []);
    assert.equal(d.refCount(classify5!.key), 1);
    assert.equal(d.flows.get(classify5!.key)!.cookie, cookie(FEATURE.PORT, 'new'));
    assert.equal(d.size, 2);
    // The last claim goes: now the key is deleted.
    assert.deepEqual([...d.setPartition('endpoint:new', [])].sort(), portFlows('new', 5, 200).map((f) => keyed(f).key).sort());
    assert.equal(d.size, 0);
    assert.equal(d.refCount(classify5!.key), 0);
  });

  it('gives a shared key the flow of the newest change and falls back when it is withdrawn', () => {
    const d = new DesiredFlows();
    d.setPartition('a', portFlows('a', 5, 100));
    d.setPartition('b', portFlows('b', 5, 200));
    assert.equal(d.flows.get(classify5!.key)!.cookie, cookie(FEATURE.PORT, 'b'));
    // a changes its flow (another network): a's becomes the key's flow.
    const changed = d.setPartition('a', portFlows('a', 5, 300));
    assert.ok(changed.has(classify5!.key));
    assert.equal(d.flows.get(classify5!.key)!.cookie, cookie(FEATURE.PORT, 'a'));
    // a withdraws: b's claim is what the switch must have again.
    assert.ok(d.setPartition('a', []).has(classify5!.key));
    assert.equal(d.flows.get(classify5!.key)!.cookie, cookie(FEATURE.PORT, 'b'));
  });

  it('reports only keys whose desired flow changed', () => {
    const d = new DesiredFlows();
    assert.equal(d.setPartition('p', portFlows('p', 1, 7)).size, 2);
    assert.equal(d.setPartition('p', portFlows('p', 1, 7)).size, 0);
    // Same keys, new content (network moved): both reported.
    assert.equal(d.setPartition('p', portFlows('p', 1, 8)).size, 1, 'only the classify flow carries the VNI');
    assert.equal(d.setPartition('p', portFlows('p', 2, 8)).size, 4, 'two keys go, two come');
  });
});
