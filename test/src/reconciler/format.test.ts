import assert from 'node:assert/strict';
import { formatFlow } from '../../../src/reconciler/format';
import { fingerprint } from '../../../src/reconciler/flow-key';

describe('formatFlow', () => {
  it('reads like ovs-ofctl: ports and protocols in decimal, registers and ethertypes in hex', () => {
    const instructions = [
      { type: 'apply_actions' as const, actions: [{ type: 'set_field' as const, field: 'reg0', value: 5001 }, { type: 'output' as const, port: 3 }] },
      { type: 'goto_table' as const, tableId: 20 },
    ];
    const text = formatFlow({
      key: 'unused-here',
      tableId: 10, priority: 100, cookie: 0x200n, instructions, fp: fingerprint(0x200n, instructions),
      match: [{ field: 'in_port', value: 2 }, { field: 'eth_type', value: 0x800 }, { field: 'udp_src', value: 68 }, { field: 'reg1', value: 0, mask: 1 }],
    });
    assert.equal(text, 'table=10 priority=100 cookie=0x200 in_port=2,eth_type=0x800,udp_src=68,reg1=0x0/0x1 actions=set_field:0x1389->reg0,output:3,goto_table:20');
  });
});
