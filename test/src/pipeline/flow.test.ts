/** buildFlow checks every flow against its table's declaration (tables.ts) when the flow is built. */
import assert from 'node:assert/strict';
import { OFPP } from '../../../protocols/openflow/constants';
import { FLAG, m, REG, setField } from '../../../src/pipeline/fields';
import { applyThenGoto, buildFlow } from '../../../src/pipeline/flow';
import { ARP_ND, CLASSIFY, EGRESS_POLICY, INGRESS_POLICY, L2, OUTPUT, PipelineError, PORT_SECURITY } from '../../../src/pipeline/tables';

const C = 0x0500000000000001n;

describe('pipeline: buildFlow', () => {
  it('builds a flow that keeps its table\'s rules, with the named priority\'s number', () => {
    const f = buildFlow(L2, 'flood-local', [m(REG.NETWORK, 7), m(REG.FLAGS, 0, FLAG.FROM_TUNNEL), m('eth_dst', '01:00:00:00:00:00', '01:00:00:00:00:00')], applyThenGoto([{ type: 'output', port: 3 }]), C);
    assert.equal(f.priority, L2.priorities['flood-local']);
    assert.equal(f.table, L2);
    assert.equal(buildFlow(OUTPUT, 'miss', [], [], C).priority, 0);
  });

  it('refuses a match field its table does not declare', () => {
    assert.throws(() => buildFlow(OUTPUT, 'port', [m('eth_dst', '02:00:00:00:00:01')], [], C), (e: unknown) => e instanceof PipelineError && /table output matches on eth_dst, which that table does not declare/.test(e.message));
  });

  it('refuses a mask where the table matches the field only exactly', () => {
    assert.throws(() => buildFlow(CLASSIFY, 'port', [m('in_port', 1, 0xff)], [], C), /table classify masks in_port, which that table matches only exactly/);
  });

  it('refuses masks Open vSwitch would store differently: all ones, all zeros, value bits outside the mask', () => {
    const flags = (value: number, mask: number) => () => buildFlow(L2, 'flood-local', [m(REG.FLAGS, value, mask)], [], C);
    assert.throws(flags(0, 0xffffffff), (e: unknown) => e instanceof PipelineError && /all-ones mask/.test(e.message));
    assert.throws(flags(0, 0), /all-zeros mask/);
    assert.throws(flags(3, 1), (e: unknown) => e instanceof PipelineError && /reg1: value has bits set outside its mask/.test(e.message));
  });

  it('refuses the same field twice', () => {
    assert.throws(() => buildFlow(OUTPUT, 'port', [m(REG.OUT_PORT, 1), m(REG.OUT_PORT, 2)], [], C), /matches reg2 twice/);
  });

  it('refuses a field without its prerequisites (ovs-fields(7))', () => {
    assert.throws(() => buildFlow(PORT_SECURITY, 'endpoint-source', [m('ip_src', '10.0.0.1')], [], C), /matches ip_src without eth_type=0x800/);
    assert.throws(() => buildFlow(PORT_SECURITY, 'endpoint-source', [m('eth_type', 0x0806), m('ip_src', '10.0.0.1')], [], C), /without eth_type=0x800/);
    assert.throws(() => buildFlow(ARP_ND, 'dhcp-punt', [m('eth_type', 0x0800), m('udp_dst', 67)], [], C), /matches udp_dst without ip_proto=0x11/);
  });

  it('refuses goto_table to a table that is not one of its next tables', () => {
    assert.throws(() => buildFlow(CLASSIFY, 'port', [m('in_port', 1)], applyThenGoto([], OUTPUT), C), (e: unknown) => e instanceof PipelineError && /does goto_table to table 70; it may continue only to: port-security \(10\), arp-nd-dhcp \(20\), l2 \(50\)/.test(e.message));
    assert.throws(() => buildFlow(OUTPUT, 'port', [m(REG.OUT_PORT, 1)], applyThenGoto([], OUTPUT), C), /may continue only to: none/);
  });

  it('refuses resubmit to a table that is not one of its next tables, also inside clone', () => {
    const resubmit = (table: number) => [{ type: 'apply_actions' as const, actions: [{ type: 'resubmit' as const, table }] }];
    assert.equal(buildFlow(L2, 'endpoint-mac', [m(REG.NETWORK, 1)], resubmit(INGRESS_POLICY.id), C).table, L2);
    assert.throws(() => buildFlow(L2, 'endpoint-mac', [m(REG.NETWORK, 1)], resubmit(EGRESS_POLICY.id), C), /does resubmit to table 30/);
    assert.throws(() => buildFlow(L2, 'endpoint-mac', [m(REG.NETWORK, 1)], [{ type: 'apply_actions', actions: [{ type: 'resubmit', port: OFPP.IN_PORT }] }], C), /does resubmit to table 50/);
    assert.throws(
      () => buildFlow(L2, 'endpoint-mac', [m(REG.NETWORK, 1)], [{ type: 'apply_actions', actions: [{ type: 'clone', actions: [setField('tun_id', 1n), { type: 'resubmit', table: 0 }] }] }], C),
      /does resubmit to table 0/,
    );
  });

  it('refuses a priority name the table does not have', () => {
    // Only a cast gets past the type checker: PriorityName<typeof L2> does not include 'port'.
    assert.throws(() => buildFlow(L2, 'port' as 'miss', [], [], C), /table l2 has no priority named "port"/);
  });
});
