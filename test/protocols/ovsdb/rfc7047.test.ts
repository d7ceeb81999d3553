import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { OvsdbFormatError } from '../../../protocols/ovsdb/errors';
import {
  canonicalValue,
  decodeMap,
  decodeSet,
  decodeStringMap,
  decodeUuid,
  defaultValue,
  equalRows,
  equalValues,
  isScalar,
  map,
  namedUuid,
  parseColumnType,
  parseSchema,
  set,
  uuid,
  validateRow,
  validateValue,
  ZERO_UUID,
} from '../../../protocols/ovsdb/rfc7047';

const U1 = '8a5f0d3e-1b2c-4d5e-9f60-123456789abc';

function violates(section: RegExp): (e: unknown) => boolean {
  return (e) => e instanceof OvsdbFormatError && section.test(e.section);
}

describe('ovsdb rfc7047 notation', () => {
  it('builds uuids, named uuids, sets and maps in wire form', () => {
    assert.deepEqual(uuid(U1.toUpperCase()), ['uuid', U1]);
    assert.deepEqual(namedUuid('row_1'), ['named-uuid', 'row_1']);
    assert.deepEqual(set(['a', 1, true, uuid(U1)]), ['set', ['a', 1, true, ['uuid', U1]]]);
    assert.deepEqual(map({ 'iface-id': 'x' }), ['map', [['iface-id', 'x']]]);
    assert.deepEqual(map(new Map([[1, 'one']])), ['map', [[1, 'one']]]);
    assert.deepEqual(map([['k', uuid(U1)]]), ['map', [['k', ['uuid', U1]]]]);
  });

  it('names the section a malformed value violates', () => {
    assert.throws(() => uuid('not-a-uuid'), violates(/§5\.1 <uuid>/));
    assert.throws(() => namedUuid('1abc'), violates(/§5\.1 <named-uuid>/));
    assert.throws(() => validateValue(['set', 'x']), violates(/§5\.1 <set>/));
    assert.throws(() => validateValue(['map', [['k']]]), violates(/§5\.1 <map>/));
    assert.throws(() => validateValue(['map', [['k', { no: 1 }]]], 'external_ids'), (e: unknown) => {
      return e instanceof OvsdbFormatError && /§5\.1 <atom>/.test(e.section) && e.path === 'external_ids[0][1]';
    });
    assert.throws(() => validateValue(['uuid', 'zz']), violates(/§5\.1 <uuid>/));
    assert.throws(() => validateValue(Number.NaN), violates(/§5\.1 <atom>/));
    assert.throws(() => validateRow([1]), violates(/§5\.1 <row>/));
    assert.throws(() => validateRow({ name: null }), violates(/§5\.1 <atom>/));
  });

  it('decodes sets (including the bare-atom form), maps and uuids', () => {
    assert.deepEqual(decodeSet('only'), ['only']);
    assert.deepEqual(decodeSet(['set', []]), []);
    assert.deepEqual(decodeSet(['set', [1, 2]]), [1, 2]);
    assert.deepEqual([...decodeMap(['map', [['a', 1]]])], [['a', 1]]);
    assert.deepEqual(decodeStringMap(['map', [['a', 'b']]]), { a: 'b' });
    assert.throws(() => decodeStringMap(['map', [['a', 1]]]), OvsdbFormatError);
    assert.equal(decodeUuid(['uuid', U1]), U1);
    assert.throws(() => decodeMap(['set', []]), violates(/<map>/));
  });

  it('compares values with set and map semantics', () => {
    assert.ok(equalValues(['set', ['b', 'a']], ['set', ['a', 'b']]));
    assert.ok(equalValues(['set', ['a']], 'a'));
    assert.ok(equalValues(['map', [['y', '1'], ['x', '2']]], ['map', [['x', '2'], ['y', '1']]]));
    assert.ok(!equalValues(['map', [['x', '1']]], ['map', [['x', '2']]]));
    assert.deepEqual(canonicalValue(['set', [3, 1, 2]]), ['set', [1, 2, 3]]);
    assert.ok(equalRows({ a: 1, s: ['set', ['x']] }, { s: 'x', a: 1 }));
    assert.ok(!equalRows({ a: 1 }, { a: 1, b: 2 }));
  });

  it('parses column types and their defaults (§3.2)', () => {
    const scalar = parseColumnType('string');
    assert.ok(isScalar(scalar));
    assert.equal(defaultValue(scalar), '');
    const optional = parseColumnType({ key: 'integer', min: 0, max: 1 });
    assert.ok(!isScalar(optional));
    assert.deepEqual(defaultValue(optional), ['set', []]);
    const refs = parseColumnType({ key: { type: 'uuid', refTable: 'Port' }, min: 0, max: 'unlimited' });
    assert.deepEqual(refs, { key: { type: 'uuid', refTable: 'Port' }, min: 0, max: Infinity });
    const smap = parseColumnType({ key: 'string', value: 'string', min: 0, max: 'unlimited' });
    assert.deepEqual(defaultValue(smap), ['map', []]);
    assert.deepEqual(defaultValue(parseColumnType('uuid')), ['uuid', ZERO_UUID]);
    assert.deepEqual(parseColumnType({ key: { type: 'string', enum: ['set', ['a', 'b']] } }).key.enum, ['a', 'b']);
    assert.throws(() => parseColumnType('float'), violates(/§3\.2 <base-type>/));
    assert.throws(() => parseColumnType({ key: 'string', min: 2 }), violates(/§3\.2 <type>/));
  });

  it('parses the real vswitch schema', () => {
    const schema = parseSchema(JSON.parse(readFileSync('/usr/share/openvswitch/vswitch.ovsschema', 'utf8')));
    assert.equal(schema.name, 'Open_vSwitch');
    const ext = schema.tables.get('Interface')!.columns.get('external_ids')!;
    assert.equal(ext.key.type, 'string');
    assert.equal(ext.value?.type, 'string');
    assert.ok(schema.tables.get('Open_vSwitch')!.isRoot);
  });
});
