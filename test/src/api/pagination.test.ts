import assert from 'node:assert/strict';
import { byId, byNameThenId, paginate } from '../../../src/api/pagination';

describe('paginate', () => {
  const items = ['c', 'a', 'e', 'b', 'd'].map((id) => ({ id }));

  it('walks every item exactly once in key order', () => {
    const seen: string[] = [];
    let next: string | undefined;
    let pages = 0;
    do {
      const page = paginate(items, 2, next, byId);
      seen.push(...page.items.map((i) => i.id));
      next = page.next;
      pages++;
    } while (next && pages < 10);
    assert.deepEqual(seen, ['a', 'b', 'c', 'd', 'e']);
    assert.equal(pages, 3);
  });

  it('has no next on the last page and is empty past the end', () => {
    assert.deepEqual(paginate(items, 10, undefined, byId), { items: ['a', 'b', 'c', 'd', 'e'].map((id) => ({ id })) });
    assert.deepEqual(paginate(items, 10, Buffer.from('zzz').toString('base64url'), byId), { items: [] });
  });

  it('sorts by name then id, unnamed last, across pages', () => {
    const named = [
      { id: '3', name: 'web' },
      { id: '1', name: 'db' },
      { id: '9', name: '' },
      { id: '2', name: 'web' },
      { id: '0', name: 'app' },
    ];
    const first = paginate(named, 3, undefined, byNameThenId);
    assert.deepEqual(first.items.map((i) => i.id), ['0', '1', '2']);
    const second = paginate(named, 3, first.next, byNameThenId);
    assert.deepEqual(second.items.map((i) => i.id), ['3', '9']);
    assert.equal(second.next, undefined);
  });
});
