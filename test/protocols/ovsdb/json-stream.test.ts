import assert from 'node:assert/strict';
import { DecodeError } from '../../../protocols/common/errors';
import { BufferBudget, JsonStream } from '../../../protocols/ovsdb/json-stream';

const MESSAGES: unknown[] = [
  { id: 1, method: 'echo', params: [] },
  { id: null, method: 'update2', params: ['m1', { Bridge: { 'a': { modify: { name: 'br-{int}' } } } }] },
  { s: 'quote " and backslash \\ and }]{[', n: -1.5e3, b: true, z: null },
  ['top', 'level', ['array']],
  { utf8: 'grüße 🌍 ünïcødé ✓', emoji: '😀😀' },
];

function pushAll(stream: JsonStream, chunks: Buffer[]): unknown[] {
  return chunks.flatMap((c) => stream.push(c));
}

function splitEvery(buf: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size));
  return out;
}

describe('ovsdb json-stream', () => {
  const bytes = Buffer.from(MESSAGES.map((m) => JSON.stringify(m)).join(''), 'utf8');

  it('returns several concatenated values from one chunk', () => {
    assert.deepEqual(new JsonStream().push(bytes), MESSAGES);
  });

  it('splits at every byte position (including inside UTF-8 sequences)', () => {
    for (let at = 1; at < bytes.length; at++) {
      const out = pushAll(new JsonStream(), [bytes.subarray(0, at), bytes.subarray(at)]);
      assert.deepEqual(out, MESSAGES, `split at ${at}`);
    }
  });

  it('handles one byte at a time', () => {
    assert.deepEqual(pushAll(new JsonStream(), splitEvery(bytes, 1)), MESSAGES);
  });

  it('ignores whitespace between values and reports each value offset', () => {
    const s = new JsonStream();
    const out = s.push(Buffer.from(' \n{"a":1}\r\n\t [2] {"b":"}"}\n'));
    assert.deepEqual(out, [{ a: 1 }, [2], { b: '}' }]);
    assert.deepEqual(s.lastOffsets, [2, 13, 17]);
  });

  it('handles escaped quotes and backslashes at chunk edges', () => {
    const text = JSON.stringify({ k: 'a\\"}\\\\', l: '\\' });
    for (let at = 1; at < text.length; at++) {
      const s = new JsonStream();
      assert.deepEqual([...s.push(Buffer.from(text.slice(0, at))), ...s.push(Buffer.from(text.slice(at)))], [JSON.parse(text)]);
    }
  });

  it('reports garbage with the stream offset', () => {
    const s = new JsonStream();
    s.push(Buffer.from('{"ok":1}  '));
    assert.throws(
      () => s.push(Buffer.from('hello')),
      (e: unknown) => e instanceof DecodeError && e.offset === 10,
    );
    // The stream stays failed.
    assert.throws(() => s.push(Buffer.from('{}')), DecodeError);
  });

  it('rejects invalid JSON inside a balanced value', () => {
    assert.throws(() => new JsonStream().push(Buffer.from('{"a":}')), DecodeError);
    assert.throws(() => new JsonStream().push(Buffer.from('{"a" 1]')), DecodeError);
    assert.throws(() => new JsonStream().push(Buffer.from('["\u0001"]')), DecodeError);
  });

  it('rejects invalid UTF-8', () => {
    assert.throws(() => new JsonStream().push(Buffer.from([0x5b, 0x22, 0xc3, 0x28, 0x22, 0x5d])), DecodeError);
  });

  it('rejects a message over the size limit, even when it never ends', () => {
    const s = new JsonStream({ maxMessageBytes: 1024 });
    s.push(Buffer.from('{"a":"'));
    assert.throws(() => {
      for (let i = 0; i < 100; i++) s.push(Buffer.alloc(100, 0x61));
    }, (e: unknown) => e instanceof DecodeError && /larger than 1024/.test(e.message));
    assert.deepEqual(new JsonStream({ maxMessageBytes: 1024 }).push(Buffer.from(JSON.stringify({ a: 'x'.repeat(1000) }))).length, 1);
  });

  it('counts what incomplete values hold against a budget shared by several streams', () => {
    const budget = new BufferBudget(100);
    const a = new JsonStream({ budget });
    const b = new JsonStream({ budget });
    a.push(Buffer.from('{"a":"' + 'x'.repeat(54)));
    assert.equal(budget.usedBytes, 60);
    // b would take the budget over 100: b fails, a is untouched.
    assert.throws(() => b.push(Buffer.from('{"b":"' + 'y'.repeat(44))), (e: unknown) => e instanceof DecodeError && /all connections would hold more than/.test(e.message));
    assert.equal(budget.usedBytes, 60);
    // A value that completes gives back what it held; a disposed stream too.
    assert.deepEqual(a.push(Buffer.from('"}{"c":"')), [{ a: 'x'.repeat(54) }]);
    assert.equal(budget.usedBytes, 6);
    a.dispose();
    assert.equal(budget.usedBytes, 0);
    assert.throws(() => a.push(Buffer.from('{}')), DecodeError);
    // Values complete within one chunk take nothing.
    const c = new JsonStream({ budget: new BufferBudget(1) });
    assert.deepEqual(c.push(Buffer.from(JSON.stringify({ big: 'z'.repeat(1000) }))).length, 1);
  });

  it('rejects nesting deeper than the limit', () => {
    assert.throws(() => new JsonStream({ maxDepth: 50 }).push(Buffer.from('['.repeat(51))), DecodeError);
  });

  it('fuzz: random bytes and mutated messages only ever throw DecodeError', () => {
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const alphabet = Buffer.from('{}[]"\\:,01 tfnule\u00e9\n');
    let values = 0;
    for (let iter = 0; iter < 3000; iter++) {
      let input: Buffer;
      if (iter % 2 === 0) {
        input = Buffer.from(bytes);
        for (let k = 0; k < 1 + rand(4); k++) input[rand(input.length)] = rand(256);
      } else {
        input = Buffer.alloc(1 + rand(200));
        for (let k = 0; k < input.length; k++) input[k] = iter % 4 === 1 ? alphabet[rand(alphabet.length)]! : rand(256);
      }
      const s = new JsonStream({ maxMessageBytes: 4096, maxDepth: 64 });
      try {
        for (const c of splitEvery(input, 1 + rand(40))) values += s.push(c).length;
      } catch (err) {
        assert.ok(err instanceof DecodeError, `iteration ${iter} threw ${String(err)}`);
      }
    }
    assert.ok(values > 0);
  });
});
