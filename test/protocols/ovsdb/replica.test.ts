import assert from 'node:assert/strict';
import { OvsdbFormatError } from '../../../protocols/ovsdb/errors';
import { Replica, type RowChange } from '../../../protocols/ovsdb/replica';
import { parseSchema } from '../../../protocols/ovsdb/rfc7047';

const U1 = '11111111-1111-1111-1111-111111111111';
const U2 = '22222222-2222-2222-2222-222222222222';
const P1 = '33333333-3333-3333-3333-333333333333';
const P2 = '44444444-4444-4444-4444-444444444444';

const schema = parseSchema({
  name: 'Test',
  version: '1.0.0',
  tables: {
    Bridge: {
      columns: {
        name: { type: 'string' },
        ports: { type: { key: { type: 'uuid', refTable: 'Port' }, min: 0, max: 'unlimited' } },
        external_ids: { type: { key: 'string', value: 'string', min: 0, max: 'unlimited' } },
        datapath_id: { type: { key: 'string', min: 0, max: 1 } },
        stp_enable: { type: 'boolean' },
        mtu: { type: { key: 'integer', min: 0, max: 1 } },
        ratio: { type: 'real' },
      },
      isRoot: true,
    },
  },
});

function newReplica(): { replica: Replica; seen: RowChange[] } {
  const replica = new Replica(schema, new Map([['Bridge', undefined]]));
  const seen: RowChange[] = [];
  replica.on('change', (c) => seen.push(c));
  return { replica, seen };
}

