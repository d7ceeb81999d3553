/**
 * Stateful security groups (SPEC §3, §4 tables 30/31, 60/61), asserted by
 * where packets go through the compiled flows, with the walk's conntrack model:
 * each rule kind, replies, revocation, remote groups as conjunctions, ND, and
 * the O(1) cost of a member joining a group.
 */
import assert from 'node:assert/strict';
import { compileHost } from '../../../src/compiler/compile-host';
import { compileFabric } from '../../../src/compiler/fabric';
import { markOfRule, portRangeMasks } from '../../../src/compiler/policy';
import type { Snapshot } from '../../../src/compiler/snapshot';
import { walkFabric, type FabricHost, type PacketFields } from '../../../src/pipeline/flow-table-walk';
import { Conntrack } from '../../../src/pipeline/walk-conntrack';
import type { Endpoint, SecurityGroup, SecurityGroupRule } from '../../../src/store/model';
import { fabricMembers, fabricSnapshot, NIC, type Nic } from '../../support/fabric-fixtures';

const T = '2026-01-01T00:00:00.000Z';
const group = (id: string, rules: SecurityGroupRule[], tenant = 'default'): SecurityGroup => ({ id, name: id, tenant, description: '', rules, createdAt: T, updatedAt: T });
const egressAll: SecurityGroupRule[] = [
  { id: 'eg4', direction: 'egress', ethertype: 'IPv4' },
  { id: 'eg6', direction: 'egress', ethertype: 'IPv6' },
];

/** Network A: a1 (h1), a2 (h2), a3 (h3), a5 (h1). "web" on a2; "app" on a1. */
function model(groups: SecurityGroup[], membership: Record<string, string[]>): Snapshot {
  const s = fabricSnapshot();
  const endpointsByNetwork = new Map<string, readonly Endpoint[]>();
  for (const [net, eps] of s.endpointsByNetwork as Map<string, readonly Endpoint[]>) {
    endpointsByNetwork.set(net, eps.map((e) => ({ ...e, securityGroups: membership[e.id] ?? [] })));
  }
  return { ...s, endpointsByNetwork, securityGroups: new Map(groups.map((g) => [g.id, g])) };
}

function fabric(snapshot: Snapshot): Map<string, FabricHost> {
  const out = new Map<string, FabricHost>();
  for (const [id, h] of compileFabric(snapshot, fabricMembers())) out.set(id, { ...h, conntrack: new Conntrack() });
  return out;
}

/** Recompiles, keeping each host's conntrack (a rule change on a live switch). */
function recompile(old: Map<string, FabricHost>, snapshot: Snapshot): Map<string, FabricHost> {
  const out = new Map<string, FabricHost>();
  for (const [id, h] of compileFabric(snapshot, fabricMembers())) out.set(id, { ...h, conntrack: old.get(id)!.conntrack! });
  return out;
}

function tcp(src: Nic, dst: Nic, dport: number, sport = 40000, flags: Record<string, number> = {}): PacketFields {
  return { in_port: src.port, eth_src: src.mac, eth_dst: dst.mac, eth_type: 0x0800, ip_src: src.ip, ip_dst: dst.ip, ip_proto: 6, nw_ttl: 64, tcp_src: sport, tcp_dst: dport, ...flags };
}
function icmp(src: Nic, dst: Nic, type = 8): PacketFields {
  return { in_port: src.port, eth_src: src.mac, eth_dst: dst.mac, eth_type: 0x0800, ip_src: src.ip, ip_dst: dst.ip, ip_proto: 1, nw_ttl: 64, icmp_type: type, icmp_code: 0 };
}
function udp(src: Nic, dst: Nic, dport: number): PacketFields {
  return { in_port: src.port, eth_src: src.mac, eth_dst: dst.mac, eth_type: 0x0800, ip_src: src.ip, ip_dst: dst.ip, ip_proto: 17, nw_ttl: 64, udp_src: 5353, udp_dst: dport };
}

function delivered(hosts: Map<string, FabricHost>, from: string, p: PacketFields, to: Nic): boolean {
  const r = walkFabric(hosts, from, p);
  return r.arrivals.some((a) => a.kind === 'port' && a.host === to.host && a.port === to.port);
}

