import assert from 'node:assert/strict';
import { errorLine, planHostConfig, planInstalledMark, planInterfaceMarks, tunnelPortName, PEER_KEY, type DesiredHostConfig } from '../../../src/southbound/host-plan';
import type { OvsBridge, OvsController, OvsInterface, OvsPort, OvsView } from '../../../src/southbound/ovs-view';

const U = (n: number): string => `00000000-0000-0000-0000-${n.toString().padStart(12, '0')}`;

const desired: DesiredHostConfig = {
  datapathType: 'netdev',
  localIp: '10.0.0.1',
  controllers: ['tcp:127.0.0.1:6653'],
  tunnels: [
    { peer: 'h2', remoteIp: '10.0.0.2' },
    { peer: 'h3', remoteIp: '10.0.0.3' },
  ],
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
  desired.tunnels.forEach((t, i) => {
    ports.push({ uuid: U(21 + i), name: tunnelPortName(t.peer), interfaces: [U(31 + i)], externalIds: { [PEER_KEY]: t.peer } });
    ifaces.push({
      uuid: U(31 + i), name: tunnelPortName(t.peer), type: 'vxlan',
      options: { key: 'flow', local_ip: '10.0.0.1', remote_ip: t.remoteIp }, externalIds: { [PEER_KEY]: t.peer }, ofport: 1 + i, error: null,
    });
  });
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

  it('creates br-int, its controller and one tunnel per peer on a fresh host', () => {
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
      [
        ['map', [['key', 'flow'], ['local_ip', '10.0.0.1'], ['remote_ip', '10.0.0.2']]],
        ['map', [['key', 'flow'], ['local_ip', '10.0.0.1'], ['remote_ip', '10.0.0.3']]],
      ],
    );
    const mutateRoot = ops.find((o) => o['table'] === 'Open_vSwitch') as { op: string };
    assert.equal(mutateRoot.op, 'mutate');
  });

  it('removes only the tunnel of a peer that is gone', () => {
    const ops = planHostConfig(view(configuredView()), { ...desired, tunnels: [desired.tunnels[0]!] });
    assert.deepEqual(ops, [
      { op: 'mutate', table: 'Bridge', where: [['_uuid', '==', ['uuid', U(2)]]], mutations: [['ports', 'delete', ['set', [['uuid', U(22)]]]]] },
    ]);
  });

  it('updates only the options of a tunnel whose peer moved', () => {
    const moved = { ...desired, tunnels: [desired.tunnels[0]!, { peer: 'h3', remoteIp: '10.0.0.33' }] };
    assert.deepEqual(planHostConfig(view(configuredView()), moved), [
      {
        op: 'update', table: 'Interface', where: [['_uuid', '==', ['uuid', U(32)]]],
        row: { type: 'vxlan', options: ['map', [['key', 'flow'], ['local_ip', '10.0.0.1'], ['remote_ip', '10.0.0.33']]] },
      },
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

  it('names tunnel ports within IFNAMSIZ and stably', () => {
    assert.equal(tunnelPortName('h2'), tunnelPortName('h2'));
    assert.notEqual(tunnelPortName('h2'), tunnelPortName('h3'));
    assert.ok(tunnelPortName('a-very-long-system-id-0123456789').length <= 15);
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
