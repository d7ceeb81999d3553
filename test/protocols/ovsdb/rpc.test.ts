import assert from 'node:assert/strict';
import net from 'node:net';
import { ErrorObject, JsonRpcError, NotificationObject, RequestObject, SuccessObject } from 'jsonrpc-lite';
import { ConnectionError, DecodeError, TimeoutError } from '../../../protocols/common/errors';
import { OvsdbError } from '../../../protocols/ovsdb/errors';
import { JsonStream } from '../../../protocols/ovsdb/json-stream';
import { decodeRpcMessage, encodeRpcMessage, OvsdbRpc, type RpcEvent, type RpcOptions } from '../../../protocols/ovsdb/rpc';
import { waitFor } from '../../../src/sandbox/processes';

/** Our OvsdbRpc on one end of a loopback TCP connection, a raw socket (the "peer") on the other. */
async function pair(options: RpcOptions = {}): Promise<{ rpc: OvsdbRpc; peer: net.Socket; received: unknown[]; events: RpcEvent[]; done: () => void }> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const peer = await accepted;
  server.close();
  const rpc = new OvsdbRpc(client, options);
  const events: RpcEvent[] = [];
  rpc.on('event', (e: RpcEvent) => events.push(e));
  const received: unknown[] = [];
  const stream = new JsonStream();
  peer.on('data', (d: Buffer) => received.push(...stream.push(d)));
  peer.on('error', () => undefined);
  return {
    rpc,
    peer,
    received,
    events,
    done: () => {
      rpc.close();
      peer.destroy();
    },
  };
}

describe('ovsdb rpc codec', () => {
  it('writes JSON-RPC 1.0 as ovsdb-server expects (no "jsonrpc" member)', () => {
    assert.equal(encodeRpcMessage(new RequestObject(3, 'list_dbs', [])), '{"method":"list_dbs","params":[],"id":3}');
    assert.equal(encodeRpcMessage(new NotificationObject('cancel', [3])), '{"method":"cancel","params":[3],"id":null}');
    assert.equal(encodeRpcMessage(new SuccessObject('echo', ['x'])), '{"id":"echo","result":["x"],"error":null}');
    assert.equal(
      encodeRpcMessage(new ErrorObject(4, new JsonRpcError('unknown method', 0, { error: 'unknown method' }))),
      '{"id":4,"result":null,"error":{"error":"unknown method"}}',
    );
  });

  it('classifies requests, notifications, replies and errors', () => {
    assert.ok(decodeRpcMessage({ method: 'echo', params: [], id: 'echo' }, 0) instanceof RequestObject);
    assert.ok(decodeRpcMessage({ method: 'update2', params: [1, {}], id: null }, 0) instanceof NotificationObject);
    assert.ok(decodeRpcMessage({ method: 'locked', params: ['l'] }, 0) instanceof NotificationObject);
    assert.ok(decodeRpcMessage({ id: 1, result: [], error: null }, 0) instanceof SuccessObject);
    const err = decodeRpcMessage({ id: 1, error: { error: 'syntax error', details: 'x' } }, 0);
    assert.ok(err instanceof ErrorObject && err.error.message === 'syntax error');
  });

  it('rejects messages that are not JSON-RPC, with the offset', () => {
    for (const bad of [[1], 'x', { method: 1, params: [] }, { method: 'm', params: {} }, { result: 1 }, { id: 1 }]) {
      assert.throws(() => decodeRpcMessage(bad, 42), (e: unknown) => e instanceof DecodeError && e.offset === 42, JSON.stringify(bad));
    }
  });
});

