/**
 * The incremental host pass (host-pass.ts, ovs-view.ts, attachments.ts): a pass
 * after an OVSDB update re-reads what the update changed and must come to what
 * a pass from scratch comes to — the same view, the same attachments and
 * unbindable interfaces, and host-config planning skipped only when a full
 * plan would plan nothing. Pure: rows as the replica holds them.
 */
import assert from 'node:assert/strict';
import { map } from '../../../protocols/ovsdb/rfc7047';
import type { Row } from '../../../protocols/ovsdb/rfc7047';
import { readAttachments, readUnbindable } from '../../../src/southbound/attachments';
import { PHYSNET_KEY, planPatchPorts, readBridgeMappings } from '../../../src/southbound/bridge-mappings';
import { configPlannedFrom, sameConfigInputs } from '../../../src/southbound/host-pass';
import { PEER_KEY, planHostConfig, type DesiredHostConfig } from '../../../src/southbound/host-plan';
import { viewFromRows, type OvsView, type TableRows } from '../../../src/southbound/ovs-view';
import { HostRows, U } from '../../support/ovs-rows';

const desired: DesiredHostConfig = {
  datapathType: 'netdev', localIp: '10.0.0.1', controllers: ['tcp:127.0.0.1:6653'], retireLegacyTunnels: false, maxBackoffMs: 1000, inactivityProbeMs: 5000,
};

/** Every row copied into a new object: a view of them shares nothing with earlier views (a pass from scratch). */
function fresh(tables: TableRows): TableRows {
  return new Map([...tables].map(([t, rows]) => [t, new Map([...rows].map(([u, r]): [string, Row] => [u, { ...r }]))]));
}

const plain = (v: OvsView): unknown => JSON.parse(JSON.stringify({ ...v, bridges: [...v.bridges], ports: [...v.ports], interfaces: [...v.interfaces], controllers: [...v.controllers], managers: [...v.managers] }));

/** Host config a full pass plans over the view: br-int and controllers, then external bridges. */
function fullPlan(view: OvsView, want: DesiredHostConfig): unknown[] {
  return [...planHostConfig(view, want), ...planPatchPorts(view, readBridgeMappings(view.root?.externalIds ?? {}).mappings).ops];
}

const workload = (n: number, ofport: number | null): Row => ({
  external_ids: map({ 'iface-id': `ep${n}`, 'attached-mac': `02:00:00:00:00:${n.toString(16).padStart(2, '0')}` }),
  ...(ofport === null ? {} : { ofport }),
});

