import assert from 'node:assert/strict';
import { errorLine, planHostConfig, planInstalledMark, planInterfaceMarks, PEER_KEY, TUNNEL_PORT, type DesiredHostConfig } from '../../../src/southbound/host-plan';
import type { OvsBridge, OvsController, OvsInterface, OvsPort, OvsView } from '../../../src/southbound/ovs-view';

const U = (n: number): string => `00000000-0000-0000-0000-${n.toString().padStart(12, '0')}`;

const desired: DesiredHostConfig = {
  datapathType: 'netdev',
  localIp: '10.0.0.1',
  controllers: ['tcp:127.0.0.1:6653'],
  retireLegacyTunnels: false,
  maxBackoffMs: 1000,
  inactivityProbeMs: 5000,
};

/** A host database exactly as `desired` wants it. */
function configuredView(): {
  root: OvsView['root'];
  bridge: OvsBridge;
  ports: OvsPort[];
  ifaces: OvsInterface[];
  controller: OvsController;
} {
  const controller: OvsController = {
    uuid: U(10), target: 'tcp:127.0.0.1:6653', isConnected: true, role: 'master',
    connectionMode: 'out-of-band', inactivityProbe: 5000, maxBackoff: 1000,
  };
  const ports: OvsPort[] = [{ uuid: U(20), name: 'br-int', interfaces: [U(30)], externalIds: {} }];
  const ifaces: OvsInterface[] = [{ uuid: U(30), name: 'br-int', type: 'internal', options: {}, externalIds: {}, ofport: 65534, error: null }];
  ports.push({ uuid: U(21), name: TUNNEL_PORT, interfaces: [U(31)], externalIds: {} });
  ifaces.push({ uuid: U(31), name: TUNNEL_PORT, type: 'vxlan', options: { key: 'flow', remote_ip: 'flow', local_ip: '10.0.0.1', tos: 'inherit' }, externalIds: {}, ofport: 1, error: null });
  const bridge: OvsBridge = {
    uuid: U(2), name: 'br-int', datapathId: '0000aabbccddeeff', datapathType: 'netdev', failMode: 'secure',
    protocols: ['OpenFlow13'], controllers: [U(10)], ports: ports.map((p) => p.uuid), otherConfig: { 'disable-in-band': 'true' },
  };
  return { root: { uuid: U(1), externalIds: {}, ovsVersion: '3.1.0', bridges: [U(2)], managerOptions: [] }, bridge, ports, ifaces, controller };
}

function view(parts: ReturnType<typeof configuredView>): OvsView {
  return {
    root: parts.root,
    bridges: new Map([[parts.bridge.uuid, parts.bridge]]),
    ports: new Map(parts.ports.map((p) => [p.uuid, p])),
    interfaces: new Map(parts.ifaces.map((i) => [i.uuid, i])),
    controllers: new Map([[parts.controller.uuid, parts.controller]]),
    managers: new Map(),
  };
}

