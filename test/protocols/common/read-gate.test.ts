import assert from 'node:assert/strict';
import net from 'node:net';
import { ReadGate, type ReadGateState } from '../../../protocols/common/read-gate';
import { waitFor } from '../../../src/sandbox/processes';

async function socketPair(): Promise<{ ours: net.Socket; peer: net.Socket; close: () => void }> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const peer = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const ours = await accepted;
  server.close();
  return { ours, peer, close: () => (ours.destroy(), peer.destroy()) };
}

describe('read gate', function () {
  this.timeout(20_000);

  it('pauses reading while much waits for a slow reader, resumes once it has read it, and never calls it stalled', async () => {
    const { ours, peer, close } = await socketPair();
    const gate = new ReadGate(ours, { maxUnsentBytes: 1024 * 1024, stallTimeoutMs: 1000 });
    const states: ReadGateState[] = [];
    gate.on('state', (s) => states.push(s));
    ours.on('data', () => undefined);
    peer.pause();
    // The peer takes what it has every 5 ms (some MB/s): slower than we write, but it
    // reads, well within the stall timeout (a slower pace only makes the test longer).
    const reader = setInterval(() => {
      while (peer.read() !== null);
    }, 5);
    try {
      const block = Buffer.alloc(1024 * 1024, 0x62);
      for (let i = 0; i < 10; i++) {
        gate.noteWrite(block.length);
        ours.write(block);
      }
      gate.check();
      assert.equal(gate.currentState, 'paused');
      assert.equal(ours.isPaused(), true);
      await waitFor('drained', () => gate.currentState === 'flowing', 15_000);
      assert.deepEqual(states, ['paused', 'flowing']);
      assert.equal(ours.isPaused(), false);
    } finally {
      clearInterval(reader);
      gate.dispose();
      close();
    }
  });

  it('reports a peer that reads nothing as stalled', async () => {
    const { ours, peer, close } = await socketPair();
    const gate = new ReadGate(ours, { maxUnsentBytes: 64 * 1024, stallTimeoutMs: 100 });
    peer.pause();
    let stalled: Error | undefined;
    gate.on('stalled', (err) => (stalled = err));
    try {
      const block = Buffer.alloc(1024 * 1024, 0x62);
      // Enough to fill both kernel buffers, so the socket keeps bytes it cannot send.
      for (let i = 0; i < 32; i++) {
        gate.noteWrite(block.length);
        ours.write(block);
      }
      gate.check();
      await waitFor('stalled', () => stalled, 5000);
      assert.equal(gate.currentState, 'stalled');
      assert.match(stalled!.message, /peer does not read: \d+ bytes unsent, nothing taken for \d+ ms/);
    } finally {
      gate.dispose();
      close();
    }
  });
});