describe('incremental host pass', () => {
  it('keeps unchanged tables and rows of the previous view, and gives what a view from scratch gives', () => {
    const h = HostRows.configured();
    const a = h.addPort(U(2), 'tap-a', workload(1, 5));
    const first = viewFromRows(h.rows());
    const same = viewFromRows(h.rows(), first);
    for (const t of ['bridges', 'ports', 'interfaces', 'controllers', 'managers'] as const) assert.equal(same[t], first[t], `${t}: unchanged, the same map`);
    assert.equal(same.root, first.root);

    h.change('Interface', a, { ofport: 9 });
    const second = viewFromRows(h.rows(), same);
    assert.notEqual(second.interfaces, first.interfaces, 'a changed row: a new map');
    assert.equal(second.ports, first.ports, 'ports did not change');
    assert.equal(second.interfaces.get(a)?.ofport, 9);
    assert.deepEqual(plain(second), plain(viewFromRows(fresh(h.rows()))));

    const b = h.addPort(U(2), 'tap-b', workload(2, 6));
    h.removePort(U(2), a);
    const third = viewFromRows(h.rows(), second);
    assert.deepEqual(plain(third), plain(viewFromRows(fresh(h.rows()))));
    assert.equal(third.interfaces.has(a), false, 'a deleted row is gone');
    assert.equal(third.interfaces.get(b)?.ofport, 6);

    h.removePort(U(2), b); // a delete alone: every row left is unchanged
    const fourth = viewFromRows(h.rows(), third);
    assert.deepEqual(plain(fourth), plain(viewFromRows(fresh(h.rows()))));
    assert.equal(fourth.interfaces.has(b), false);
  });

  it('reads attachments and unbindable interfaces as from scratch, keeping the objects of unchanged interfaces', () => {
    const h = HostRows.configured('h1');
    const ifs = [1, 2, 3].map((n) => h.addPort(U(2), `tap-${n}`, workload(n, 10 + n)));
    const docker = h.addPort(U(2), 'veth-d', { ofport: 20, external_ids: map({ container_id: 'c1', container_iface: 'eth0', 'plexus-network': 'N' }) });
    let view = viewFromRows(h.rows());
    const before = readAttachments(view);
    const check = (step: string): void => {
      const scratch = viewFromRows(fresh(h.rows()));
      const now = readAttachments(view);
      assert.deepEqual([...now].sort(), [...readAttachments(scratch)].sort(), `${step}: attachments`);
      assert.deepEqual(readUnbindable(view, now), readUnbindable(scratch, readAttachments(scratch)), `${step}: unbindable`);
    };

    h.change('Interface', ifs[1]!, { ofport: 30 });
    view = viewFromRows(h.rows(), view);
    check('one ofport changed');
    const after = readAttachments(view);
    assert.equal(after.get('ep1'), before.get('ep1'), 'an unchanged interface: the same Attachment');
    assert.notEqual(after.get('ep2'), before.get('ep2'));
    assert.equal(after.get('ep2')?.ofport, 30);

    h.setExternalIds(ifs[2]!, { 'iface-id': 'ep1', 'attached-mac': '02:00:00:00:00:09' }); // ep1 twice: the lower ofport keeps it
    view = viewFromRows(h.rows(), view);
    check('an iface-id given twice');
    assert.equal(readUnbindable(view, readAttachments(view)).length, 1);

    h.change('Interface', ifs[0]!, { ofport: 50 }); // now the other one holds ep1, though its row did not change
    view = viewFromRows(h.rows(), view);
    check('the duplicate moved');
    assert.equal(readAttachments(view).get('ep1')?.ifaceUuid, ifs[2]);

    const derived = [...readAttachments(view).values()].find((x) => x.derivedId)!;
    const root = [...h.rows().get('Open_vSwitch')!.keys()][0]!;
    h.change('Open_vSwitch', root, { external_ids: map({ 'system-id': 'h2', 'plexus-encap-ip': '10.0.0.1' }) });
    view = viewFromRows(h.rows(), view);
    check('the system-id changed (derived ids follow it)');
    assert.notEqual(readAttachments(view).get(derived.endpointId)?.ifaceUuid, docker, 'the derived id of h1 is gone');

    h.setExternalIds(ifs[1]!, { 'iface-id': 'ep2', 'attached-mac': 'nope' });
    view = viewFromRows(h.rows(), view);
    check('a malformed MAC');
    h.change('Interface', ifs[1]!, { ofport: -1, error: 'could not open network device' });
    view = viewFromRows(h.rows(), view);
    check('OVS could not add it');
  });

  it('skips host-config planning only while a full plan would plan nothing', () => {
    const h = HostRows.configured();
    const ex = h.addBridge('br-ex');
    const root = [...h.rows().get('Open_vSwitch')!.keys()][0]!;
    h.change('Open_vSwitch', root, { external_ids: map({ 'system-id': 'h1', 'plexus-encap-ip': '10.0.0.1', 'plexus-bridge-mappings': 'phys:br-ex' }) });
    const patch = h.addPort(U(2), 'plexus-patch-phys', { type: 'patch', options: map({ peer: 'plexus-int-phys' }), ofport: 2, external_ids: map({ [PHYSNET_KEY]: 'phys' }) }, { [PHYSNET_KEY]: 'phys' });
    h.addPort(ex, 'plexus-int-phys', { type: 'patch', options: map({ peer: 'plexus-patch-phys' }), ofport: 1, external_ids: map({ [PHYSNET_KEY]: 'phys' }) }, { [PHYSNET_KEY]: 'phys' });
    const vxlan = [...h.rows().get('Interface')!].find(([, r]) => r['name'] === 'plexus-vxlan')![0];
    const tap = h.addPort(U(2), 'tap-1', workload(1, null));
    let view = viewFromRows(h.rows());
    assert.deepEqual(fullPlan(view, desired), [], 'the host starts as Plexus wants it');
    let planned = configPlannedFrom('h1', view, desired);

    /**
     * One change, then: `skip` (planning skipped, and a full plan is indeed
     * empty), `plan` (not skipped, and a full plan has work a skip would have
     * missed) or `replan` (not skipped; nothing to do). Then, reverted where
     * needed, the host is as Plexus wants it and the next step compares with it.
     */
    const step = (name: string, change: () => void, outcome: 'skip' | 'plan' | 'replan', want: DesiredHostConfig = desired, revert?: () => void): void => {
      change();
      view = viewFromRows(h.rows(), view);
      assert.equal(sameConfigInputs(planned, view, want), outcome === 'skip', `${name}: ${outcome === 'skip' ? 'skipped' : 'planned'}`);
      const ops = fullPlan(view, want);
      if (outcome === 'plan') assert.notDeepEqual(ops, [], `${name}: a full plan has work`);
      else assert.deepEqual(ops, [], `${name}: a full plan plans nothing`);
      if (revert) {
        revert();
        view = viewFromRows(h.rows(), view);
      }
      assert.deepEqual(fullPlan(view, desired), [], `${name}: then as Plexus wants it`);
      planned = configPlannedFrom('h1', view, desired);
    };

    step('OVS numbered the workload interface', () => h.change('Interface', tap, { ofport: 7 }), 'skip');
    step('interface marks written on it', () => h.setExternalIds(tap, { 'iface-id': 'ep1', 'plexus-endpoint': 'ep1' }), 'skip');
    step('nothing changed', () => undefined, 'skip');
    const tunnelOptions = h.get('Interface', vxlan)!['options']!;
    step('the tunnel port lost its options', () => h.change('Interface', vxlan, { options: map({ key: 'flow' }) }), 'plan', desired, () => h.change('Interface', vxlan, { options: tunnelOptions }));
    step('the patch port lost its peer', () => h.change('Interface', patch, { options: map({}) }), 'plan', desired, () => h.change('Interface', patch, { options: map({ peer: 'plexus-int-phys' }) }));
    step('a controller was retuned by hand', () => h.change('Controller', U(3), { max_backoff: 8000 }), 'plan', desired, () => h.change('Controller', U(3), { max_backoff: 1000 }));
    step('a manager was retuned by hand', () => h.change('Manager', U(4), { inactivity_probe: 60000 }), 'plan', desired, () => h.change('Manager', U(4), { inactivity_probe: 5000 }));
    step('fail_mode changed', () => h.change('Bridge', U(2), { fail_mode: 'standalone' }), 'plan', desired, () => h.change('Bridge', U(2), { fail_mode: 'secure' }));
    step('the bridge mappings went', () => h.change('Open_vSwitch', root, { external_ids: map({ 'system-id': 'h1', 'plexus-encap-ip': '10.0.0.1' }) }), 'plan', desired, () =>
      h.change('Open_vSwitch', root, { external_ids: map({ 'system-id': 'h1', 'plexus-encap-ip': '10.0.0.1', 'plexus-bridge-mappings': 'phys:br-ex' }) }));
    let legacy = '';
    step('an earlier version left a per-peer port', () => (legacy = h.addPort(U(2), 'vx-h2', { type: 'vxlan', ofport: 3, external_ids: map({ [PEER_KEY]: 'h2' }) }, { [PEER_KEY]: 'h2' })), 'replan');
    step('the legacy port was renumbered', () => h.change('Interface', legacy, { ofport: 4 }), 'replan');
    step('the overlay retired legacy tunnels', () => undefined, 'plan', { ...desired, retireLegacyTunnels: true });
    step('the controller targets changed', () => undefined, 'plan', { ...desired, controllers: ['tcp:127.0.0.1:6653', 'tcp:127.0.0.2:6653'] });
    step('a workload attached (br-int ports changed)', () => h.addPort(U(2), 'tap-2', workload(2, 8)), 'replan');
    step('and was numbered', () => h.change('Interface', [...h.rows().get('Interface')!].find(([, r]) => r['name'] === 'tap-2')![0], { ofport: 9 }), 'skip');
  });
});
