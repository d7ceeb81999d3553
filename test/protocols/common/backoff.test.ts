import assert from 'node:assert/strict';
import { Backoff, backoffDelayMs } from '../../../protocols/common/backoff';

describe('backoff', () => {
  it('walks the delay list, repeats the last entry, and adds bounded jitter', () => {
    const policy = { delaysMs: [10, 100, 1000], jitterRatio: 0.5 };
    assert.deepEqual([1, 2, 3, 4, 9].map((n) => backoffDelayMs(n, { ...policy, random: () => 0 })), [10, 100, 1000, 1000, 1000]);
    assert.equal(backoffDelayMs(2, { ...policy, random: () => 0.999 }), 150);
    // Defaults: 100 ms first, capped at 8 s, jitter up to 20%.
    assert.equal(backoffDelayMs(1, { random: () => 0 }), 100);
    assert.equal(backoffDelayMs(50, { random: () => 0 }), 8000);
    for (let i = 0; i < 50; i++) {
      const d = backoffDelayMs(1);
      assert.ok(d >= 100 && d <= 120, String(d));
    }
  });

  it('counts failures and starts over after a success', () => {
    const b = new Backoff({ delaysMs: [5, 50, 500], random: () => 0 });
    assert.deepEqual([b.nextDelayMs(), b.nextDelayMs(), b.nextDelayMs(), b.nextDelayMs()], [5, 50, 500, 500]);
    assert.equal(b.attempt, 4);
    b.reset();
    assert.equal(b.attempt, 0);
    assert.equal(b.nextDelayMs(), 5);
  });
});
