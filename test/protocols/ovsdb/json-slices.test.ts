import assert from 'node:assert/strict';
import { DecodeError } from '../../../protocols/common/errors';
import { entriesOf, LargeJson, SlicedJsonParser } from '../../../protocols/ovsdb/json-slices';

/** Parses `text` with the sliced parser, `leafBytes` small enough to build every level by hand, in the smallest steps. */
function parseSliced(text: string | Buffer, leafBytes: number, offset = 0): { value: unknown; steps: number } {
  const p = new SlicedJsonParser(new LargeJson(Buffer.isBuffer(text) ? text : Buffer.from(text), offset), leafBytes);
  let steps = 1;
  while (!p.step(0)) steps++;
  return { value: p.value, steps };
}

const SAMPLES: string[] = [
  '{}',
  '[]',
  ' { "a" : [ 1 , -2.5e3 , true , false , null , "x" ] , "b" : { } , "c" : [ [ ] , { "d" : "}]" } ] } ',
  JSON.stringify({ id: null, method: 'update2', params: ['m', { Interface: { u1: { insert: { name: 'eth0', external_ids: ['map', [['iface-id', 'ep "1" \\ }']]] } } } }] }),
  JSON.stringify({ utf8: 'grüße 🌍 ünïcødé ✓', esc: '\u0001\n\t"\\/' }),
  '{"__proto__": {"polluted": true}, "a": 1, "a": 2}',
  JSON.stringify([[[[[[1, [2, [3, {}]]]]]]]]),
];

describe('ovsdb json-slices', function () {
  this.timeout(30_000);
  it('gives what JSON.parse gives, at every leaf size', () => {
    for (const text of SAMPLES) {
      for (const leaf of [1, 2, 5, 16, 1 << 20]) {
        const { value } = parseSliced(text, leaf);
        assert.deepEqual(value, JSON.parse(text), `${text} (leaf ${leaf})`);
      }
    }
    const proto = parseSliced(SAMPLES[5]!, 1).value as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(proto), Object.prototype);
    assert.deepEqual(Object.keys(proto), ['__proto__', 'a']);
  });

  it('parses a 100,000-row update in many bounded steps', () => {
    const rows: Record<string, unknown> = {};
    for (let i = 0; i < 100_000; i++) {
      rows[`${String(i).padStart(8, '0')}-1111-1111-1111-111111111111`] = { insert: { name: `p${i}`, ofport: i, external_ids: ['map', [['iface-id', `ep-${i}`]]] } };
    }
    const text = Buffer.from(JSON.stringify({ id: null, method: 'update2', params: ['m', { Interface: rows }] }));
    const p = new SlicedJsonParser(new LargeJson(text, 0));
    let steps = 1;
    while (!p.step(1)) steps++;
    // Same value, same key order: it serialises back to the same text.
    assert.equal(JSON.stringify(p.value), text.toString());
    assert.ok(steps > 5, `${text.length} bytes in ${steps} steps`);
  });

  it('fails where JSON.parse fails, with a DecodeError at the stream offset', () => {
    const bad = ['{"a":}', '{"a" 1}', '[1,]', '{"a":1,}', '[1 2]', '{1:2}', '["\\x"]', '[tru]', '{"a":1}}', '[01]', '["a\u0001"]'];
    for (const text of bad) {
      assert.throws(() => JSON.parse(text), SyntaxError, text);
      for (const leaf of [1, 3, 1 << 20]) {
        assert.throws(() => parseSliced(text, leaf, 1000), (e: unknown) => e instanceof DecodeError && e.offset >= 1000, `${text} (leaf ${leaf})`);
      }
    }
    assert.throws(() => parseSliced(Buffer.from([0x5b, 0x22, 0xc3, 0x28, 0x22, 0x5d]), 1), /not valid UTF-8/);
  });

  it('fuzz: agrees with JSON.parse on mutated texts', () => {
    let seed = 99;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const alphabet = '{}[]",:01 -.etrufalsn\\\u00e9';
    let agreed = 0;
    for (let iter = 0; iter < 4000; iter++) {
      const chars = [...SAMPLES[iter % SAMPLES.length]!];
      for (let k = 0; k < 1 + rand(3); k++) chars[rand(chars.length)] = alphabet[rand(alphabet.length)]!;
      const text = chars.join('');
      let expected: unknown;
      let ok = true;
      try {
        expected = JSON.parse(text);
      } catch {
        ok = false;
      }
      const leaf = 1 + rand(12);
      if (ok) assert.deepEqual(parseSliced(text, leaf).value, expected, text);
      else assert.throws(() => parseSliced(text, leaf), DecodeError, text);
      agreed++;
    }
    assert.equal(agreed, 4000);
  });
});

describe('ovsdb json-slices entries', () => {
  it('keeps the members of the objects it builds, in order, without changing how they look', () => {
    const text = '{"b": 1, "a": {"y": 2, "x": [3]}, "c": {}}';
    const value = parseSliced(text, 1).value as Record<string, Record<string, unknown>>;
    assert.deepEqual(entriesOf(value).map(([k]) => k), ['b', 'a', 'c']);
    assert.deepEqual(entriesOf(value.a!), [['y', 2], ['x', [3]]]);
    assert.equal(JSON.stringify(value), JSON.stringify(JSON.parse(text)));
    assert.deepEqual(Object.keys(value), ['b', 'a', 'c']);
    // A repeated key: the object is as JSON.parse makes it, and so are its entries.
    const dup = parseSliced('{"k": 1, "j": 2, "k": 3}', 1).value as Record<string, unknown>;
    assert.deepEqual(entriesOf(dup), [['k', 3], ['j', 2]]);
    // Objects from elsewhere: Object.entries.
    assert.deepEqual(entriesOf({ p: 1 }), [['p', 1]]);
  });
});
