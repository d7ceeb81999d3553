import assert from 'node:assert/strict';
import { DecodeError } from '../../../protocols/common/errors';
import { decodeMessage, encodeMessage } from '../../../protocols/openflow/codec';
import { Framer } from '../../../protocols/openflow/framer';
import type { OfpMessage } from '../../../protocols/openflow/messages';
import { ARP_FRAME } from './codec-cases';

const MESSAGES: OfpMessage[] = [
  { type: 'hello', xid: 1, versions: [4] },
  { type: 'features_reply', xid: 2, datapathId: 0xabn, nBuffers: 0, nTables: 254, auxiliaryId: 0, capabilities: 0x4f },
  {
    type: 'nx_packet_in2', xid: 3, data: ARP_FRAME, tableId: 0, cookie: 0n, reason: 1,
    metadata: [{ field: 'in_port', value: 1 }], userdata: Buffer.from('cafe', 'hex'),
  },
  {
    type: 'multipart_reply', xid: 4, flags: 0,
    body: { kind: 'table', entries: [{ tableId: 0, activeCount: 1, lookupCount: 2n, matchedCount: 1n }] },
  },
  { type: 'barrier_reply', xid: 5 },
];
const STREAM = Buffer.concat(MESSAGES.map(encodeMessage));

function decodeAll(framer: Framer, chunks: Buffer[]): OfpMessage[] {
  return chunks.flatMap((c) => framer.push(c)).map((m) => decodeMessage(m));
}

describe('openflow framer', () => {
  it('splits several messages delivered in one chunk', () => {
    const framer = new Framer();
    assert.deepEqual(decodeAll(framer, [STREAM]), MESSAGES);
    assert.equal(framer.bufferedBytes, 0);
    assert.equal(framer.offset, STREAM.length);
  });

  it('reassembles messages delivered one byte at a time', () => {
    const framer = new Framer();
    const chunks = [...STREAM].map((b) => Buffer.of(b));
    assert.deepEqual(decodeAll(framer, chunks), MESSAGES);
  });

  it('handles every split point of the stream into two chunks', () => {
    for (let cut = 0; cut <= STREAM.length; cut++) {
      const framer = new Framer();
      const got = decodeAll(framer, [STREAM.subarray(0, cut), STREAM.subarray(cut)]);
      assert.deepEqual(got, MESSAGES, `cut at ${cut}`);
    }
  });

  it('keeps a partial header buffered until the rest arrives', () => {
    const framer = new Framer();
    assert.deepEqual(framer.push(STREAM.subarray(0, 3)), []);
    assert.equal(framer.bufferedBytes, 3);
    const first = framer.push(STREAM.subarray(3, 16));
    assert.equal(first.length, 1);
    assert.deepEqual(decodeMessage(first[0] as Buffer), MESSAGES[0]);
  });

  it('returns the messages of a chunk of several as copies (a kept message does not pin the chunk)', () => {
    const framer = new Framer();
    const chunk = Buffer.from(STREAM);
    const out = framer.push(chunk);
    chunk.fill(0);
    assert.deepEqual(out.map((m) => decodeMessage(m)), MESSAGES);
  });

  it('hands a chunk that is exactly one message back as it is (no copy), and still frames what follows', () => {
    const framer = new Framer();
    const one = encodeMessage(MESSAGES[0]!);
    const out = framer.push(one);
    assert.equal(out.length, 1);
    assert.equal(out[0], one, 'the chunk itself');
    assert.equal(framer.offset, one.length);
    // A chunk of one message after a partial one is framed across both.
    const two = encodeMessage(MESSAGES[4]!);
    assert.deepEqual(framer.push(two.subarray(0, 5)), []);
    const rest = framer.push(Buffer.concat([two.subarray(5), one]));
    assert.deepEqual(rest.map((m) => decodeMessage(m)), [MESSAGES[4], MESSAGES[0]]);
    assert.equal(framer.offset, 2 * one.length + two.length);
  });

  it('a length shorter than the header throws DecodeError at its stream offset', () => {
    const framer = new Framer();
    const bad = Buffer.concat([encodeMessage({ type: 'barrier_request', xid: 1 }), Buffer.from('0414000400000002', 'hex')]);
    assert.throws(() => framer.push(bad), (err: unknown) => err instanceof DecodeError && err.offset === 8 + 2);
  });
});
