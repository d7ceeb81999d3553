import assert from 'node:assert/strict';
import { patchPortName, patchPortsOf, peerPortName, PHYSNET_KEY, planPatchPorts, readBridgeMappings } from '../../../src/southbound/bridge-mappings';
import type { OvsBridge, OvsInterface, OvsPort, OvsView } from '../../../src/southbound/ovs-view';

const U = (n: number): string => `00000000-0000-0000-0000-${n.toString().padStart(12, '0')}`;

function bridgeRow(uuid: string, name: string, ports: string[]): OvsBridge {
  return { uuid, name, datapathId: null, datapathType: 'netdev', failMode: null, protocols: [], controllers: [], ports, otherConfig: {} };
}

/** br-int and br-ex; with `patched`, the pair for physnet1 as Plexus makes it. */
function hostView(patched: boolean, peerOnInt = peerPortName('physnet1')): OvsView {
  const ports: OvsPort[] = [];
  const ifaces: OvsInterface[] = [];
  if (patched) {
    ports.push({ uuid: U(20), name: patchPortName('physnet1'), interfaces: [U(30)], externalIds: { [PHYSNET_KEY]: 'physnet1' } });
    ifaces.push({ uuid: U(30), name: patchPortName('physnet1'), type: 'patch', options: { peer: peerOnInt }, externalIds: { [PHYSNET_KEY]: 'physnet1' }, ofport: 7, error: null });
    ports.push({ uuid: U(21), name: peerPortName('physnet1'), interfaces: [U(31)], externalIds: { [PHYSNET_KEY]: 'physnet1' } });
    ifaces.push({ uuid: U(31), name: peerPortName('physnet1'), type: 'patch', options: { peer: patchPortName('physnet1') }, externalIds: { [PHYSNET_KEY]: 'physnet1' }, ofport: 1, error: null });
  }
  const int = bridgeRow(U(2), 'br-int', patched ? [U(20)] : []);
  const ex = bridgeRow(U(3), 'br-ex', patched ? [U(21)] : []);
  return {
    root: { uuid: U(1), externalIds: {}, ovsVersion: '3.1.0', bridges: [U(2), U(3)], managerOptions: [] },
    bridges: new Map([[int.uuid, int], [ex.uuid, ex]]),
    ports: new Map(ports.map((p) => [p.uuid, p])),
    interfaces: new Map(ifaces.map((i) => [i.uuid, i])),
    controllers: new Map(),
    managers: new Map(),
  };
}

describe('bridge mappings (external networks)', () => {
  it('reads physnet:bridge pairs and names every entry it refuses', () => {
    const r = readBridgeMappings({ 'plexus-bridge-mappings': 'physnet1:br-ex, physnet2:br-ex2,bad,physnet1:br-other,p3:br-int' });
    assert.deepEqual([...r.mappings], [['physnet1', 'br-ex'], ['physnet2', 'br-ex2']]);
    assert.equal(r.problems.length, 3);
    assert.match(r.problems[0]!, /"bad" is not <physnet>:<bridge>/);
    assert.match(r.problems[1]!, /maps "physnet1" twice; the first \(br-ex\)/);
    assert.match(r.problems[2]!, /to br-int, the integration bridge/);
    assert.equal(readBridgeMappings({}).mappings.size, 0);
  });

  it('plans a patch pair br-int ⇄ br-ex, marked plexus-physnet, and nothing once it is there', () => {
    const { ops, problems } = planPatchPorts(hostView(false), new Map([['physnet1', 'br-ex']]));
    assert.deepEqual(problems, []);
    const inserts = ops.filter((o) => o.op === 'insert' && o.table === 'Interface') as { row: Record<string, unknown> }[];
    assert.deepEqual(inserts.map((o) => o.row['name']).sort(), [patchPortName('physnet1'), peerPortName('physnet1')].sort());
    assert.deepEqual(inserts.map((o) => JSON.stringify(o.row['options'])).sort(), [
      JSON.stringify(['map', [['peer', patchPortName('physnet1')]]]),
      JSON.stringify(['map', [['peer', peerPortName('physnet1')]]]),
    ].sort());
    const targets = ops.filter((o) => o.op === 'mutate' && o.table === 'Bridge').map((o) => JSON.stringify((o as { where: unknown }).where));
    assert.equal(targets.length, 2);
    assert.ok(targets.some((t) => t.includes(U(2))) && targets.some((t) => t.includes(U(3))), 'one port on each bridge');
    assert.deepEqual(planPatchPorts(hostView(true), new Map([['physnet1', 'br-ex']])).ops, []);
    assert.deepEqual([...patchPortsOf(hostView(true))], [['physnet1', 7]]);
  });

  it('repairs a wrong peer, removes the pair of a mapping that is gone, and names a missing bridge', () => {
    const fixed = planPatchPorts(hostView(true, 'elsewhere'), new Map([['physnet1', 'br-ex']])).ops;
    assert.equal(fixed.length, 1);
    assert.equal(fixed[0]!.op, 'update');
    const gone = planPatchPorts(hostView(true), new Map()).ops;
    assert.equal(gone.filter((o) => o.op === 'mutate').length, 2, 'its port deleted from both bridges');
    const missing = planPatchPorts(hostView(false), new Map([['physnet9', 'br-none']]));
    assert.deepEqual(missing.ops, []);
    assert.match(missing.problems[0]!, /bridge br-none of plexus-bridge-mappings physnet9:br-none does not exist/);
  });
});
