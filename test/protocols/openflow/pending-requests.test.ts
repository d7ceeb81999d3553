import assert from 'node:assert/strict';
import { ConnectionError, TimeoutError } from '../../../protocols/common/errors';
import { OFPET, OFPMPF } from '../../../protocols/openflow/constants';
import { OpenFlowError } from '../../../protocols/openflow/errors';
import type { Decoded } from '../../../protocols/openflow/messages';
import { mergeMultipart, PendingRequests } from '../../../protocols/openflow/pending-requests';

const error = (xid: number): Decoded => ({ type: 'error', xid, errType: OFPET.BAD_REQUEST, code: 1, data: Buffer.alloc(0) }) as Decoded;
const flowPart = (xid: number, more: boolean, cookie: bigint): Decoded =>
  ({ type: 'multipart_reply', xid, flags: more ? OFPMPF.REPLY_MORE : 0, body: { kind: 'flow', entries: [{ cookie }] } }) as unknown as Decoded;

describe('openflow pending requests (xid correlation)', () => {
  it('resolves a request with its reply and leaves other messages to the caller', async () => {
    const p = new PendingRequests();
    const xid = p.allocXid();
    const reply = p.wait(xid, 1000, 'no reply');
    assert.equal(p.take({ type: 'packet_in', xid: 0 } as Decoded, 10), 'unsolicited');
    assert.equal(p.take({ type: 'barrier_reply', xid } as Decoded, 8), 'taken');
    assert.deepEqual((await reply).map((m) => m.type), ['barrier_reply']);
    assert.equal(p.take({ type: 'barrier_reply', xid } as Decoded, 8), 'unsolicited', 'answered once');
  });

  it('reassembles a multipart reply, and reports one that grows past its bound', async () => {
    const p = new PendingRequests(100);
    const xid = p.allocXid();
    const reply = p.wait(xid, 1000, 'no reply');
    assert.equal(p.take(flowPart(xid, true, 1n), 60), 'taken');
    assert.equal(p.take(flowPart(xid, false, 2n), 60), 'taken');
    const merged = mergeMultipart(await reply) as unknown as { flags: number; body: { entries: { cookie: bigint }[] } };
    assert.deepEqual(merged.body.entries.map((e) => e.cookie), [1n, 2n]);
    assert.equal(merged.flags, 0);
    const big = p.allocXid();
    void p.wait(big, 1000, 'no reply').catch(() => undefined);
    assert.equal(p.take(flowPart(big, true, 1n), 60), 'taken');
    assert.equal(p.take(flowPart(big, true, 2n), 60), 'overflow');
    p.rejectAll();
  });

  it('gives a batch the errors for its xids and a waiting request its own error', async () => {
    const p = new PendingRequests();
    const first = p.peekXid;
    const a = p.allocXid();
    const b = p.allocXid();
    const barrier = p.allocXid();
    const errors = await p.collectErrors(first, barrier, async () => {
      assert.equal(p.take(error(b), 12), 'taken');
      assert.equal(p.take(error(a), 12), 'taken');
    });
    assert.equal(errors.length, 2);
    assert.ok(errors.every((e) => e instanceof OpenFlowError));
    const lone = p.allocXid();
    const reply = p.wait(lone, 1000, 'no reply');
    assert.equal(p.take(error(lone), 12), 'taken');
    await assert.rejects(reply, OpenFlowError);
    assert.equal(p.take(error(9999), 12), 'unsolicited');
  });

  it('times out, abandons and rejects everything on close', async () => {
    const p = new PendingRequests();
    await assert.rejects(p.wait(p.allocXid(), 10, 'no reply to echo'), (e: unknown) => e instanceof TimeoutError && /no reply to echo within 10 ms/.test(e.message));
    const x = p.allocXid();
    const abandoned = p.wait(x, 1000, 'no reply');
    p.abandon(x, new ConnectionError('could not send'));
    await assert.rejects(abandoned, /could not send/);
    const waiting = [p.wait(p.allocXid(), 1000, 'r'), p.wait(p.allocXid(), 1000, 'r')];
    p.rejectAll(new ConnectionError('closed'));
    for (const w of waiting) await assert.rejects(w, ConnectionError);
  });
});
