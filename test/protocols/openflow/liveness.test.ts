import assert from 'node:assert/strict';
import { Liveness } from '../../../protocols/openflow/liveness';
import { waitFor } from '../../../src/sandbox/processes';

function stall(ms: number): void {
  for (const until = Date.now() + ms; Date.now() < until; );
}

describe('OpenFlow echo keepalive (liveness)', function () {
  it('does not call a peer dead whose answer came while our own loop was stalled, and still finds a silent one', async function () {
    const deaths: string[] = [];
    let echoes = 0;
    let live: Liveness | undefined;
    live = new Liveness({ echoIntervalMs: 100, echoTimeoutMs: 100 }, {
      canJudge: () => true,
      isReady: () => true,
      sendEcho: () => {
        if (++echoes > 1) return; // the second echo goes unanswered
        // Our loop is busy for 900 ms outside the timers phase (as when it handles a socket's data);
        // the answer is read only after the timers of the next turn ran (as the next poll would).
        setTimeout(() => setImmediate(() => {
          stall(900);
          setImmediate(() => live!.heard());
        }), 20);
      },
      dead: (err) => deaths.push(err.message),
    });
    try {
      await waitFor('the first echo', () => echoes >= 1, 2000, 5);
      await waitFor('the stall over and the answer read', () => echoes >= 2 || deaths.length > 0, 3000, 5);
      assert.deepEqual(deaths, [], 'alive: its answer was waiting while we were stalled');
      await waitFor('a silent peer found dead', () => deaths.length > 0, 3000, 10);
      assert.match(deaths[0]!, /echo unanswered/);
    } finally {
      live.stop();
    }
  });

  it('follows a new interval and timeout from the moment it is retuned, both ways', async function () {
    const deaths: string[] = [];
    let echoes = 0;
    const hooks = { canJudge: () => true, isReady: () => true, sendEcho: () => void echoes++, dead: (err: Error) => void deaths.push(err.message) };
    const slow = new Liveness({ echoIntervalMs: 60_000, echoTimeoutMs: 60_000 }, hooks);
    try {
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(echoes, 0, 'no echo within a minute-long interval');
      slow.retune({ echoIntervalMs: 100, echoTimeoutMs: 100 });
      await waitFor('an echo at the new interval', () => echoes === 1, 1000, 5);
      await waitFor('the silent peer dead at the new timeout', () => deaths.length === 1, 1000, 5);
    } finally {
      slow.stop();
    }
    echoes = 0;
    const fast = new Liveness({ echoIntervalMs: 100, echoTimeoutMs: 100 }, hooks);
    try {
      await waitFor('an echo', () => echoes === 1, 1000, 5);
      fast.retune({ echoIntervalMs: 60_000, echoTimeoutMs: 60_000 });
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(deaths.length, 1, 'the outstanding echo is judged by the new, longer timeout');
    } finally {
      fast.stop();
    }
  });
});
