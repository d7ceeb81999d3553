import assert from 'node:assert/strict';
import { BufferReader } from '../../../protocols/common/buffer-reader';
import { BufferWriter } from '../../../protocols/common/buffer-writer';
import { DecodeError, EncodeError } from '../../../protocols/common/errors';
import { decodeMessage, encodeMessage } from '../../../protocols/openflow/codec';
import { decodeInstructions, encodeInstructions, type Instruction } from '../../../protocols/openflow/instructions';
import type { Match } from '../../../protocols/openflow/match';
import { ofpPrint } from '../../support/ofp-print';

interface Case {
  readonly tableId?: number;
  readonly priority?: number;
  readonly match?: Match;
  readonly instructions: readonly Instruction[];
  /** Exact ovs-ofctl 3.1 text after "ADD ". */
  readonly text: string;
}

const GOLDEN: readonly Case[] = [
  { instructions: [], text: 'actions=drop' },
  { instructions: [{ type: 'goto_table', tableId: 5 }], text: 'actions=goto_table:5' },
  { tableId: 10, instructions: [{ type: 'goto_table', tableId: 20 }], text: 'table:10 actions=goto_table:20' },
  { instructions: [{ type: 'write_metadata', metadata: 0x5n, mask: 0xffn }], text: 'actions=write_metadata:0x5/0xff' },
  { instructions: [{ type: 'write_metadata', metadata: 0xabcdef0123456789n }], text: 'actions=write_metadata:0xabcdef0123456789' },
  { instructions: [{ type: 'write_actions', actions: [{ type: 'output', port: 2 }] }], text: 'actions=write_actions(output:2)' },
  { instructions: [{ type: 'write_actions', actions: [] }], text: 'actions=write_actions(drop)' },
  { instructions: [{ type: 'apply_actions', actions: [{ type: 'output', port: 1 }, { type: 'group', groupId: 3 }] }], text: 'actions=output:1,group:3' },
  { instructions: [{ type: 'apply_actions', actions: [] }], text: 'actions=drop' },
  { instructions: [{ type: 'clear_actions' }], text: 'actions=clear_actions' },
  { instructions: [{ type: 'meter', meterId: 3 }], text: 'actions=meter:3' },
  { priority: 100, match: [{ field: 'reg0', value: 1 }], instructions: [
    { type: 'meter', meterId: 1 },
    { type: 'apply_actions', actions: [{ type: 'output', port: 1 }] },
    { type: 'clear_actions' },
    { type: 'write_actions', actions: [{ type: 'group', groupId: 2 }] },
    { type: 'write_metadata', metadata: 1n, mask: 1n },
    { type: 'goto_table', tableId: 3 },
  ], text: 'priority=100,reg0=0x1 actions=meter:1,output:1,clear_actions,write_actions(group:2),write_metadata:0x1/0x1,goto_table:3' },
  // Wire order does not matter to OVS; it prints instructions in the spec's order.
  { instructions: [{ type: 'goto_table', tableId: 9 }, { type: 'apply_actions', actions: [{ type: 'set_field', field: 'reg1', value: 7 }] }],
    text: 'actions=set_field:0x7->reg1,goto_table:9' },
  { tableId: 30, priority: 200, match: [{ field: 'eth_type', value: 0x800 }, { field: 'ct_state', value: 0, mask: 0x20 }], instructions: [
    { type: 'apply_actions', actions: [{ type: 'ct', zone: { field: 'reg6', ofs: 0, nBits: 16 }, table: 30 }] },
  ], text: 'table:30 priority=200,ct_state=-trk,ip actions=ct(table=30,zone=NXM_NX_REG6[0..15])' },
];

describe('openflow instructions: golden against ovs-ofctl ofp-print @slow', () => {
  for (const c of GOLDEN) {
    it(c.text, () => {
      const bytes = encodeMessage({
        type: 'flow_mod', xid: 1, tableId: c.tableId ?? 0, priority: c.priority ?? 0x8000, match: c.match ?? [], instructions: c.instructions,
      });
      assert.equal(ofpPrint(bytes).trim(), `OFPT_FLOW_MOD (OF1.3) (xid=0x1): ADD ${c.text}`);
      const back = decodeMessage(bytes);
      assert.ok(back.type === 'flow_mod');
      assert.deepEqual(back.instructions, c.instructions);
      assert.deepEqual(back.match, c.match ?? []);
    });
  }
});

function encodeList(list: readonly Instruction[]): Buffer {
  const w = new BufferWriter();
  encodeInstructions(w, list);
  return w.finish();
}

function decodeHex(hex: string): Instruction[] {
  return decodeInstructions(new BufferReader(Buffer.from(hex.replace(/\s/g, ''), 'hex')));
}

