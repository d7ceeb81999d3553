import assert from 'node:assert/strict';
import { map, set } from '../../../protocols/ovsdb/rfc7047';
import type { Row } from '../../../protocols/ovsdb/rfc7047';
import { viewFromRows, type TableRows } from '../../../src/southbound/ovs-view';

const iface = (name: string, ofport: number): Row => ({ name, type: '', options: map([]), external_ids: map([['iface-id', `ep-${name}`]]), ofport, error: set([]) });

describe('viewFromRows', () => {
  it('converts a row once while the replica keeps it, and again once the row object is replaced', () => {
    const a = iface('a', 1);
    const b = iface('b', 2);
    const first = viewFromRows(new Map([['Interface', new Map([['u-a', a], ['u-b', b]])]]) as TableRows);
    const b2 = iface('b', 7); // the replica replaces a changed row
    const second = viewFromRows(new Map([['Interface', new Map([['u-a', a], ['u-b', b2]])]]) as TableRows);
    assert.equal(second.interfaces.get('u-a'), first.interfaces.get('u-a'), 'an unchanged row is the same value');
    assert.notEqual(second.interfaces.get('u-b'), first.interfaces.get('u-b'));
    assert.deepEqual([first.interfaces.get('u-b')?.ofport, second.interfaces.get('u-b')?.ofport], [2, 7]);
    assert.deepEqual(second.interfaces.get('u-a')?.externalIds, { 'iface-id': 'ep-a' });
  });

  it('does not hand one row object\'s value to another uuid', () => {
    const shared = iface('x', 3);
    const view = viewFromRows(new Map([['Interface', new Map([['u-1', shared], ['u-2', shared]])]]) as TableRows);
    assert.deepEqual([view.interfaces.get('u-1')?.uuid, view.interfaces.get('u-2')?.uuid], ['u-1', 'u-2']);
  });
});
