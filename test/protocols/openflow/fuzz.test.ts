import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DecodeError } from '../../../protocols/common/errors';
import { decodeMessage, encodeMessage } from '../../../protocols/openflow/codec';
import { Framer } from '../../../protocols/openflow/framer';
import { PlexusError } from '../../../protocols/common/errors';
import { seededRandom } from '../../support/random';

const fixtures = readdirSync(join(__dirname, '../../fixtures/openflow'))
  .filter((f) => f.endsWith('.hex'))
  .map((f) => Buffer.from(readFileSync(join(__dirname, '../../fixtures/openflow', f), 'utf8').replace(/\s+/g, ''), 'hex'));

/** decodeMessage must return, or throw DecodeError with an offset inside the input. Never anything else. */
function decodesSafely(buf: Buffer, what: string): 'ok' | 'rejected' {
  try {
    const msg = decodeMessage(buf);
    // Whatever decodes must encode again without crashing (it may refuse with a typed error).
    try {
      encodeMessage(msg);
    } catch (err) {
      assert.ok(err instanceof PlexusError, `${what}: re-encode threw ${String(err)}`);
    }
    return 'ok';
  } catch (err) {
    assert.ok(err instanceof DecodeError, `${what}: threw ${(err as Error)?.name}: ${(err as Error)?.message}`);
    assert.ok(err.offset >= 0 && err.offset <= buf.length, `${what}: offset ${err.offset} outside ${buf.length} bytes`);
    return 'rejected';
  }
}

function withLength(buf: Buffer): Buffer {
  const out = Buffer.from(buf);
  out.writeUInt16BE(out.length, 2);
  return out;
}

describe('openflow decoder fuzz', () => {
  it(`survives 10,000 random messages with plausible headers`, () => {
    const r = seededRandom(1);
    const seen = { ok: 0, rejected: 0 };
    for (let i = 0; i < 10_000; i++) {
      const len = 8 + Math.floor(r() * 200);
      const buf = Buffer.alloc(len);
      for (let j = 0; j < len; j++) buf[j] = Math.floor(r() * 256);
      buf[0] = 4;
      buf[1] = Math.floor(r() * 32);
      buf.writeUInt16BE(len, 2);
      seen[decodesSafely(buf, `random #${i}`)]++;
    }
    assert.ok(seen.ok > 100 && seen.rejected > 100, JSON.stringify(seen));
  });

  it(`survives 10,000 mutations of messages Open vSwitch sent (${fixtures.length} fixtures)`, () => {
    assert.ok(fixtures.length >= 20);
    const r = seededRandom(2);
    for (let i = 0; i < 10_000; i++) {
      const base = fixtures[i % fixtures.length]!;
      let buf = Buffer.from(base);
      const flips = 1 + Math.floor(r() * 4);
      for (let k = 0; k < flips; k++) buf[8 + Math.floor(r() * Math.max(1, buf.length - 8))] = Math.floor(r() * 256);
      if (r() < 0.3) buf = buf.subarray(0, 8 + Math.floor(r() * (buf.length - 8)));
      decodesSafely(withLength(buf), `mutation #${i}`);
    }
  });

  it('rejects every truncation of every fixture with DecodeError, never worse', () => {
    for (const f of fixtures) {
      for (let cut = 8; cut < f.length; cut++) decodesSafely(withLength(f.subarray(0, cut)), `truncation at ${cut}`);
    }
  });

  it('rejects a header whose length does not match the buffer', () => {
    const hello = encodeMessage({ type: 'hello', xid: 1, versions: [4] });
    const lying = Buffer.from(hello);
    lying.writeUInt16BE(hello.length + 4, 2);
    assert.throws(() => decodeMessage(lying), DecodeError);
  });

  it('frames random chunkings of a random stream without throwing anything but DecodeError', () => {
    const r = seededRandom(3);
    for (let run = 0; run < 200; run++) {
      const framer = new Framer();
      const stream = Buffer.concat(Array.from({ length: 20 }, () => {
        const len = 8 + Math.floor(r() * 64);
        const m = Buffer.alloc(len);
        for (let j = 0; j < len; j++) m[j] = Math.floor(r() * 256);
        if (r() < 0.9) m.writeUInt16BE(len, 2);
        return m;
      }));
      try {
        for (let at = 0; at < stream.length; ) {
          const n = 1 + Math.floor(r() * 40);
          for (const frame of framer.push(stream.subarray(at, at + n))) decodesSafely(frame, `framed #${run}`);
          at += n;
        }
      } catch (err) {
        assert.ok(err instanceof DecodeError, `framer threw ${(err as Error).name}`);
      }
    }
  });

  it('handles a maximal 64 KiB message', () => {
    const big = Buffer.alloc(0xffff, 0xab);
    big.writeUInt8(4, 0);
    big.writeUInt8(2, 1); // ECHO_REQUEST: any payload is legal
    big.writeUInt16BE(0xffff, 2);
    const msg = decodeMessage(big);
    assert.equal(msg.type, 'echo_request');
    const framer = new Framer();
    assert.equal(framer.push(big.subarray(0, 30000)).length, 0);
    assert.equal(framer.push(big.subarray(30000)).length, 1);
  });
});
