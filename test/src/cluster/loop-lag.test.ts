import assert from 'node:assert/strict';
import net from 'node:net';
import { withTimeout } from '../../../src/cluster/loop-lag';

/** Busy-waits: this event loop is stalled meanwhile (timers and sockets wait). */
function stall(ms: number): void {
  for (const until = Date.now() + ms; Date.now() < until; );
}

describe('timeouts on a stalled event loop (cluster loop-lag withTimeout)', function () {
  it('takes an answer that arrived while the loop was stalled past the deadline, and still times out a silent peer', async function () {
    let answered = false;
    const server = net.createServer((s) => s.on('data', (d) => s.write(d, () => (answered = true))));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    try {
      await new Promise<void>((r) => client.once('connect', r));
      const echoed = (): Promise<string> => new Promise((r) => client.once('data', (d) => r(d.toString())));
      // The echo is on its way back at once, but this loop is stalled 300 ms past the 50 ms deadline.
      const answer = withTimeout(echoed(), 50);
      client.write('lease?');
      while (!answered) await new Promise((r) => setImmediate(r)); // the answer is on the wire, not yet read
      stall(350);
      assert.equal(await answer, 'lease?');

      await assert.rejects(withTimeout(new Promise(() => undefined), 50), /no answer within 50 ms/);
      const silent = withTimeout(new Promise(() => undefined), 20);
      stall(300);
      await assert.rejects(silent, /no answer within 20 ms/, 'a second look after a stall, then the timeout');
    } finally {
      client.destroy();
      server.close();
    }
  });
});