describe('ovsdb rpc peer', () => {
  it('correlates replies by id, including out of order', async () => {
    const { rpc, peer, received, done } = await pair({ inactivityProbeMs: 0 });
    try {
      const a = rpc.request('list_dbs', []);
      const b = rpc.request('get_schema', ['db']);
      await waitFor('two requests', () => received.length === 2);
      const [ra, rb] = received as { id: number }[];
      peer.write(JSON.stringify({ id: rb!.id, result: { name: 'db' }, error: null }) + JSON.stringify({ id: ra!.id, result: ['db'], error: null }));
      assert.deepEqual(await a, ['db']);
      assert.deepEqual(await b, { name: 'db' });
    } finally {
      done();
    }
  });

  it('maps an error reply to OvsdbError and a silent peer to TimeoutError', async () => {
    const { rpc, peer, received, done } = await pair({ inactivityProbeMs: 0, requestTimeoutMs: 100 });
    try {
      const failing = rpc.request('get_schema', ['nope']);
      await waitFor('request', () => received.length === 1);
      peer.write(JSON.stringify({ id: (received[0] as { id: number }).id, error: { error: 'unknown database', details: 'nope' } }));
      await assert.rejects(failing, (e: unknown) => e instanceof OvsdbError && e.error === 'unknown database' && e.details === 'nope');
      await assert.rejects(rpc.request('list_dbs', []), TimeoutError);
      assert.ok(rpc.isOpen, 'a timeout does not close the connection');
    } finally {
      done();
    }
  });

  it('answers echo requests and refuses other methods', async () => {
    const { peer, received, events, done } = await pair({ inactivityProbeMs: 0 });
    try {
      peer.write('{"method":"echo","params":["hi",1],"id":"echo"}{"method":"transact","params":[],"id":7}');
      await waitFor('two replies', () => received.length === 2);
      assert.deepEqual(received[0], { id: 'echo', result: ['hi', 1], error: null });
      assert.deepEqual(received[1], { id: 7, result: null, error: { error: 'unknown method', details: 'transact' } });
      assert.ok(events.some((e) => e.kind === 'echo-answered'));
    } finally {
      done();
    }
  });

  it('dispatches notifications as events', async () => {
    const { peer, events, done } = await pair({ inactivityProbeMs: 0 });
    try {
      peer.write('{"method":"locked","params":["l"],"id":null}');
      const n = await waitFor('notification', () => events.find((e) => e.kind === 'notification'));
      assert.deepEqual(n, { kind: 'notification', method: 'locked', params: ['l'] });
    } finally {
      done();
    }
  });

  it('keeps messages in order behind a large message (parsed in slices) and behind a held handler', async () => {
    const { rpc, peer, events, done } = await pair({ inactivityProbeMs: 0 });
    try {
      const order: string[] = [];
      let release: () => void = () => undefined;
      rpc.on('event', (e: RpcEvent) => {
        if (e.kind !== 'notification') return;
        order.push(e.method);
        // The handler of "slow" takes until we release it.
        if (e.method === 'slow') rpc.holdInbound(new Promise<void>((r) => (release = r)));
      });
      const pending = rpc.request('list_dbs', []).then((r) => order.push(`reply ${JSON.stringify(r)}`));
      const big = JSON.stringify({ method: 'big', params: ['x'.repeat(3 * 1024 * 1024)], id: null });
      peer.write(big + '{"method":"slow","params":[],"id":null}{"id":1,"result":["db"],"error":null}');
      await waitFor('slow handler running', () => order.includes('slow'), 5000);
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(order, ['big', 'slow'], 'the reply waits for the held handler');
      release();
      await pending;
      assert.deepEqual(order, ['big', 'slow', 'reply ["db"]']);
      const bigEvent = events.find((e) => e.kind === 'notification' && e.method === 'big');
      assert.ok(bigEvent?.kind === 'notification');
      assert.equal((bigEvent.params[0] as string).length, 3 * 1024 * 1024);
    } finally {
      done();
    }
  });

  it('closes on garbage, rejecting pending requests with ConnectionError', async () => {
    const { rpc, peer, events, done } = await pair({ inactivityProbeMs: 0 });
    try {
      const pending = rpc.request('list_dbs', []);
      peer.write('{"id":99,"result":[]} <html>');
      await assert.rejects(pending, ConnectionError);
      const closed = events.find((e) => e.kind === 'closed');
      assert.ok(closed?.kind === 'closed' && closed.error instanceof DecodeError && closed.error.offset === 22);
      assert.equal(rpc.currentState, 'closed');
      await assert.rejects(rpc.request('list_dbs', []), ConnectionError);
    } finally {
      done();
    }
  });

  it('probes a silent peer with echo, then closes it', async () => {
    const { rpc, received, events, done } = await pair({ inactivityProbeMs: 80 });
    try {
      await waitFor('closed', () => !rpc.isOpen, 2000);
      assert.ok(received.some((m) => (m as { method?: string }).method === 'echo'));
      const closed = events.find((e) => e.kind === 'closed');
      assert.ok(closed?.kind === 'closed' && closed.error instanceof TimeoutError);
    } finally {
      done();
    }
  });

  it('sends what one event-loop turn writes in one socket write, in order', async () => {
    const { rpc, peer, received, done } = await pair({ inactivityProbeMs: 0 });
    try {
      const socket = (rpc as unknown as { socket: net.Socket & { _write: unknown; _writev: unknown } }).socket;
      const calls: string[] = [];
      for (const m of ['_write', '_writev'] as const) {
        const original = socket[m] as (...a: unknown[]) => unknown;
        socket[m] = (...a: unknown[]) => (calls.push(m), original.apply(socket, a));
      }
      const replies = Array.from({ length: 50 }, (_, i) => rpc.request('echo', [i]));
      await waitFor('50 requests at the peer', () => received.length === 50, 2000);
      assert.deepEqual(calls, ['_writev'], 'one write for the turn');
      assert.deepEqual(received.map((m) => (m as { params: number[] }).params[0]), [...Array(50).keys()]);
      for (const m of received as { id: number; params: unknown[] }[]) peer.write(JSON.stringify({ id: m.id, result: m.params, error: null }));
      assert.deepEqual(await Promise.all(replies), Array.from({ length: 50 }, (_, i) => [i]));
    } finally {
      done();
    }
  });

  it('does not close a peer whose answer came while our own event loop was stalled', async () => {
    const { rpc, peer, events, done } = await pair({ inactivityProbeMs: 200 });
    try {
      const stream = new JsonStream();
      let answered = 0;
      peer.on('data', (d: Buffer) => {
        for (const m of stream.push(d) as { method?: string; id?: unknown; params?: unknown }[]) {
          if (m.method !== 'echo') continue;
          peer.write(JSON.stringify({ id: m.id, result: m.params, error: null }));
          // The first answer is on the wire; now our loop is busy past the probe's next check.
          if (answered++ === 0) for (const until = Date.now() + 900; Date.now() < until; );
        }
      });
      await waitFor('two probes answered', () => answered >= 2, 3000);
      assert.ok(rpc.isOpen, 'still open');
      assert.equal(events.filter((e) => e.kind === 'closed').length, 0);
    } finally {
      done();
    }
  });

  it('cancels a request (RFC 7047 §4.1.4) when its signal aborts', async () => {
    const { rpc, received, done } = await pair({ inactivityProbeMs: 0 });
    try {
      const ac = new AbortController();
      const p = rpc.request('transact', ['db'], { signal: ac.signal, timeoutMs: 0 });
      await waitFor('request', () => received.length === 1);
      ac.abort();
      await assert.rejects(p, (e: unknown) => e instanceof OvsdbError && e.error === 'canceled');
      await waitFor('cancel notification', () => received.length === 2);
      assert.deepEqual(received[1], { method: 'cancel', params: [(received[0] as { id: number }).id], id: null });
    } finally {
      done();
    }
  });
});

