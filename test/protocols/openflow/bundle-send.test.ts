import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { decodeMessage, encodeMessage } from '../../../protocols/openflow/codec';
import { OpenFlowConnection, type ConnectionEvent } from '../../../protocols/openflow/connection';
import { OFPBCT, OFPET, OFPFC } from '../../../protocols/openflow/constants';
import { OpenFlowError } from '../../../protocols/openflow/errors';
import { Framer } from '../../../protocols/openflow/framer';
import type { Decoded, FlowMod } from '../../../protocols/openflow/messages';

const flow = (i: number): FlowMod => ({
  type: 'flow_mod', command: OFPFC.ADD, tableId: 3, priority: 100, cookie: BigInt(i), match: [{ field: 'reg0', value: i }],
});

/**
 * A scripted switch on a socket: answers HELLO and FEATURES, then `answer`
 * decides the reply to everything else (undefined: none). Records what it got.
 */
async function fakeSwitch(answer: (m: Decoded) => Buffer | undefined): Promise<{ conn: OpenFlowConnection; got: Decoded[]; close(): Promise<void> }> {
  const got: Decoded[] = [];
  let peer: Socket | undefined;
  const server: Server = createServer((s) => {
    peer = s;
    const framer = new Framer();
    s.on('data', (chunk: Buffer) => {
      for (const frame of framer.push(chunk)) {
        const m = decodeMessage(frame);
        got.push(m);
        if (m.type === 'hello') s.write(encodeMessage({ type: 'hello', xid: m.xid, versions: [4] }));
        else if (m.type === 'features_request') {
          s.write(encodeMessage({ type: 'features_reply', xid: m.xid, datapathId: 1n, nBuffers: 0, nTables: 254, auxiliaryId: 0, capabilities: 0 }));
        } else {
          const reply = answer(m);
          if (reply) s.write(reply);
        }
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const socket = connect((server.address() as { port: number }).port, '127.0.0.1');
  const conn = new OpenFlowConnection(socket, { side: 'controller' });
  await new Promise<void>((resolve) => conn.on('event', (e: ConnectionEvent) => e.kind === 'ready' && resolve()));
  return {
    conn,
    got,
    close: async () => {
      conn.close();
      peer?.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

const barrierReply = (m: Decoded): Buffer | undefined => (m.type === 'barrier_request' ? encodeMessage({ type: 'barrier_reply', xid: m.xid }) : undefined);

describe('OpenFlow connection: bundles sent in chunks, the OPEN not waited for', () => {
  it('sends OPEN, every add with its own xid (also its embedded message\'s), a barrier, then COMMIT', async () => {
    const sw = await fakeSwitch((m) =>
      m.type === 'bundle_control' ? encodeMessage({ type: 'bundle_control', xid: m.xid, bundleId: m.bundleId, ctrlType: m.ctrlType + 1, flags: m.flags }) : barrierReply(m));
    try {
      assert.deepEqual(await sw.conn.sendBundle(Array.from({ length: 1000 }, (_, i) => flow(i))), []);
      const seen = sw.got.filter((m) => m.type !== 'hello' && m.type !== 'features_request');
      assert.deepEqual(seen.map((m) => (m.type === 'bundle_control' ? `control ${m.ctrlType}` : m.type)).filter((t, i, a) => t !== a[i - 1]), [
        `control ${OFPBCT.OPEN_REQUEST}`, 'bundle_add', 'barrier_request', `control ${OFPBCT.COMMIT_REQUEST}`,
      ]);
      const adds = seen.filter((m): m is Extract<Decoded, { type: 'bundle_add' }> => m.type === 'bundle_add');
      assert.equal(adds.length, 1000);
      assert.equal(new Set(adds.map((a) => a.xid)).size, 1000);
      assert.ok(adds.every((a, i) => a.message.xid === a.xid && a.message.type === 'flow_mod' && a.message.cookie === BigInt(i)));
    } finally {
      await sw.close();
    }
  });

  it('throws the switch\'s refusal of the OPEN, and neither commits nor discards', async () => {
    const sw = await fakeSwitch((m) => {
      if (m.type === 'bundle_control') return encodeMessage({ type: 'error', xid: m.xid, errType: OFPET.BAD_REQUEST, code: 1, data: Buffer.alloc(0) });
      // Adds to a bundle that was never opened fail too.
      if (m.type === 'bundle_add') return encodeMessage({ type: 'error', xid: m.xid, errType: OFPET.BAD_REQUEST, code: 1, data: Buffer.alloc(0) });
      return barrierReply(m);
    });
    try {
      await assert.rejects(sw.conn.sendBundle([flow(1), flow(2)]), OpenFlowError);
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(sw.got.filter((m) => m.type === 'bundle_control').map((m) => m.type === 'bundle_control' && m.ctrlType), [OFPBCT.OPEN_REQUEST]);
    } finally {
      await sw.close();
    }
  });
});
