import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { PassQueue } from '../../../src/southbound/pass-queue';

describe('host passes bounded per event-loop turn (pass-queue)', function () {
  it('starts at most maxPerTurn passes per turn, oldest first, and all of them in the end', async function () {
    const started: number[] = [];
    const perTurn: number[] = [];
    const queue = new PassQueue<number>((n) => started.push(n), { maxPerTurn: 8, budgetMs: 1000 });
    for (let i = 0; i < 50; i++) queue.add(i);
    assert.equal(started.length, 0, 'nothing runs inside the caller (the socket read that brought the update)');
    while (started.length < 50) {
      const before = started.length;
      await nextTurn();
      perTurn.push(started.length - before);
      assert.ok(perTurn.length < 100, 'the queue drains');
    }
    assert.ok(Math.max(...perTurn) <= 8, `at most 8 per turn, got ${perTurn.join(',')}`);
    assert.deepEqual(started, [...Array(50).keys()]);
  });

  it('stops a turn once its time budget is spent', async function () {
    let nowMs = 0;
    const started: number[] = [];
    // Every pass "costs" 4 ms on the queue's clock: a 10 ms budget starts 3 per turn.
    const queue = new PassQueue<number>((n) => ((nowMs += 4), started.push(n)), { maxPerTurn: 1000, budgetMs: 10, nowMs: () => nowMs });
    for (let i = 0; i < 9; i++) queue.add(i);
    await nextTurn();
    assert.deepEqual(started, [0, 1, 2]);
    await nextTurn();
    assert.deepEqual(started, [0, 1, 2, 3, 4, 5]);
  });

  it('queues a host once however often it is added, and not after it is deleted', async function () {
    const started: string[] = [];
    const queue = new PassQueue<string>((h) => started.push(h));
    for (let i = 0; i < 5; i++) ['a', 'b', 'c'].forEach((h) => queue.add(h));
    queue.delete('b');
    assert.equal(queue.size, 2);
    await nextTurn();
    assert.deepEqual(started, ['a', 'c']);
    queue.add('a');
    queue.stop();
    queue.add('c');
    await nextTurn();
    assert.deepEqual(started, ['a', 'c'], 'a stopped queue starts nothing');
  });
});
