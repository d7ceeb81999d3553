import assert from 'node:assert/strict';
import { assignBalanced, rankMembers } from '../../../src/cluster/rendezvous';

const hosts = (n: number): string[] => Array.from({ length: n }, (_, i) => `host-${i}`);

describe('rendezvous assignment', () => {
  it('ranks members the same way whatever order they are given in', () => {
    assert.deepEqual(rankMembers(['a', 'b', 'c'], 'h1'), rankMembers(['c', 'a', 'b'], 'h1'));
  });

  for (const [h, m] of [[4, 3], [10, 3], [1000, 7], [5, 5], [2, 3]] as const) {
    it(`spreads ${h} hosts over ${m} members within one of each other`, () => {
      const members = Array.from({ length: m }, (_, i) => `m${i}`);
      const a = assignBalanced(hosts(h), members);
      assert.equal(a.size, h);
      const load = members.map((x) => [...a.values()].filter((v) => v === x).length);
      assert.ok(Math.max(...load) - Math.min(...load) <= 1, `loads ${load.join(',')}`);
    });
  }

  it('stays within one of each other for every host count up to 60 over 2 to 7 members (h1, h2, ... names)', () => {
    for (let m = 2; m <= 7; m++) {
      const members = Array.from({ length: m }, (_, i) => `m${i + 1}`);
      for (let n = 1; n <= 60; n++) {
        const a = assignBalanced(Array.from({ length: n }, (_, i) => `h${i + 1}`), members);
        const load = members.map((x) => [...a.values()].filter((v) => v === x).length);
        assert.ok(Math.max(...load) - Math.min(...load) <= 1, `${n} hosts over ${m} members: loads ${load.join(',')}`);
      }
    }
  });

  it('moves few hosts when a member joins', () => {
    const before = assignBalanced(hosts(300), ['m0', 'm1', 'm2']);
    const after = assignBalanced(hosts(300), ['m0', 'm1', 'm2', 'm3']);
    const moved = [...before].filter(([h, m]) => after.get(h) !== m).length;
    // The newcomer takes its quarter; a bounded-load assignment shuffles a little more than that.
    assert.ok(moved >= 75 && moved < 150, `moved ${moved}`);
    assert.equal([...after.values()].filter((m) => m === 'm3').length, 75);
  });

  it('is empty without members', () => {
    assert.equal(assignBalanced(hosts(3), []).size, 0);
  });
});
