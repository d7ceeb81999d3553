import assert from 'node:assert/strict';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { ConnectionError } from '../../../protocols/common/errors';
import { OpenFlowConnection, type ConnectionEvent } from '../../../protocols/openflow/connection';
import { encodeMessage } from '../../../protocols/openflow/codec';
import { OFPFC } from '../../../protocols/openflow/constants';
import type { FlowMod } from '../../../protocols/openflow/messages';
import { OvsHost } from '../../../src/sandbox/ovs-host';
import { waitFor } from '../../../src/sandbox/processes';

const flow = (i: number): FlowMod => ({
  type: 'flow_mod',
  command: OFPFC.ADD,
  tableId: 3,
  priority: 100,
  cookie: BigInt(i),
  match: [{ field: 'reg0', value: i }],
  instructions: [{ type: 'apply_actions', actions: [{ type: 'output', port: 1 + (i % 7) }] }],
});

describe('OpenFlow connection with a real ovs-vswitchd @slow', function () {
  this.timeout(60_000);
  let host: OvsHost;
  let server: Server;
  let conn: OpenFlowConnection | undefined;

  before(async () => {
    server = createServer((socket) => {
      // A small write limit, so the bundles below also pause reading until the switch has taken them.
      const c = new OpenFlowConnection(socket, { side: 'controller', maxUnsentBytes: 64 * 1024 });
      c.on('event', (e: ConnectionEvent) => {
        if (e.kind === 'ready') conn = c;
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    host = await OvsHost.start({ name: 'ofconn', dummy: true });
    await host.vsctl('add-br', 'br-int', '--', 'set', 'bridge', 'br-int', 'datapath_type=dummy', 'protocols=OpenFlow13', 'fail_mode=secure');
    await host.vsctl('set-controller', 'br-int', `tcp:127.0.0.1:${port}`);
    await waitFor('switch connected', () => conn?.currentState === 'ready');
  });

  after(async () => {
    conn?.close();
    await host?.stop();
    await new Promise((r) => server.close(r));
  });

  it('negotiates OpenFlow 1.3 and learns the datapath id the switch reports in OVSDB', async () => {
    const dpid = (await host.vsctl('get', 'Bridge', 'br-int', 'datapath_id')).stdout.trim().replace(/"/g, '');
    assert.equal(conn!.switchFeatures!.datapathId.toString(16).padStart(16, '0'), dpid);
  });

  it('installs 2,000 flows in one bundle and reads them back through a reassembled multipart reply', async () => {
    const errors = await conn!.sendBundle(Array.from({ length: 2000 }, (_, i) => flow(i)));
    assert.deepEqual(errors, []);
    const reply = await conn!.request({ type: 'multipart_request', body: { kind: 'flow', tableId: 3 } });
    assert.equal(reply.type, 'multipart_reply');
    const entries = reply.type === 'multipart_reply' && reply.body.kind === 'flow' ? reply.body.entries : [];
    assert.equal(entries.length, 2000);
    assert.deepEqual(entries.map((e) => e.cookie).sort((a, b) => (a < b ? -1 : 1)), Array.from({ length: 2000 }, (_, i) => BigInt(i)));
    const e7 = entries.find((e) => e.cookie === 7n)!;
    assert.deepEqual(e7.match, [{ field: 'reg0', value: 7 }]);
    assert.deepEqual(e7.instructions, [{ type: 'apply_actions', actions: [{ type: 'output', port: 1 }] }]);
    // ovs-ofctl sees the same table.
    const dumped = (await host.dumpFlows()).filter((l) => l.includes('table=3'));
    assert.equal(dumped.length, 2000);
    assert.ok(dumped.includes('cookie=0x7, table=3, priority=100,reg0=0x7 actions=output:1'), dumped.slice(0, 3).join('\n'));
  });

  it('applies a bundle atomically: one bad flow and none of it is installed', async () => {
    const bad: FlowMod = { ...flow(5000), instructions: [{ type: 'goto_table', tableId: 1 }] }; // backwards goto: rejected
    const errors = await conn!.sendBundle([flow(4000), flow(4001), bad]);
    assert.ok(errors.length >= 1, 'the switch reported the failure');
    assert.match(errors.map((e) => e.message).join(' '), /BAD_TABLE_ID|BAD_INSTRUCTION|BUNDLE|MSG_FAILED/);
    const dumped = await host.dumpFlows();
    assert.ok(!dumped.some((l) => /cookie=0xfa0\b|cookie=0xfa1\b/.test(l)), 'the good flows of the failed bundle are not there');
  });

  it('answers echo and barrier', async () => {
    const echo = await conn!.request({ type: 'echo_request', data: Buffer.from('plexus') });
    assert.equal(echo.type, 'echo_reply');
    assert.deepEqual(echo.type === 'echo_reply' ? echo.data : undefined, Buffer.from('plexus'));
    await conn!.barrier();
  });

  it('rejects requests once closed', async () => {
    conn!.close();
    await assert.rejects(conn!.request({ type: 'barrier_request' }), ConnectionError);
  });
});

describe('OpenFlow connection with a peer that does not read', function () {
  this.timeout(20_000);
  it('stops reading from a peer that sends echo requests and never reads the replies, then drops it', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const accepted = new Promise<Socket>((r) => server.once('connection', r));
    // The attacker says HELLO, then only sends echo requests; it never reads (no 'data' listener).
    const attacker = connect((server.address() as AddressInfo).port, '127.0.0.1');
    attacker.on('error', () => undefined);
    const socket = await accepted;
    server.close();
    const maxUnsentBytes = 1024 * 1024;
    const conn = new OpenFlowConnection(socket, { side: 'controller', maxUnsentBytes, stallTimeoutMs: 500, handshakeTimeoutMs: 60_000 });
    let closedWith: unknown;
    conn.on('event', (e: ConnectionEvent) => {
      if (e.kind === 'closed') closedWith = e.error;
    });
    let maxUnsent = 0;
    const sampler = setInterval(() => (maxUnsent = Math.max(maxUnsent, socket.writableLength)), 2);
    try {
      attacker.write(encodeMessage({ type: 'hello', xid: 1, versions: [4] }));
      const echo = encodeMessage({ type: 'echo_request', xid: 2, data: Buffer.alloc(60_000, 0x61) });
      const burst = Buffer.concat(Array.from({ length: 16 }, () => echo));
      let sentBytes = 0;
      while (sentBytes < 64 * 1024 * 1024 && conn.isOpen) {
        sentBytes += burst.length;
        if (!attacker.write(burst)) {
          // Blocked: the kernel buffers are full because the connection stopped reading. Wait to be dropped.
          const drained = await Promise.race([new Promise((r) => attacker.once('drain', () => r(true))), waitFor('closed', () => !conn.isOpen, 5000).then(() => false)]);
          if (!drained) break;
        }
      }
      await waitFor('attacker dropped', () => !conn.isOpen, 5000);
      assert.ok(closedWith instanceof ConnectionError, String(closedWith));
      assert.match(closedWith.message, /peer does not read: \d+ bytes unsent/);
      // What waited for the attacker stayed near the limit (one chunk of replies over it at most).
      assert.ok(maxUnsent < maxUnsentBytes + 256 * 1024, `up to ${maxUnsent} bytes were waiting for the peer`);
      assert.ok(sentBytes < 32 * 1024 * 1024, `the attacker could send ${sentBytes} bytes`);
    } finally {
      clearInterval(sampler);
      conn.close();
      attacker.destroy();
    }
  });
});

describe('OpenFlow connection with a switch whose multipart reply never ends', function () {
  this.timeout(20_000);
  it('closes the connection once the reassembled reply exceeds its bound', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const accepted = new Promise<Socket>((r) => server.once('connection', r));
    const switchSocket = connect((server.address() as AddressInfo).port, '127.0.0.1');
    const socket = await accepted;
    server.close();
    const fake = new OpenFlowConnection(switchSocket, { side: 'switch' });
    const conn = new OpenFlowConnection(socket, { side: 'controller', maxMultipartBytes: 100_000 });
    let parts = 0;
    fake.on('event', (e: ConnectionEvent) => {
      if (e.kind !== 'message') return;
      const m = e.message;
      if (m.type === 'features_request') fake.send({ type: 'features_reply', xid: m.xid, datapathId: 7n, nBuffers: 0, nTables: 254, auxiliaryId: 0, capabilities: 0 });
      // Answers a flow dump with parts flagged "more to come", forever.
      if (m.type === 'multipart_request') {
        const more = (): void => {
          if (!fake.isOpen) return;
          for (let i = 0; i < 100; i++, parts++) fake.send({ type: 'multipart_reply', xid: m.xid, flags: 1, body: { kind: 'flow', entries: [] } });
          setImmediate(more);
        };
        more();
      }
    });
    try {
      await waitFor('controller ready', () => conn.currentState === 'ready');
      await assert.rejects(conn.request({ type: 'multipart_request', body: { kind: 'flow' } }), /multipart reply to xid \d+ exceeds 100000 bytes/);
      assert.equal(conn.isOpen, false);
      assert.ok(parts >= 100_000 / 16, `${parts} parts sent`);
    } finally {
      fake.close();
      conn.close();
    }
  });
});
