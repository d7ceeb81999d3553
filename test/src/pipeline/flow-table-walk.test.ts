/** The in-memory flow-table walk on hand-written flows: OpenFlow 1.3 and Open vSwitch semantics. */
import assert from 'node:assert/strict';
import type { Action } from '../../../protocols/openflow/actions';
import { OFPGT, OFPP } from '../../../protocols/openflow/constants';
import type { Instruction } from '../../../protocols/openflow/instructions';
import type { Match } from '../../../protocols/openflow/match';
import {
  indexFlows, walkFabric, walkPacket, WalkError, type FabricHost, type TableFlow, type WalkPort, type WalkSwitch,
} from '../../../src/pipeline/flow-table-walk';

const flow = (tableId: number, priority: number, match: Match, instructions: Instruction[], cookie = 0n): TableFlow => ({ tableId, priority, match, instructions, cookie });
const apply = (...actions: Action[]): Instruction => ({ type: 'apply_actions', actions });
const goto = (tableId: number): Instruction => ({ type: 'goto_table', tableId });
const out = (port: number): Action => ({ type: 'output', port });
const sw = (flows: TableFlow[], ports?: Map<number, WalkPort>, groups?: WalkSwitch['groups']): WalkSwitch => ({
  flows: indexFlows(flows), ...(ports ? { ports } : {}), ...(groups ? { groups } : {}),
});
const ports = (r: ReturnType<typeof walkPacket>): (number | string)[] => r.outputs.map((o) => (o.kind === 'controller' ? 'controller' : o.port));