describe('openflow instructions: wire layout (§7.2.4)', () => {
  const cases: ReadonlyArray<readonly [Instruction, string]> = [
    [{ type: 'goto_table', tableId: 5 }, '0001 0008 05000000'],
    [{ type: 'write_metadata', metadata: 5n, mask: 0xffn }, '0002 0018 00000000 0000000000000005 00000000000000ff'],
    [{ type: 'write_actions', actions: [{ type: 'output', port: 2 }] }, '0003 0018 00000000 0000 0010 00000002 0000 000000000000'],
    [{ type: 'apply_actions', actions: [] }, '0004 0008 00000000'],
    [{ type: 'clear_actions' }, '0005 0008 00000000'],
    [{ type: 'meter', meterId: 3 }, '0006 0008 00000003'],
    [{ type: 'experimenter', experimenter: 0x00abcdef, data: Buffer.from('0102030405060708', 'hex') }, 'ffff 0010 00abcdef 0102030405060708'],
    [{ type: 'unknown', instructionType: 7, data: Buffer.from('01020304', 'hex') }, '0007 0008 01020304'],
  ];
  for (const [inst, hex] of cases) {
    it(`${inst.type} encodes to the spec layout and decodes back`, () => {
      const want = hex.replace(/\s/g, '');
      assert.equal(encodeList([inst]).toString('hex'), want);
      assert.deepEqual(decodeHex(want), [inst]);
    });
  }
  it('an experimenter instruction is reported by OVS, not mis-parsed @slow', () => {
    const bytes = encodeMessage({
      type: 'flow_mod', xid: 1, match: [],
      instructions: [{ type: 'experimenter', experimenter: 0x00abcdef, data: Buffer.alloc(8) }],
    });
    assert.match(ofpPrint(bytes), /decode error: OFPBIC_BAD_EXPERIMENTER/);
  });
});

describe('openflow instructions: errors', () => {
  const bad: ReadonlyArray<readonly [string, unknown, RegExp]> = [
    ['unknown type', { type: 'jump' }, /unknown instruction type "jump"/],
    ['goto_table 256', { type: 'goto_table', tableId: 256 }, /goto_table table_id/],
    ['metadata as number', { type: 'write_metadata', metadata: 5 }, /write_metadata metadata out of range/],
    ['meter id as string', { type: 'meter', meterId: '1' }, /meter meter_id/],
    ['bad nested action', { type: 'apply_actions', actions: [{ type: 'output' }] }, /output port/],
    ['experimenter data not padded', { type: 'experimenter', experimenter: 1, data: Buffer.alloc(3) }, /multiple of 8/],
  ];
  for (const [name, inst, re] of bad) {
    it(`encode: ${name}`, () => {
      assert.throws(() => encodeList([inst as Instruction]), (e: unknown) => e instanceof EncodeError && re.test(e.message));
    });
  }
  const lies: ReadonlyArray<readonly [string, string, number]> = [
    ['length 4', '0001 0004 05000000', 2],
    ['length not a multiple of 8', '0001 000c 05000000 00000000', 2],
    ['length beyond the list', '0001 0010 05000000', 4],
  ];
  for (const [name, hex, offset] of lies) {
    it(`decode: ${name}`, () => {
      assert.throws(() => decodeHex(hex), (e: unknown) => e instanceof DecodeError && e.offset === offset);
    });
  }
  // A well-framed instruction whose body does not parse is kept as its bytes.
  const opaque: ReadonlyArray<readonly [string, string]> = [
    ['goto_table with trailing bytes', '0001 0010 05000000 0000000000000001'],
    ['write_metadata too short', '0002 0010 00000000 0000000000000005'],
    ['nested action overruns', '0004 0010 00000000 0000 0010 00000002'],
    ['goto_table with non-zero padding', '0001 0008 05000100'],
  ];
  for (const [name, hex] of opaque) {
    it(`decode: ${name}: opaque, re-encodes identically`, () => {
      const clean = hex.replace(/ /g, '');
      const list = decodeHex(clean);
      assert.deepEqual(list.map((i) => i.type), ['unknown']);
      assert.equal(encodeList(list).toString('hex'), clean);
    });
  }
  it('decode: a FLOW_MOD cut anywhere in its instructions throws DecodeError only', () => {
    const c = GOLDEN[11]!;
    const bytes = encodeMessage({ type: 'flow_mod', xid: 1, match: c.match ?? [], instructions: c.instructions });
    for (let n = 56; n < bytes.length; n++) {
      const cut = Buffer.from(bytes.subarray(0, n));
      cut.writeUInt16BE(n, 2);
      try {
        decodeMessage(cut);
      } catch (e) {
        assert.ok(e instanceof DecodeError, `cut at ${n}: ${String(e)}`);
      }
    }
  });
});