describe('ovsdb rpc peer that does not read', function () {
  this.timeout(20_000);
  it('stops reading from a peer that sends echo requests and never reads the replies, then drops it', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
    // The attacker: sends and never reads (no 'data' listener, so its socket is never drained).
    const attacker = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    attacker.on('error', () => undefined);
    const socket = await accepted;
    server.close();
    const maxUnsentBytes = 1024 * 1024;
    const rpc = new OvsdbRpc(socket, { inactivityProbeMs: 0, maxUnsentBytes, stallTimeoutMs: 500 });
    const events: RpcEvent[] = [];
    rpc.on('event', (e: RpcEvent) => events.push(e));
    let maxUnsent = 0;
    const sampler = setInterval(() => (maxUnsent = Math.max(maxUnsent, socket.writableLength)), 2);
    try {
      const padding = 'x'.repeat(60_000);
      let sentBytes = 0;
      for (let id = 1; sentBytes < 64 * 1024 * 1024 && rpc.isOpen; id++) {
        const msg = Buffer.from(JSON.stringify({ method: 'echo', params: [padding], id }));
        sentBytes += msg.length;
        if (!attacker.write(msg)) {
          // Blocked: the kernel buffers are full because we stopped reading. Wait to be dropped.
          const drained = await Promise.race([new Promise((r) => attacker.once('drain', () => r(true))), waitFor('closed', () => !rpc.isOpen, 5000).then(() => false)]);
          if (!drained) break;
        }
      }
      await waitFor('attacker dropped', () => !rpc.isOpen, 5000);
      const closed = events.find((e) => e.kind === 'closed');
      assert.ok(closed?.kind === 'closed' && closed.error instanceof ConnectionError, String(closed?.kind === 'closed' && closed.error));
      assert.match(closed.error.message, /peer does not read: \d+ bytes unsent/);
      // What waited for the attacker stayed near the limit (one chunk of replies over it at most).
      assert.ok(maxUnsent < maxUnsentBytes + 256 * 1024, `up to ${maxUnsent} bytes were waiting for the peer`);
      assert.ok(sentBytes < 32 * 1024 * 1024, `the attacker could send ${sentBytes} bytes`);
    } finally {
      clearInterval(sampler);
      rpc.close();
      attacker.destroy();
    }
  });
});