const webRules: SecurityGroupRule[] = [
  { id: 'web-http', direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', portMin: 80, portMax: 80, remoteGroup: 'app' },
  { id: 'web-icmp', direction: 'ingress', ethertype: 'IPv4', protocol: 'icmp' },
  ...egressAll,
];

describe('compiler: security groups', () => {
  const base = () => model([group('web', webRules), group('app', egressAll)], { a2: ['web'], a1: ['app'] });

  it('admits TCP 80 from a member of the remote group, not TCP 22, not from a non-member', () => {
    const hosts = fabric(base());
    assert.ok(delivered(hosts, 'h1', tcp(NIC.a1, NIC.a2, 80), NIC.a2), 'app → web:80');
    assert.ok(!delivered(hosts, 'h1', tcp(NIC.a1, NIC.a2, 22, 40001), NIC.a2), 'app → web:22');
    assert.ok(!delivered(hosts, 'h3', tcp(NIC.a3, NIC.a2, 80), NIC.a2), 'non-member → web:80');
    const r = walkFabric(hosts, 'h3', tcp(NIC.a3, NIC.a2, 80, 40002));
    assert.equal(r.verdict, 'dropped');
    assert.match(r.reason, /ingress-policy-eval/);
  });

  it('admits ICMP from anywhere (a rule without remote), and its replies pass back without an ingress rule on the sender', () => {
    const hosts = fabric(base());
    assert.ok(delivered(hosts, 'h3', icmp(NIC.a3, NIC.a2), NIC.a2));
    assert.ok(delivered(hosts, 'h2', icmp(NIC.a2, NIC.a3, 0), NIC.a3), 'echo reply from web back to a3');
  });

  it('lets replies of egress connections in although no ingress rule allows them', () => {
    const hosts = fabric(base());
    // a1 (app: egress only) opens TCP to a3 (no groups), a3 answers.
    assert.ok(delivered(hosts, 'h1', tcp(NIC.a1, NIC.a3, 443, 41000), NIC.a3));
    assert.ok(delivered(hosts, 'h3', tcp(NIC.a3, NIC.a1, 41000, 443), NIC.a1), 'the reply reaches a1');
    // Unsolicited traffic from a3 to a1 does not.
    assert.ok(!delivered(hosts, 'h3', tcp(NIC.a3, NIC.a1, 41001, 443), NIC.a1));
  });

  it('keeps an endpoint without groups open inside its network', () => {
    const hosts = fabric(base());
    assert.ok(delivered(hosts, 'h2', udp(NIC.a2, NIC.a3, 9), NIC.a3), 'web → a3 (a3 has no groups)');
    assert.ok(delivered(hosts, 'h3', udp(NIC.a3, NIC.a5, 9), NIC.a5), 'a3 → a5: no policy at all');
  });

  it('cuts an established connection when the rule that admitted it is removed', () => {
    let hosts = fabric(base());
    assert.ok(delivered(hosts, 'h1', tcp(NIC.a1, NIC.a2, 80, 42000), NIC.a2));
    assert.ok(delivered(hosts, 'h2', tcp(NIC.a2, NIC.a1, 42000, 80), NIC.a1), 'reply while allowed');
    assert.ok(delivered(hosts, 'h1', tcp(NIC.a1, NIC.a2, 80, 42000), NIC.a2), 'established while allowed');
    const revoked = model([group('web', webRules.filter((r) => r.id !== 'web-http')), group('app', egressAll)], { a2: ['web'], a1: ['app'] });
    hosts = recompile(hosts, revoked);
    assert.ok(!delivered(hosts, 'h1', tcp(NIC.a1, NIC.a2, 80, 42000), NIC.a2), 'established packet dropped after revocation');
    assert.ok(!delivered(hosts, 'h2', tcp(NIC.a2, NIC.a1, 42000, 80), NIC.a1), 'and its replies');
  });

  it('admits a new member of the remote group at once', () => {
    let hosts = fabric(base());
    assert.ok(!delivered(hosts, 'h3', tcp(NIC.a3, NIC.a2, 80), NIC.a2));
    hosts = recompile(hosts, model([group('web', webRules), group('app', egressAll)], { a2: ['web'], a1: ['app'], a3: ['app'] }));
    assert.ok(delivered(hosts, 'h3', tcp(NIC.a3, NIC.a2, 80, 40100), NIC.a2));
  });

  it('filters by remote CIDR, port range and ICMP type', () => {
    const rules: SecurityGroupRule[] = [
      { id: 'r-cidr', direction: 'ingress', ethertype: 'IPv4', protocol: 'udp', portMin: 1000, portMax: 1999, remoteCidr: '10.1.0.12/32' },
      { id: 'r-echo', direction: 'ingress', ethertype: 'IPv4', protocol: 'icmp', icmpType: 8 },
      ...egressAll,
    ];
    const hosts = fabric(model([group('g', rules)], { a1: ['g'] }));
    assert.ok(delivered(hosts, 'h2', udp(NIC.a2, NIC.a1, 1000), NIC.a1));
    assert.ok(delivered(hosts, 'h2', udp(NIC.a2, NIC.a1, 1999), NIC.a1));
    assert.ok(!delivered(hosts, 'h2', udp(NIC.a2, NIC.a1, 2000), NIC.a1), 'above the range');
    assert.ok(!delivered(hosts, 'h2', udp(NIC.a2, NIC.a1, 999), NIC.a1), 'below the range');
    assert.ok(!delivered(hosts, 'h3', udp(NIC.a3, NIC.a1, 1500), NIC.a1), 'outside the CIDR');
    assert.ok(delivered(hosts, 'h3', icmp(NIC.a3, NIC.a1, 8), NIC.a1), 'echo request');
    assert.ok(!delivered(hosts, 'h3', icmp(NIC.a3, NIC.a1, 13), NIC.a1), 'timestamp request');
  });

  it('denies egress its rules do not allow, and always passes ICMPv6 neighbor discovery', () => {
    const rules: SecurityGroupRule[] = [{ id: 'only-dns', direction: 'egress', ethertype: 'IPv4', protocol: 'udp', portMin: 53 }];
    const hosts = fabric(model([group('g', rules)], { b1: ['g'] }));
    assert.ok(!delivered(hosts, 'h1', udp(NIC.b1, NIC.b2, 9), NIC.b2));
    const dns = { ...udp(NIC.b1, NIC.b2, 53) };
    assert.ok(delivered(hosts, 'h1', dns, NIC.b2));
    const na: PacketFields = {
      in_port: NIC.b2.port, eth_src: NIC.b2.mac, eth_dst: NIC.b1.mac, eth_type: 0x86dd, ipv6_src: NIC.b2.ip6, ipv6_dst: NIC.b1.ip6, ip_proto: 58, icmpv6_type: 136, icmpv6_code: 0, nd_target: NIC.b2.ip6,
    };
    assert.ok(delivered(hosts, 'h2', na, NIC.b1), 'a neighbor advertisement reaches b1 with no ingress rule');
  });

  it('applies IPv6 rules to IPv6 only', () => {
    const rules: SecurityGroupRule[] = [{ id: 'v6-echo', direction: 'ingress', ethertype: 'IPv6', protocol: 'icmpv6', icmpType: 128 }, ...egressAll];
    const hosts = fabric(model([group('g', rules)], { b1: ['g'] }));
    const ping6: PacketFields = { in_port: NIC.b2.port, eth_src: NIC.b2.mac, eth_dst: NIC.b1.mac, eth_type: 0x86dd, ipv6_src: NIC.b2.ip6, ipv6_dst: NIC.b1.ip6, ip_proto: 58, nw_ttl: 64, icmpv6_type: 128, icmpv6_code: 0 };
    assert.ok(delivered(hosts, 'h2', ping6, NIC.b1));
    assert.ok(delivered(hosts, 'h1', { ...ping6, in_port: NIC.b1.port, eth_src: NIC.b1.mac, eth_dst: NIC.b2.mac, ipv6_src: NIC.b1.ip6, ipv6_dst: NIC.b2.ip6, icmpv6_type: 129 }, NIC.b2), 'the echo reply');
    assert.ok(!delivered(hosts, 'h2', icmp({ ...NIC.b2 }, { ...NIC.b1 }), NIC.b1), 'IPv4 ping has no rule');
  });

  it('names the rule that admitted a packet in the cookie of the flow that committed it', () => {
    const hosts = fabric(base());
    const r = walkFabric(hosts, 'h3', icmp(NIC.a3, NIC.a2));
    const commit = r.hops.find((h) => h.flow?.instructions.some((i) => i.type === 'apply_actions' && i.actions.some((a) => a.type === 'ct' && a.commit)) && h.host === 'h2');
    assert.ok(commit?.flow);
    assert.equal(commit.flow.cookie & ((1n << 48n) - 1n), BigInt(`0x${require('node:crypto').createHash('sha256').update('web-icmp').digest('hex').slice(0, 12)}`));
    assert.notEqual(markOfRule('web-icmp'), markOfRule('web-http'));
  });

  it('changes O(1) flows per host when a member joins a group, whatever the group size', () => {
    const flowsOf = (s: Snapshot, host: string) => {
      const ctx = fabricMembers().find((m) => m.context.id === host)!.context;
      return new Set([...compileHost(s, ctx).values()].flat().map((f) => JSON.stringify([f.table.id, f.priority, f.match, f.instructions, String(f.cookie)], (_k, v) => (typeof v === 'bigint' ? String(v) : v))));
    };
    const before = model([group('web', webRules), group('app', egressAll)], { a2: ['web'], a1: ['app'], a5: ['app'] });
    const after = model([group('web', webRules), group('app', egressAll)], { a2: ['web'], a1: ['app'], a5: ['app'], a3: ['app'] });
    for (const host of ['h1', 'h2']) {
      const a = flowsOf(before, host);
      const b = flowsOf(after, host);
      const changed = [...b].filter((f) => !a.has(f)).length + [...a].filter((f) => !b.has(f)).length;
      assert.ok(changed >= 1 && changed <= 2, `${host}: ${changed} flows changed`);
    }
  });

  it('splits port ranges into the fewest masked matches', () => {
    assert.deepEqual(portRangeMasks(80, 80), [[80, 0xffff]]);
    assert.deepEqual(portRangeMasks(1024, 2047), [[1024, 0xfc00]]);
    assert.equal(portRangeMasks(1000, 1999).length, 7);
    assert.equal(portRangeMasks(1, 65535).length, 16);
    for (const [min, max] of [[1000, 1999], [1, 65535], [22, 23], [5, 300]] as const) {
      const covered = new Set<number>();
      for (const [v, mask] of portRangeMasks(min, max)) for (let p = 0; p < 65536; p++) if ((p & mask) === v) covered.add(p);
      assert.equal(covered.size, max - min + 1);
      assert.ok(covered.has(min) && covered.has(max));
    }
  });
});
