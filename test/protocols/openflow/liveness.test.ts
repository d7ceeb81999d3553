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
});
