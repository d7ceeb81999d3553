import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { encodeMessage } from '../../../protocols/openflow/codec';
import { MessageSocket } from '../../../protocols/openflow/message-socket';
import type { Decoded } from '../../../protocols/openflow/messages';

/** A connected pair of loopback sockets. */
async function socketPair(): Promise<{ a: Socket; b: Socket; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  const a = connect((server.address() as { port: number }).port, '127.0.0.1');
  await new Promise<void>((resolve) => a.once('connect', () => resolve()));
  return { a, b: await accepted, server };
}

describe('openflow message socket (one write per event-loop turn)', () => {
  it('sends what one turn wrote, in order, as one chunk; a message that fails to encode leaves the others whole', async () => {
    const { a, b, server } = await socketPair();
    const chunks: Buffer[] = [];
    b.on('data', (c: Buffer) => chunks.push(c));
    const received: Decoded[] = [];
    const peer = new MessageSocket(b, {}, { message: (m) => received.push(m), heard: () => undefined, reading: () => undefined, failed: () => undefined });
    const ours = new MessageSocket(a, {}, { message: () => undefined, heard: () => undefined, reading: () => undefined, failed: () => undefined });
    ours.write({ type: 'echo_request', data: Buffer.from('one') }, 1);
    // A port number out of range fails half-way through encoding: nothing of it may go out.
    assert.throws(() => ours.write({ type: 'packet_out', actions: [{ type: 'output', port: 2 ** 33 }], data: Buffer.alloc(4) }, 2));
    ours.writeEncoded(encodeMessage({ type: 'barrier_request', xid: 3 }));
    ours.write({ type: 'echo_reply', data: Buffer.from('four') }, 4);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(received.map((m) => [m.type, m.xid]), [['echo_request', 1], ['barrier_request', 3], ['echo_reply', 4]]);
    assert.equal(chunks.length, 1, 'one write for the turn');
    ours.destroy();
    peer.destroy();
    server.close();
  });

  it('answers the messages of a chunk in the turn that read it (no tick before the write); the turn buffer is reused', async () => {
    const { a, b, server } = await socketPair();
    let writes = 0;
    const write = b.write.bind(b);
    b.write = ((...args: Parameters<Socket['write']>) => (writes++, write(...args))) as Socket['write'];
    const peer = new MessageSocket(b, {}, {
      message: (m) => m.type === 'echo_request' && peer.write({ type: 'echo_reply', data: m.data ?? Buffer.alloc(0) }, m.xid),
      heard: () => undefined, reading: () => undefined, failed: () => undefined,
    });
    // Runs right after the message socket's own listener, before any tick it could have scheduled.
    const writesAfterChunk: number[] = [];
    b.on('data', () => writesAfterChunk.push(writes));
    const replies: Decoded[] = [];
    const ours = new MessageSocket(a, {}, { message: (m) => replies.push(m), heard: () => undefined, reading: () => undefined, failed: () => undefined });
    for (let i = 1; i <= 3; i++) {
      ours.write({ type: 'echo_request', data: Buffer.from(`ping ${i}`) }, i);
      while (replies.length < i) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.deepEqual(writesAfterChunk, [1, 2, 3]);
    // Each reply intact although the three were encoded into the same reused buffer.
    assert.deepEqual(replies.map((m) => [m.type, m.xid, m.type === 'echo_reply' ? String(m.data) : '']), [
      ['echo_reply', 1, 'ping 1'], ['echo_reply', 2, 'ping 2'], ['echo_reply', 3, 'ping 3'],
    ]);
    ours.destroy();
    peer.destroy();
    server.close();
  });
});
