import assert from 'node:assert/strict';
import { decideMastership } from '../../../src/cluster/ownership';
import { assignBalanced } from '../../../src/cluster/rendezvous';

/**
 * Every member runs the same decision over the same etcd state; etcd's
 * create-if-absent and delete-if-mine are modelled by a map. Returns the number
 * of rounds until nobody changes anything.
 */
function settle(members: readonly string[], hosts: readonly string[], masters: Map<string, string>, sees: (member: string, host: string) => boolean = () => true): number {
  for (let round = 0; round < 50; round++) {
    let changed = false;
    for (const self of members) {
      const all = new Set([...hosts, ...masters.keys()]);
      const assignment = assignBalanced(all, members);
      for (const host of all) {
        const step = decideMastership({ self, master: masters.get(host), owner: assignment.get(host), seen: sees(self, host), isLive: (m) => members.includes(m) });
        if (step.kind === 'acquire' && !masters.has(host)) masters.set(host, self);
        else if (step.kind === 'release' && masters.get(host) === self) masters.delete(host);
        else continue;
        changed = true;
      }
    }
    if (!changed) return round;
  }
  throw new Error('mastership never settled');
}

function loads(members: readonly string[], masters: ReadonlyMap<string, string>): number[] {
  return members.map((m) => [...masters.values()].filter((x) => x === m).length).sort((a, b) => a - b);
}

const hostsN = (n: number): string[] => Array.from({ length: n }, (_, i) => `h${i + 1}`);

describe('ownership balancing', () => {
  it('gives every host exactly one master, spread within one datapath', () => {
    const members = ['m1', 'm2', 'm3'];
    const masters = new Map<string, string>();
    settle(members, hostsN(10), masters);
    assert.equal(masters.size, 10);
    const l = loads(members, masters);
    assert.ok(l[l.length - 1]! - l[0]! <= 1, String(l));
    assert.deepEqual(masters, assignBalanced(hostsN(10), members));
  });

  it('hands hosts over to a member that joins, moving few, and stays balanced', () => {
    const masters = new Map<string, string>();
    settle(['m1', 'm2', 'm3'], hostsN(12), masters);
    const before = new Map(masters);
    settle(['m1', 'm2', 'm3', 'm4'], hostsN(12), masters);
    assert.deepEqual(loads(['m1', 'm2', 'm3', 'm4'], masters), [3, 3, 3, 3]);
    assert.deepEqual(masters, assignBalanced(hostsN(12), ['m1', 'm2', 'm3', 'm4']), 'the key holders are exactly the balanced owners');
    const moved = [...masters].filter(([h, m]) => before.get(h) !== m);
    // The newcomer takes its share; the bounded load may shuffle a little more.
    assert.equal(moved.filter(([, m]) => m === 'm4').length, 3);
    assert.ok(moved.length <= 5, `moved ${JSON.stringify(moved)}`);
  });

  it('lets the survivors take the hosts of a member whose lease died', () => {
    const masters = new Map<string, string>();
    settle(['m1', 'm2', 'm3'], hostsN(9), masters);
    for (const [h, m] of masters) if (m === 'm2') masters.delete(h); // the lease took its keys along
    settle(['m1', 'm3'], hostsN(9), masters);
    assert.equal(masters.size, 9);
    assert.deepEqual(loads(['m1', 'm3'], masters), [4, 5]);
  });

  it('re-balances when a new host makes a holder exceed its share', () => {
    const members = ['m1', 'm2'];
    const masters = new Map<string, string>();
    settle(members, hostsN(3), masters);
    settle(members, hostsN(4), masters);
    assert.deepEqual(loads(members, masters), [2, 2]);
  });

  it('never takes a host the member does not see, and never hands over to a dead member', () => {
    assert.deepEqual(decideMastership({ self: 'm1', master: undefined, owner: 'm1', seen: false, isLive: () => true }), { kind: 'keep' });
    assert.deepEqual(decideMastership({ self: 'm1', master: 'm1', owner: 'm2', seen: true, isLive: () => false }), { kind: 'keep' });
    assert.deepEqual(decideMastership({ self: 'm1', master: 'm1', owner: 'm2', seen: true, isLive: () => true }), { kind: 'release', to: 'm2' });
    assert.deepEqual(decideMastership({ self: 'm1', master: 'm2', owner: 'm1', seen: true, isLive: () => true }), { kind: 'keep' }, 'waits for the holder to hand over');
  });
});