describe('pipeline: flow-table walk', () => {
  it('takes the highest-priority matching flow', () => {
    const s = sw([flow(0, 10, [], [apply(out(1))]), flow(0, 20, [{ field: 'in_port', value: 5 }], [apply(out(2))], 7n)]);
    const r = walkPacket(s, { in_port: 5 });
    assert.deepEqual(ports(r), [2]);
    assert.equal(r.hops[0]!.flow!.cookie, 7n);
    assert.deepEqual(ports(walkPacket(s, { in_port: 6 })), [1]);
  });

  it('drops a packet no flow matches (OpenFlow 1.3 table-miss), naming the table', () => {
    const r = walkPacket(sw([flow(0, 1, [], [goto(10)])]), { in_port: 1 });
    assert.equal(r.verdict, 'dropped');
    assert.match(r.reason, /no flow matched in table port-security \(10\)/);
    assert.deepEqual(r.hops.map((h) => [h.tableId, h.flow !== undefined, h.depth]), [[0, true, 0], [10, false, 1]]);
  });

  it('lets later tables and outputs see fields set earlier, at the moment of each output', () => {
    const s = sw([
      flow(0, 1, [], [apply({ type: 'set_field', field: 'reg0', value: 9 }, out(1), { type: 'set_field', field: 'eth_dst', value: '02:00:00:00:00:09' }), goto(5)]),
      flow(5, 1, [{ field: 'reg0', value: 9 }], [apply(out(2))]),
    ]);
    const r = walkPacket(s, { in_port: 3, eth_dst: '02:00:00:00:00:01' });
    assert.deepEqual(ports(r), [1, 2]);
    assert.equal(r.outputs[0]!.packet.eth_dst, '02:00:00:00:00:01');
    assert.equal(r.outputs[1]!.packet.eth_dst, '02:00:00:00:00:09');
    assert.equal(r.outputs[1]!.packet.reg0, 9);
  });

  it('skips output to the ingress port unless the flow says OFPP_IN_PORT', () => {
    assert.equal(walkPacket(sw([flow(0, 1, [], [apply(out(4))])]), { in_port: 4 }).verdict, 'dropped');
    assert.deepEqual(ports(walkPacket(sw([flow(0, 1, [], [apply(out(OFPP.IN_PORT))])]), { in_port: 4 })), [4]);
  });

  it('resubmits and carries on after it; a resubmit port stands in for in_port during that lookup only', () => {
    const s = sw([
      flow(0, 1, [], [apply({ type: 'resubmit', table: 3, port: 8 }, out(OFPP.IN_PORT))]),
      flow(3, 1, [{ field: 'in_port', value: 8 }], [apply(out(2))]),
    ]);
    assert.deepEqual(ports(walkPacket(s, { in_port: 1 })), [2, 1]);
  });

  it('moves and loads bit ranges (NXM numbering, bit 0 least significant)', () => {
    const s = sw([
      flow(0, 1, [], [apply(
        { type: 'reg_load', dst: { field: 'reg1', ofs: 4, nBits: 4 }, value: 0xa },
        { type: 'reg_move', src: { field: 'reg1', ofs: 4, nBits: 4 }, dst: { field: 'reg2', ofs: 0, nBits: 4 } },
        { type: 'reg_move', src: { field: 'eth_src' }, dst: { field: 'eth_dst' } },
        out(1),
      )]),
    ]);
    const p = walkPacket(s, { in_port: 2, reg1: 0xf00f, eth_src: '02:00:00:00:00:aa' }).outputs[0]!.packet;
    assert.deepEqual([p.reg1, p.reg2, p.eth_dst], [0xf0af, 0xa, '02:00:00:00:00:aa']);
  });

  it('runs each bucket of an ALL group on its own copy; clone does not leak its changes', () => {
    const groups = new Map([[1, { groupId: 1, groupType: OFPGT.ALL, buckets: [
      { actions: [{ type: 'set_field', field: 'reg0', value: 1 } as Action, out(1)] },
      { actions: [out(2)] },
    ] }]]);
    const s = sw([flow(0, 1, [], [apply({ type: 'group', groupId: 1 }, { type: 'clone', actions: [{ type: 'set_field', field: 'reg0', value: 7 }, out(3)] }, out(4))])], undefined, groups);
    const r = walkPacket(s, { in_port: 9 });
    assert.deepEqual(r.outputs.map((o) => [o.kind === 'controller' ? 'c' : o.port, o.packet.reg0 ?? 0]), [[1, 1], [2, 0], [3, 7], [4, 0]]);
  });

  it('executes the action set when the pipeline ends: field changes first, output last', () => {
    const s = sw([
      flow(0, 1, [], [{ type: 'write_actions', actions: [out(1), { type: 'set_field', field: 'reg0', value: 3 }] }, goto(1)]),
      flow(1, 1, [], [apply(out(2))]),
    ]);
    const r = walkPacket(s, { in_port: 9 });
    assert.deepEqual(r.outputs.map((o) => [o.kind !== 'controller' && o.port, o.packet.reg0 ?? 0]), [[2, 0], [1, 3]]);
  });

  it('stops at exit, even inside a resubmit, action set included (as ovs-vswitchd)', () => {
    const s = sw([
      flow(0, 1, [], [{ type: 'write_actions', actions: [out(4)] }, goto(1)]),
      flow(1, 1, [], [apply({ type: 'resubmit', table: 2 }, out(9))]),
      flow(2, 1, [], [apply(out(2), { type: 'exit' }, out(3))]),
    ]);
    // Neither output:3 after the exit, output:9 after the resubmit nor the action set (output:4) runs.
    assert.deepEqual(ports(walkPacket(s, { in_port: 1 })), [2]);
  });

  it('punts to the controller with output:CONTROLLER and the controller action', () => {
    const r = walkPacket(sw([flow(0, 1, [], [apply(out(OFPP.CONTROLLER), { type: 'controller', userdata: Buffer.from('hi') })])]), { in_port: 1 });
    assert.equal(r.verdict, 'to-controller');
    assert.deepEqual(r.outputs.map((o) => o.kind === 'controller' && o.userdata?.toString()), [undefined, 'hi']);
  });

  it('gives tunnel outputs tun_id and the port\'s remote IP, or the tun_dst the flow set', () => {
    const tunnels = new Map<number, WalkPort>([[10, { kind: 'tunnel', remoteIp: '192.0.2.2', localIp: '192.0.2.1' }]]);
    const s = sw([flow(0, 1, [], [apply({ type: 'set_field', field: 'tun_id', value: 77n }, out(10), { type: 'set_field', field: 'tun_dst', value: '192.0.2.9' }, out(10))])], tunnels);
    const r = walkPacket(s, { in_port: 1 });
    assert.deepEqual(r.outputs.map((o) => o.kind === 'tunnel' && [o.tunId, o.tunDst, o.tunSrc]), [[77n, '192.0.2.2', '192.0.2.1'], [77n, '192.0.2.9', '192.0.2.1']]);
  });

  it('stops a resubmit loop like OVS (dropped, with the reason) instead of running forever', () => {
    const r = walkPacket(sw([flow(0, 1, [], [apply({ type: 'resubmit', table: 0 })])]), { in_port: 1 });
    assert.equal(r.verdict, 'dropped');
    assert.match(r.reason, /64 nested lookups/);
  });

  it('refuses, with WalkError, actions it does not simulate and matches OVS would refuse', () => {
    assert.throws(() => walkPacket(sw([flow(0, 1, [], [apply({ type: 'ct', commit: true })])]), { in_port: 1 }), (e: unknown) => e instanceof WalkError && /action ct in table classify \(0\) is not simulated/.test(e.message));
    assert.throws(() => indexFlows([flow(0, 1, [{ field: 'ip_src', value: '10.0.0.1' }], [])]), /missing-prerequisite \(ip_src\)/);
  });

  it('carries a packet across a tunnel to the host with that encap IP, arriving on its tunnel port from the sender', () => {
    const host = (id: string, encapIp: string, peerIp: string, flows: TableFlow[]): FabricHost => ({
      id, encapIp, ports: new Map([[10, { kind: 'tunnel', remoteIp: peerIp, localIp: encapIp }]]), flows: indexFlows(flows),
    });
    const hosts = new Map([
      ['x', host('x', '192.0.2.1', '192.0.2.2', [flow(0, 1, [], [apply({ type: 'set_field', field: 'reg5', value: 1 }, { type: 'set_field', field: 'tun_id', value: 42n }, out(10))])])],
      ['y', host('y', '192.0.2.2', '192.0.2.1', [flow(0, 1, [{ field: 'in_port', value: 10 }, { field: 'tun_id', value: 42n }, { field: 'tun_src', value: '192.0.2.1' }, { field: 'reg5', value: 0 }], [apply(out(3))])])],
    ]);
    const r = walkFabric(hosts, 'x', { in_port: 1, eth_dst: '02:00:00:00:00:03' });
    assert.equal(r.verdict, 'delivered', r.reason);
    assert.deepEqual(r.arrivals.map((a) => [a.host, a.kind === 'port' && a.port, a.packet.eth_dst]), [['y', 3, '02:00:00:00:00:03']]);
    assert.deepEqual(r.hops.map((h) => h.host), ['x', 'y']);
    const lost = walkFabric(new Map([['x', hosts.get('x')!]]), 'x', { in_port: 1 });
    assert.equal(lost.verdict, 'dropped');
    assert.match(lost.reason, /no host has encap IP 192.0.2.2/);
  });
});
