import assert from 'node:assert/strict';
import { OFPFC } from '../../../protocols/openflow/constants';
import type { Instruction } from '../../../protocols/openflow/instructions';
import type { Match } from '../../../protocols/openflow/match';
import { diffFlows, isEmptyDiff, type KeyedFlow } from '../../../src/reconciler/diff';
import { encodeMessage } from '../../../protocols/openflow/codec';
import { canonicalMatch, encodeFlow, fingerprint, flowKey } from '../../../src/reconciler/flow-key';
import { toFlowMods } from '../../../src/reconciler/flow-mods';

function flow(tableId: number, priority: number, match: Match, cookie: bigint, out: number): KeyedFlow {
  const instructions: Instruction[] = [{ type: 'apply_actions', actions: [{ type: 'output', port: out }] }];
  return { key: flowKey({ tableId, priority, match }), tableId, priority, match, cookie, instructions, fp: fingerprint(cookie, instructions) };
}

const byKey = (...flows: KeyedFlow[]): Map<string, KeyedFlow> => new Map(flows.map((f) => [f.key, f]));

const a = flow(0, 100, [{ field: 'in_port', value: 1 }], 0x1n, 2);
const b = flow(0, 100, [{ field: 'in_port', value: 2 }], 0x2n, 1);
const c = flow(50, 100, [{ field: 'reg0', value: 5 }, { field: 'eth_dst', value: '02:00:00:00:00:01' }], 0x3n, 3);

describe('canonical match and flow key', () => {
  it('ignores field order and tells values, masks, tables and priorities apart', () => {
    const m1: Match = [{ field: 'reg0', value: 5 }, { field: 'eth_dst', value: '02:00:00:00:00:01' }];
    const m2: Match = [{ field: 'eth_dst', value: '02:00:00:00:00:01' }, { field: 'reg0', value: 5 }];
    assert.equal(canonicalMatch(m1), canonicalMatch(m2));
    assert.notEqual(canonicalMatch(m1), canonicalMatch([{ field: 'reg0', value: 6 }, m1[1]!]));
    assert.notEqual(canonicalMatch([{ field: 'eth_dst', value: '01:00:00:00:00:00', mask: '01:00:00:00:00:00' }]), canonicalMatch([{ field: 'eth_dst', value: '01:00:00:00:00:00' }]));
    assert.equal(canonicalMatch([]), '');
    assert.notEqual(flowKey({ tableId: 0, priority: 100, match: m1 }), flowKey({ tableId: 10, priority: 100, match: m1 }));
    assert.notEqual(flowKey({ tableId: 0, priority: 100, match: m1 }), flowKey({ tableId: 0, priority: 90, match: m1 }));
  });

  it('encodes a flow once: the same key and fingerprint, and the FLOW_MOD bytes of the unencoded flow', () => {
    const match: Match = [{ field: 'reg0', value: 5 }, { field: 'eth_dst', value: '02:00:00:00:00:00', mask: 'ff:ff:ff:00:00:00' }, { field: 'in_port', value: 7 }];
    const instructions: Instruction[] = [{ type: 'apply_actions', actions: [{ type: 'set_field', field: 'tun_id', value: 5001n }, { type: 'output', port: 10 }] }, { type: 'goto_table', tableId: 9 }];
    const e = encodeFlow({ tableId: 40, priority: 100, match }, 0xabcn, instructions);
    assert.equal(e.key, flowKey({ tableId: 40, priority: 100, match }));
    assert.equal(e.fp, fingerprint(0xabcn, instructions));
    const mod = { type: 'flow_mod' as const, xid: 3, tableId: 40, priority: 100, cookie: 0xabcn, match, instructions };
    assert.deepEqual(encodeMessage({ ...mod, encoded: e.wire }), encodeMessage(mod));
    assert.deepEqual(
      encodeMessage({ type: 'bundle_add', xid: 4, bundleId: 1, message: { ...mod, xid: 4, encoded: e.wire } }),
      encodeMessage({ type: 'bundle_add', xid: 4, bundleId: 1, message: { ...mod, xid: 4 } }),
    );
  });

  it('fingerprints cookie and instructions, nothing else', () => {
    assert.equal(flow(0, 1, [], 7n, 2).fp, flow(9, 9, [{ field: 'in_port', value: 3 }], 7n, 2).fp);
    assert.notEqual(flow(0, 1, [], 7n, 2).fp, flow(0, 1, [], 8n, 2).fp);
    assert.notEqual(flow(0, 1, [], 7n, 2).fp, flow(0, 1, [], 7n, 3).fp);
  });
});

describe('diffFlows', () => {
  it('adds what only desired has, deletes what only the switch has, modifies what differs', () => {
    const changed = flow(0, 100, [{ field: 'in_port', value: 2 }], 0x2n, 9);
    const d = diffFlows(byKey(a, changed, c), byKey(b, c, flow(0, 100, [{ field: 'in_port', value: 7 }], 0x7n, 1)));
    assert.deepEqual(d.adds, [a]);
    assert.deepEqual(d.modifies, [{ want: changed, have: b }]);
    assert.deepEqual(d.deletes.map((f) => f.cookie), [0x7n]);
  });

  it('is empty when the switch already has the desired flows (restart, failover)', () => {
    const installed = byKey(flow(0, 100, [{ field: 'in_port', value: 1 }], 0x1n, 2), b, c);
    assert.ok(isEmptyDiff(diffFlows(byKey(a, b, c), installed)));
  });

  it('looks only at the keys it is given', () => {
    const d = diffFlows(byKey(a, b), byKey(c), [a.key, c.key]);
    assert.deepEqual(d.adds, [a]);
    assert.deepEqual(d.deletes, [c]);
    assert.deepEqual(d.modifies, []);
  });
});

describe('flow-mod ordering', () => {
  it('sends strict deletes first, then adds, then modifies; a new cookie is an ADD, the same cookie a MODIFY_STRICT', () => {
    const sameCookie = { want: flow(0, 100, [{ field: 'in_port', value: 2 }], 0x2n, 9), have: b };
    const newCookie = { want: flow(50, 100, c.match, 0x33n, 3), have: c };
    const mods = toFlowMods({ adds: [a], modifies: [sameCookie, newCookie], deletes: [flow(0, 90, [], 0x9n, 1)] });
    assert.deepEqual(mods.map((m) => m.command), [OFPFC.DELETE_STRICT, OFPFC.ADD, OFPFC.MODIFY_STRICT, OFPFC.ADD]);
    assert.deepEqual(mods[0], { type: 'flow_mod', tableId: 0, priority: 90, match: [], command: OFPFC.DELETE_STRICT });
    assert.equal(mods[2]!.cookie, 0x2n);
    assert.deepEqual(mods[2]!.instructions, sameCookie.want.instructions);
    assert.equal(mods[3]!.cookie, 0x33n);
  });
});