describe('planHostConfig', () => {
  it('plans nothing for a host that is already right (no churn on re-adoption)', () => {
    assert.deepEqual(planHostConfig(view(configuredView()), desired), []);
  });

  it('adds tos=inherit to a VXLAN port planned before QoS, once', () => {
    const parts = configuredView();
    parts.ifaces[1] = { ...parts.ifaces[1]!, options: { key: 'flow', remote_ip: 'flow', local_ip: '10.0.0.1' } };
    const ops = planHostConfig(view(parts), desired).map((o) => o as unknown as Record<string, unknown>);
    assert.equal(ops.length, 1);
    assert.equal(ops[0]!['op'], 'update');
    assert.equal(ops[0]!['table'], 'Interface');
    assert.match(JSON.stringify(ops[0]!['row']), /"tos","inherit"/);
    parts.ifaces[1] = { ...parts.ifaces[1]!, options: { key: 'flow', remote_ip: 'flow', local_ip: '10.0.0.1', tos: 'inherit' } };
    assert.deepEqual(planHostConfig(view(parts), desired), []);
  });

  it('creates br-int, its controller and one flow-based VXLAN port on a fresh host', () => {
    const fresh: OvsView = {
      root: { uuid: U(1), externalIds: {}, ovsVersion: '3.1.0', bridges: [], managerOptions: [] },
      bridges: new Map(), ports: new Map(), interfaces: new Map(), controllers: new Map(), managers: new Map(),
    };
    const ops = planHostConfig(fresh, desired).map((o) => o as unknown as Record<string, unknown>);
    const bridge = ops.find((o) => o['table'] === 'Bridge') as { op: string; row: Record<string, unknown> };
    assert.equal(bridge.op, 'insert');
    assert.equal(bridge.row['fail_mode'], 'secure');
    assert.deepEqual(bridge.row['protocols'], ['set', ['OpenFlow13']]);
    assert.equal(bridge.row['datapath_type'], 'netdev');
    const ctl = ops.find((o) => o['table'] === 'Controller') as { row: Record<string, unknown> };
    assert.equal(ctl.row['target'], 'tcp:127.0.0.1:6653');
    assert.equal(ctl.row['connection_mode'], 'out-of-band');
    const tunnels = ops.filter((o) => o['table'] === 'Interface' && (o['row'] as Record<string, unknown>)['type'] === 'vxlan');
    assert.deepEqual(
      tunnels.map((t) => (t['row'] as { options: unknown }).options),
      [['map', [['key', 'flow'], ['local_ip', '10.0.0.1'], ['remote_ip', 'flow'], ['tos', 'inherit']]]],
    );
    const mutateRoot = ops.find((o) => o['table'] === 'Open_vSwitch') as { op: string };
    assert.equal(mutateRoot.op, 'mutate');
  });

  it('plans the same nothing whatever other hosts exist: a host joining changes no other host\'s OVSDB', () => {
    // The plan takes no peer list at all; the view alone decides.
    assert.deepEqual(planHostConfig(view(configuredView()), { ...desired }), []);
  });

  it('updates only the options of the tunnel when the host\'s encap IP changes', () => {
    assert.deepEqual(planHostConfig(view(configuredView()), { ...desired, localIp: '10.0.0.9' }), [
      {
        op: 'update', table: 'Interface', where: [['_uuid', '==', ['uuid', U(31)]]],
        row: { type: 'vxlan', options: ['map', [['key', 'flow'], ['local_ip', '10.0.0.9'], ['remote_ip', 'flow'], ['tos', 'inherit']]] },
      },
    ]);
  });

  it('migrates per-peer ports: adds plexus-vxlan beside them, and removes them only once retired', () => {
    const parts = configuredView();
    const legacyPort: OvsPort = { uuid: U(25), name: 'vxabc', interfaces: [U(35)], externalIds: { [PEER_KEY]: 'h2' } };
    const legacyIface: OvsInterface = {
      uuid: U(35), name: 'vxabc', type: 'vxlan', options: { key: 'flow', local_ip: '10.0.0.1', remote_ip: '10.0.0.2' }, externalIds: { [PEER_KEY]: 'h2' }, ofport: 7, error: null,
    };
    const old = { ...parts, ports: [parts.ports[0]!, legacyPort], ifaces: [parts.ifaces[0]!, legacyIface], bridge: { ...parts.bridge, ports: [parts.ports[0]!.uuid, legacyPort.uuid] } };
    const adding = planHostConfig(view(old), desired) as unknown as Record<string, unknown>[];
    assert.deepEqual(adding.map((o) => `${String(o['op'])} ${String(o['table'])}`), ['insert Interface', 'insert Port', 'mutate Bridge']);
    assert.ok(!JSON.stringify(adding).includes(U(25)), 'the per-peer port stays while flows may use it');
    const both = { ...old, ports: [...parts.ports, legacyPort], ifaces: [...parts.ifaces, legacyIface], bridge: { ...parts.bridge, ports: [...parts.bridge.ports, legacyPort.uuid] } };
    assert.deepEqual(planHostConfig(view(both), desired), []);
    assert.deepEqual(planHostConfig(view(both), { ...desired, retireLegacyTunnels: true }), [
      { op: 'mutate', table: 'Bridge', where: [['_uuid', '==', ['uuid', U(2)]]], mutations: [['ports', 'delete', ['set', [['uuid', U(25)]]]]] },
    ]);
  });

  it('fixes a bridge setting someone changed, and nothing else', () => {
    const parts = configuredView();
    const ops = planHostConfig(view({ ...parts, bridge: { ...parts.bridge, failMode: 'standalone' } }), desired);
    assert.deepEqual(ops, [{ op: 'update', table: 'Bridge', where: [['_uuid', '==', ['uuid', U(2)]]], row: { fail_mode: 'secure' } }]);
  });

  it('replaces the controller when the target changes', () => {
    const ops = planHostConfig(view(configuredView()), { ...desired, controllers: ['tcp:127.0.0.2:6653'] });
    assert.equal(ops.length, 2);
    assert.equal(ops[0]!.op, 'insert');
    assert.deepEqual(ops[1], {
      op: 'update', table: 'Bridge', where: [['_uuid', '==', ['uuid', U(2)]]], row: { controller: ['set', [['named-uuid', 'ctl0']]] },
    });
  });

  it('plans the installed mark on the interface once, as a mutate of its external_ids', () => {
    assert.deepEqual(planInstalledMark({ ifaceUuid: U(40), installedMark: false }, 1767225600123), [
      {
        op: 'mutate', table: 'Interface', where: [['_uuid', '==', ['uuid', U(40)]]],
        mutations: [
          ['external_ids', 'delete', ['set', ['plexus-installed', 'plexus-installed-ts']]],
          ['external_ids', 'insert', ['map', [['plexus-installed', 'true'], ['plexus-installed-ts', '1767225600123']]]],
        ],
      },
    ]);
    assert.deepEqual(planInstalledMark({ ifaceUuid: U(40), installedMark: true }, 1767225600123), []);
  });

  it('plans the interface write-back as one mutate: sets what differs, removes what must go, leaves other keys alone', () => {
    const where = [['_uuid', '==', ['uuid', U(41)]]];
    const ids = { 'iface-id': 'e1', 'plexus-error': 'old reason', 'plexus-installed': 'true', 'plexus-installed-ts': '1', 'plexus-mac': '02:00:00:00:00:09' };
    const ops = planInterfaceMarks(
      { ifaceUuid: U(41), externalIds: ids },
      { 'plexus-error': null, 'plexus-endpoint': 'e1', 'plexus-mac': '02:00:00:00:00:01', 'plexus-installed': null, 'plexus-installed-ts': null },
    );
    assert.deepEqual(ops, [
      {
        op: 'mutate', table: 'Interface', where,
        mutations: [
          ['external_ids', 'delete', ['set', ['plexus-error', 'plexus-installed', 'plexus-installed-ts', 'plexus-mac']]],
          ['external_ids', 'insert', ['map', [['plexus-endpoint', 'e1'], ['plexus-mac', '02:00:00:00:00:01']]]],
        ],
      },
    ]);
  });

  it('plans nothing for an interface already marked as wanted (a restarted master writes nothing)', () => {
    const ids = { 'iface-id': 'e1', 'plexus-endpoint': 'e1', 'plexus-mac': '02:00:00:00:00:01' };
    assert.deepEqual(planInterfaceMarks({ ifaceUuid: U(41), externalIds: ids }, { 'plexus-error': null, 'plexus-endpoint': 'e1', 'plexus-mac': '02:00:00:00:00:01', 'plexus-installed-ts': null }), []);
    assert.deepEqual(planInterfaceMarks({ ifaceUuid: U(41), externalIds: { 'plexus-error': 'network "x" does not exist' } }, { 'plexus-error': 'network "x"\n  does not exist' }), []);
    assert.deepEqual(planInterfaceMarks({ ifaceUuid: U(41), externalIds: {} }, {}), []);
  });

  it('writes plexus-error as one bounded line, only inserting when the key is absent', () => {
    const ops = planInterfaceMarks({ ifaceUuid: U(42), externalIds: {} }, { 'plexus-error': `bad\nthing ${'x'.repeat(400)}` });
    assert.equal(ops.length, 1);
    const mutations = (ops[0] as unknown as { mutations: unknown[][] }).mutations;
    assert.equal(mutations.length, 1);
    assert.equal(mutations[0]![1], 'insert');
    const line = ((mutations[0]![2] as [string, [string, string][]])[1][0]!)[1];
    assert.equal(line, errorLine(`bad thing ${'x'.repeat(400)}`));
    assert.ok(line.length <= 300 && !line.includes('\n') && line.startsWith('bad thing x'));
  });
});
