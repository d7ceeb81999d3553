/**
 * `codec`: FLOW_MOD encode and decode throughput of our OpenFlow codec on one
 * core (no I/O), with flows shaped like the ones the compiler emits.
 */
import { performance } from 'node:perf_hooks';
import { decodeMessage, encodeMessage } from '../protocols/openflow/codec';
import type { FlowMod } from '../protocols/openflow/messages';
import { round, type BenchDefinition } from './framework';

function sample(i: number): FlowMod {
  return {
    type: 'flow_mod',
    xid: i,
    cookie: 0x0200000000000000n | BigInt(i),
    tableId: 10,
    priority: 100,
    match: [
      { field: 'in_port', value: 1 + (i % 100) },
      { field: 'eth_src', value: `02:00:00:00:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}` },
      { field: 'eth_type', value: 0x0800 },
      { field: 'ip_src', value: `10.${(i >> 16) & 0xff}.${(i >> 8) & 0xff}.${i & 0xff}` },
    ],
    instructions: [
      { type: 'apply_actions', actions: [{ type: 'set_field', field: 'reg0', value: 5001 }, { type: 'set_field', field: 'tun_id', value: 5001n }, { type: 'output', port: 7 }] },
      { type: 'goto_table', tableId: 20 },
    ],
  };
}

export const codecBench: BenchDefinition = {
  name: 'codec',
  summary: 'FLOW_MOD encode and decode throughput of the OpenFlow codec (one core, no I/O)',
  options: [{ name: 'messages', kind: 'number', default: 200_000, help: 'messages per pass' }],
  async run(ctx) {
    const n = Number(ctx.options['messages']);
    const msgs = Array.from({ length: 1000 }, (_, i) => sample(i));
    const bytes = msgs.map(encodeMessage);
    for (let i = 0; i < 20_000; i++) decodeMessage(bytes[i % 1000]!); // warm up the JIT
    let t = performance.now();
    for (let i = 0; i < n; i++) encodeMessage(msgs[i % 1000]!);
    const encodeS = (performance.now() - t) / 1000;
    t = performance.now();
    for (let i = 0; i < n; i++) decodeMessage(bytes[i % 1000]!);
    const decodeS = (performance.now() - t) / 1000;
    ctx.progress(`${n} messages of ${bytes[0]!.length} bytes each way`);
    return {
      messages: n,
      bytes_per_msg: bytes[0]!.length,
      encode_per_s: Math.round(n / encodeS),
      decode_per_s: Math.round(n / decodeS),
      encode_mb_per_s: round((n * bytes[0]!.length) / encodeS / 1e6, 1),
    };
  },
};
