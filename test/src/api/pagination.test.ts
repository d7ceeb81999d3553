import assert from 'node:assert/strict';
import { paginate } from '../../../src/api/pagination';

describe('paginate', () => {
  const items = ['c', 'a', 'e', 'b', 'd'].map((id) => ({ id }));

  it('walks every item exactly once in id order', () => {
    const seen: string[] = [];
    let next: string | undefined;
    let pages = 0;
    do {
      const page = paginate(items, 2, next);
      seen.push(...page.items.map((i) => i.id));
      next = page.next;
      pages++;
    } while (next && pages < 10);
    assert.deepEqual(seen, ['a', 'b', 'c', 'd', 'e']);
    assert.equal(pages, 3);
  });

  it('has no next on the last page and is empty past the end', () => {
    assert.deepEqual(paginate(items, 10, undefined), { items: ['a', 'b', 'c', 'd', 'e'].map((id) => ({ id })) });
    assert.deepEqual(paginate(items, 10, 'zzz'), { items: [] });
  });
});