describe('ovsdb replica', () => {
  it('fills defaults for columns update2 omits and applies modify diffs', () => {
    const { replica, seen } = newReplica();
    replica.apply({ Bridge: { [U1]: { initial: { name: 'br0', ports: ['uuid', P1] } } } }, 2);
    assert.deepEqual(replica.get('Bridge', U1), {
      name: 'br0',
      ports: ['uuid', P1],
      external_ids: ['map', []],
      datapath_id: ['set', []],
      stp_enable: false,
      mtu: ['set', []],
      ratio: 0,
    });
    // Set diff toggles elements; map diff adds, removes and replaces; scalars take the new value.
    replica.apply({ Bridge: { [U1]: { modify: { ports: ['uuid', P2], external_ids: ['map', [['a', '1'], ['b', '2']]], stp_enable: true } } } }, 2);
    replica.apply({ Bridge: { [U1]: { modify: { ports: ['uuid', P1], external_ids: ['map', [['a', '1'], ['b', '3']]], datapath_id: 'x' } } } }, 2);
    assert.deepEqual(replica.get('Bridge', U1), {
      name: 'br0',
      ports: ['uuid', P2],
      external_ids: ['map', [['b', '3']]],
      datapath_id: 'x',
      stp_enable: true,
      mtu: ['set', []],
      ratio: 0,
    });
    // An optional column's diff from "x" to "y" lists both.
    replica.apply({ Bridge: { [U1]: { modify: { datapath_id: ['set', ['x', 'y']] } } } }, 2);
    assert.equal(replica.get('Bridge', U1)!.datapath_id, 'y');
    // What ovsdb-server sends for an optional column: the new value, and the empty set once cleared.
    replica.apply({ Bridge: { [U1]: { modify: { mtu: 1500 } } } }, 2);
    replica.apply({ Bridge: { [U1]: { modify: { mtu: 9000 } } } }, 2);
    assert.equal(replica.get('Bridge', U1)!.mtu, 9000);
    replica.apply({ Bridge: { [U1]: { modify: { mtu: ['set', []] } } } }, 2);
    assert.deepEqual(replica.get('Bridge', U1)!.mtu, ['set', []]);
    replica.apply({ Bridge: { [U1]: { delete: null } } }, 2);
    assert.equal(replica.size('Bridge'), 0);
    assert.deepEqual(
      seen.map((c) => [c.old ? 'o' : '-', c.new ? 'n' : '-']),
      [['-', 'n'], ['o', 'n'], ['o', 'n'], ['o', 'n'], ['o', 'n'], ['o', 'n'], ['o', 'n'], ['o', '-']],
    );
    assert.equal(seen[1]!.old!.stp_enable, false);
    assert.equal(seen[1]!.new!.stp_enable, true);
  });

  it('toggles set elements the same whether the diff lists them in order or not', () => {
    const P3 = '55555555-5555-5555-5555-555555555555';
    const P4 = '66666666-6666-6666-6666-666666666666';
    const results = [
      [['uuid', P4], ['uuid', P1], ['uuid', P3]],
      [['uuid', P1], ['uuid', P3], ['uuid', P4]],
    ].map((diff) => {
      const { replica } = newReplica();
      replica.apply({ Bridge: { [U1]: { initial: { name: 'br0', ports: ['set', [['uuid', P1], ['uuid', P2]]] } } } }, 2);
      replica.apply({ Bridge: { [U1]: { modify: { ports: ['set', diff] } } } }, 2);
      return replica.get('Bridge', U1)!.ports;
    });
    assert.deepEqual(results[0], ['set', [['uuid', P2], ['uuid', P3], ['uuid', P4]]]);
    assert.deepEqual(results[1], results[0]);
  });

  it('applies RFC 7047 §4.1.6 updates (monitor)', () => {
    const { replica } = newReplica();
    replica.apply({ Bridge: { [U1]: { new: { name: 'br0', ports: ['set', []], external_ids: ['map', []], datapath_id: ['set', []], stp_enable: false } } } }, 1);
    replica.apply({ Bridge: { [U1]: { old: { stp_enable: false }, new: { name: 'br0', ports: ['set', [['uuid', P1]]], external_ids: ['map', []], datapath_id: ['set', []], stp_enable: true } } } }, 1);
    assert.deepEqual(replica.get('Bridge', U1)!.ports, ['uuid', P1]);
    replica.apply({ Bridge: { [U1]: { old: { name: 'br0' } } } }, 1);
    assert.equal(replica.size('Bridge'), 0);
  });

  it('rejects a malformed update whole, naming the element, and changes nothing', () => {
    const { replica, seen } = newReplica();
    replica.apply({ Bridge: { [U1]: { initial: { name: 'br0' } } } }, 2);
    seen.length = 0;
    const bad: [unknown, 1 | 2, RegExp][] = [
      [[], 2, /<table-updates2>/],
      [{ Nope: {} }, 2, /<table-updates2>/],
      [{ Bridge: { 'not-a-uuid': { delete: null } } }, 2, /<table-updates2>/],
      [{ Bridge: { [U2]: { insert: { name: 'ok' } }, [U1]: { insert: {}, delete: null } } }, 2, /<row-update2>/],
      [{ Bridge: { [U2]: { frobnicate: {} } } }, 2, /<row-update2>/],
      [{ Bridge: { [U2]: { modify: { name: 'x' } } } }, 2, /<row-update2>/],
      [{ Bridge: { [U2]: { insert: { name: ['set', 'x'] } } } }, 2, /§5\.1 <set>/],
      [{ Bridge: { [U2]: { bogus: 1 } } }, 1, /§4\.1\.6 <row-update>/],
      [{ Bridge: { [U2]: {} } }, 1, /§4\.1\.6 <row-update>/],
      [{ Bridge: 7 }, 1, /§4\.1\.6 <table-update>/],
    ];
    for (const [updates, format, section] of bad) {
      assert.throws(
        () => replica.apply(updates, format),
        (e: unknown) => e instanceof OvsdbFormatError && section.test(e.message),
        JSON.stringify(updates),
      );
    }
    assert.equal(replica.size('Bridge'), 1);
    assert.equal(replica.get('Bridge', U2), undefined);
    assert.deepEqual(seen, []);
  });

  it('rejects columns the schema does not declare or the monitor did not ask for (RFC 7047 §5.1 <row>)', () => {
    const replica = new Replica(schema, new Map([['Bridge', ['name', 'external_ids']]]));
    replica.apply({ Bridge: { [U1]: { initial: { name: 'br0' } } } }, 2);
    const bad: [unknown, 1 | 2, RegExp][] = [
      [{ Bridge: { [U2]: { insert: { name: 'br1', bogus: 1 } } } }, 2, /§5\.1 <row>: column "bogus" is not declared in table Bridge of the schema at Bridge\.2{8}/],
      [{ Bridge: { [U1]: { modify: { bogus: 'x' } } } }, 2, /column "bogus" is not declared/],
      [{ Bridge: { [U2]: { new: { name: 'br1', bogus: 1 } } } }, 1, /column "bogus" is not declared/],
      [{ Bridge: { [U1]: { old: { bogus: 1 }, new: { name: 'br0' } } } }, 1, /column "bogus" is not declared/],
      [{ Bridge: { [U2]: { insert: { name: 'br1', stp_enable: true } } } }, 2, /column "stp_enable" was not requested by the monitor/],
    ];
    for (const [updates, format, message] of bad) {
      assert.throws(
        () => replica.apply(updates, format),
        (e: unknown) => e instanceof OvsdbFormatError && message.test(e.message),
        JSON.stringify(updates),
      );
    }
    assert.deepEqual(replica.snapshot(), { Bridge: { [U1]: { name: 'br0', external_ids: ['map', []] } } });
  });

  it('rejects atoms of the wrong type and values of the wrong size for their column (RFC 7047 §3.2, §5.1)', () => {
    const { replica, seen } = newReplica();
    replica.apply({ Bridge: { [U1]: { initial: { name: 'br0', mtu: 1500, datapath_id: 'x' } } } }, 2);
    seen.length = 0;
    const bad: [unknown, 1 | 2, RegExp][] = [
      [{ Bridge: { [U2]: { insert: { name: 7 } } } }, 2, /§5\.1 <atom>: 7 is not a string \(the column's §3\.2 <atomic-type>\) at Bridge\.2{8}-2{4}-2{4}-2{4}-2{12}\.insert\.name/],
      [{ Bridge: { [U2]: { insert: { name: 'b', stp_enable: 'true' } } } }, 2, /"true" is not a boolean/],
      [{ Bridge: { [U2]: { insert: { name: 'b', mtu: 1.5 } } } }, 2, /1\.5 is not an integer/],
      [{ Bridge: { [U2]: { insert: { name: 'b', ratio: 'fast' } } } }, 2, /"fast" is not a real/],
      [{ Bridge: { [U2]: { insert: { name: 'b', ports: ['set', ['not-a-uuid-atom']] } } } }, 2, /is not a uuid .*ports\[0\]/],
      [{ Bridge: { [U2]: { insert: { name: 'b', external_ids: ['map', [['k', 1]]] } } } }, 2, /1 is not a string .*external_ids\[0\]\[1\]/],
      [{ Bridge: { [U2]: { insert: { name: 'b', external_ids: ['set', []] } } } }, 2, /§5\.1 <map>: \["set",\[\]\] is not a <map>/],
      [{ Bridge: { [U2]: { insert: { name: ['set', []] } } } }, 2, /§3\.2 <type>: 0 elements where the column allows 1 to 1/],
      [{ Bridge: { [U2]: { insert: { name: 'b', datapath_id: ['set', ['x', 'y']] } } } }, 2, /2 elements where the column allows 0 to 1/],
      [{ Bridge: { [U1]: { modify: { mtu: 'big' } } } }, 2, /"big" is not an integer .*modify\.mtu/],
      [{ Bridge: { [U1]: { modify: { ports: ['set', [['uuid', P1], 3]] } } } }, 2, /3 is not a uuid/],
      [{ Bridge: { [U1]: { modify: { external_ids: ['map', [[1, 'v']]] } } } }, 2, /1 is not a string/],
      // datapath_id holds "x": neither its new value ("y") nor a toggle of both ("x", "y") has three elements.
      [{ Bridge: { [U1]: { modify: { datapath_id: ['set', ['w', 'y', 'z']] } } } }, 2, /3 elements where the column allows 0 to 1 at Bridge\.1{8}.*datapath_id/],
      [{ Bridge: { [U2]: { new: { name: 'b', stp_enable: 0 } } } }, 1, /0 is not a boolean/],
    ];
    for (const [updates, format, message] of bad) {
      assert.throws(
        () => replica.apply(updates, format),
        (e: unknown) => e instanceof OvsdbFormatError && message.test(e.message),
        JSON.stringify(updates),
      );
    }
    assert.equal(replica.size('Bridge'), 1);
    assert.equal(replica.get('Bridge', U1)!.mtu, 1500);
    assert.deepEqual(seen, []);
    // Integers are valid reals; a one-element set may stand for a scalar (§5.1).
    replica.apply({ Bridge: { [U1]: { modify: { ratio: 2, name: ['set', ['br9']] } } } }, 2);
    assert.equal(replica.get('Bridge', U1)!.name, 'br9');
  });

  it('resyncs from a fresh initial dump, reporting only differences', () => {
    const { replica, seen } = newReplica();
    replica.apply({ Bridge: { [U1]: { initial: { name: 'same' } }, [U2]: { initial: { name: 'old' } } } }, 2);
    seen.length = 0;
    const P3 = '55555555-5555-5555-5555-555555555555';
    const changes = replica.resync({ Bridge: { [U1]: { initial: { name: 'same' } }, [U2]: { initial: { name: 'new' } }, [P3]: { initial: { name: 'added' } } } }, 2);
    assert.deepEqual(
      changes.map((c) => [c.uuid, c.old?.name, c.new?.name]),
      [[U2, 'old', 'new'], [P3, undefined, 'added']],
    );
    replica.resync({ Bridge: {} }, 2);
    assert.equal(replica.size('Bridge'), 0);
    assert.equal(seen.length, 5);
  });
});
