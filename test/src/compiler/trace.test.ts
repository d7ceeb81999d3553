import assert from 'node:assert/strict';
import type { Snapshot } from '../../../src/compiler/snapshot';
import { tracePacket, TraceError, type TraceRequest } from '../../../src/compiler/trace';
import type { Endpoint, Router, SecurityGroup, SecurityGroupRule } from '../../../src/store/model';
import { routerMacOf } from '../../../src/store/router-store';
import { fabricMembers, fabricSnapshot, NIC, TUNNEL_OFPORT } from '../../support/fabric-fixtures';

const trace = (req: TraceRequest, snapshot: Snapshot = fabricSnapshot()) => tracePacket(snapshot, fabricMembers(), req);

const T = '2026-01-01T00:00:00.000Z';
const group = (id: string, rules: SecurityGroupRule[]): SecurityGroup => ({ id, name: id, tenant: 'default', description: '', rules, createdAt: T, updatedAt: T });
const egressAll: SecurityGroupRule = { id: 'eg4', direction: 'egress', ethertype: 'IPv4' };

/** Network A with groups: "db" on a2 (h2) admits tcp/5432 from a5 only and ICMP from group "app"; "app" on a1 (h1) and a3 (h3). */
function policySnapshot(over: { db?: SecurityGroupRule[]; app?: SecurityGroupRule[] } = {}): Snapshot {
  const s = fabricSnapshot();
  const membership: Record<string, string[]> = { a2: ['db'], a1: ['app'], a3: ['app'] };
  const endpointsByNetwork = new Map<string, readonly Endpoint[]>();
  for (const [net, eps] of s.endpointsByNetwork) endpointsByNetwork.set(net, eps.map((e) => ({ ...e, securityGroups: membership[e.id] ?? [] })));
  const db = over.db ?? [
    { id: 'db-pg', direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', portMin: 5432, portMax: 5432, remoteCidr: `${NIC.a5.ip}/32` },
    { id: 'db-icmp', direction: 'ingress', ethertype: 'IPv4', protocol: 'icmp', remoteGroup: 'app' },
    egressAll,
  ];
  const app = over.app ?? [{ id: 'app-out', direction: 'egress', ethertype: 'IPv4' }];
  return { ...s, endpointsByNetwork, securityGroups: new Map([['db', group('db', db)], ['app', group('app', app)]]) };
}

/** Router r1 between A (10.1.0.0/24: a1 h1, a5 h1, a2 h2, a3 h3) and B (10.2.0.0/24: b1 h1, b2 h2). */
const R1: Router = {
  id: 'r1', name: 'r1', tenant: 'default', mac: routerMacOf('r1'),
  interfaces: [{ subnet: 'sa', network: 'A', cidr: '10.1.0.0/24', ip: '10.1.0.1' }, { subnet: 'sb', network: 'B', cidr: '10.2.0.0/24', ip: '10.2.0.1' }],
  routes: [], createdAt: T, updatedAt: T,
};
function routedSnapshot(base: Snapshot = fabricSnapshot()): Snapshot {
  return { ...base, routers: new Map([['r1', R1]]), routersByNetwork: new Map([['A', [R1]], ['B', [R1]]]) };
}

describe('packet trace over the compiled flows', () => {
  it('delivers to a local endpoint, naming every stage and the endpoint owning each flow', () => {
    const r = trace({ from: 'a1', to: 'a5', protocol: 'tcp', dstPort: 5432 });
    assert.equal(r.verdict, 'delivered');
    assert.equal(r.reason, 'delivered from a1 to endpoint a5 on h1 (port 6)');
    assert.deepEqual(r.hops.map((h) => h.table), ['classify', 'port-security', 'arp-nd-dhcp', 'egress-policy', 'l3', 'l2', 'ingress-policy', 'output']);
    assert.deepEqual(r.hops.map((h) => h.owner?.kind === 'endpoint' ? h.owner.name : h.owner?.kind), ['a1', 'a1', 'pipeline', 'pipeline', 'pipeline', 'a5', 'pipeline', 'a5']);
    assert.equal(r.hops[1]!.summary, 'port-security: port flow of endpoint a1');
    assert.equal(r.packet.tcp_dst, '5432');
    assert.deepEqual(r.arrivals, [{ host: 'h1', kind: 'port', port: 6, endpoint: { id: 'a5', name: 'a5' } }]);
  });

  it('follows the tunnel to the remote host and says so', () => {
    const r = trace({ from: 'a1', to: 'a2', protocol: 'udp' });
    assert.equal(r.verdict, 'delivered');
    assert.equal(r.reason, 'delivered from a1 to endpoint a2 on h2 (port 3), over the tunnel');
    assert.deepEqual(r.segments.map((s) => [s.host, s.outputs]), [['h1', [`tunnel:${TUNNEL_OFPORT}`]], ['h2', ['port:3']]]);
    assert.match(r.segments[1]!.flow, new RegExp(`in_port=${TUNNEL_OFPORT},tun_id=5001`));
  });

  it('answers ARP in the switch', () => {
    const r = trace({ from: 'a1', to: 'a2', protocol: 'arp' });
    assert.equal(r.verdict, 'delivered');
    assert.equal(r.reason, `ARP request for ${NIC.a2.ip} answered in the switch on h1: ${NIC.a2.ip} is at ${NIC.a2.mac} (endpoint a2); nothing crossed a tunnel`);
  });

  it('explains a spoofed source MAC, a spoofed source IP and a spoofed ARP sender', () => {
    assert.equal(trace({ from: 'a1', to: 'a5', srcMac: '02:00:00:00:99:99' }).reason, `dropped by port security: source MAC 02:00:00:00:99:99 is not endpoint a1's (${NIC.a1.mac})`);
    assert.equal(trace({ from: 'a1', to: 'a5', srcIp: '10.1.0.99' }).reason, `dropped by port security: source IP 10.1.0.99 is not endpoint a1's (${NIC.a1.ip})`);
    assert.equal(trace({ from: 'a1', to: 'a2', protocol: 'arp', srcIp: '10.1.0.99' }).reason, `dropped by port security: ARP sender address 10.1.0.99 is not endpoint a1's (${NIC.a1.ip})`);
  });

  it('sends DHCP to the controller, and says nothing answers where DHCP is off', () => {
    const r = trace({ from: 'a1', protocol: 'dhcp' });
    assert.equal(r.verdict, 'to-controller');
    assert.equal(r.reason, 'DHCP request from a1 sent to the controller of h1, which answers it from IPAM');
    assert.equal(r.hops.find((h) => h.table === 'arp-nd-dhcp')!.owner!.name, 'A');
    assert.notEqual(trace({ from: 'b1', protocol: 'dhcp' }).verdict, 'to-controller');
  });

  it('explains an unknown destination and another network\'s endpoint', () => {
    const r = trace({ from: 'a1', dstMac: '02:00:00:00:0a:99', dstIp: '10.1.0.99' });
    assert.equal(r.verdict, 'dropped');
    assert.equal(r.reason, 'unknown destination: no endpoint of network A has MAC 02:00:00:00:0a:99');
    assert.equal(trace({ from: 'a1', to: 'b1' }).reason, `dropped by l2: ${NIC.b1.mac} is endpoint b1's, in another network than a1's (A)`);
  });

  it('refuses a source that does not exist or is not attached', () => {
    assert.throws(() => trace({ from: 'nope', to: 'a1' }), TraceError);
    const snapshot = fabricSnapshot();
    const bindings = new Map(snapshot.bindings);
    bindings.delete('a1');
    assert.throws(() => tracePacket({ ...snapshot, bindings }, fabricMembers(), { from: 'a1', to: 'a5' }), /not attached/);
  });

  describe('security groups', () => {
    it('names the rule and group that admit a packet, on every policy hop', () => {
      const r = trace({ from: 'a5', to: 'a2', protocol: 'tcp', dstPort: 5432 }, policySnapshot());
      assert.equal(r.verdict, 'delivered', r.reason);
      assert.equal(r.reason, `delivered from a5 to endpoint a2 on h2 (port 3), over the tunnel; allowed by group db (ingress tcp/5432 from ${NIC.a5.ip}/32)`);
      const rule = r.hops.find((h) => h.table === 'ingress-policy-eval' && h.flow)!;
      assert.deepEqual(rule.owner, { feature: 'policy_rule', kind: 'security-group-rule', id: 'db-pg', name: 'db', rule: `ingress tcp/5432 from ${NIC.a5.ip}/32` });
      assert.equal(rule.summary, `ingress-policy-eval: rule "ingress tcp/5432 from ${NIC.a5.ip}/32" of group db`);
    });

    it('says which ingress rule is missing: "no ingress rule of group db allows tcp/5432 from <ip>"', () => {
      const r = trace({ from: 'a1', to: 'a2', protocol: 'tcp', dstPort: 5432 }, policySnapshot());
      assert.equal(r.verdict, 'dropped');
      assert.equal(r.reason, `dropped by the security groups of endpoint a2 on h2: no ingress rule of group db allows tcp/5432 from ${NIC.a1.ip}`);
      assert.equal(r.hops[r.hops.length - 1]!.table, 'ingress-policy-eval');
    });

    it('names both sides\' rules through a remote group (a conjunction) and refuses a non-member', () => {
      const ok = trace({ from: 'a1', to: 'a2', protocol: 'icmp' }, policySnapshot());
      assert.equal(ok.verdict, 'delivered', ok.reason);
      assert.match(ok.reason, /; allowed by group app \(egress any IPv4 to anywhere\), group db \(ingress icmp from group app\)$/);
      const no = trace({ from: 'a5', to: 'a2', protocol: 'icmp' }, policySnapshot());
      assert.equal(no.reason, `dropped by the security groups of endpoint a2 on h2: no ingress rule of group db allows icmp type 8 from ${NIC.a5.ip}`);
    });

    it('says which egress rule is missing, on the sending host', () => {
      const s = policySnapshot({ app: [{ id: 'app-dns', direction: 'egress', ethertype: 'IPv4', protocol: 'udp', portMin: 53, portMax: 53 }] });
      const r = trace({ from: 'a1', to: 'a5', protocol: 'tcp', dstPort: 80 }, s);
      assert.equal(r.reason, `dropped by the security groups of endpoint a1 on h1: no egress rule of group app allows tcp/80 to ${NIC.a5.ip}`);
      assert.deepEqual(r.segments.map((x) => x.host), ['h1']);
      assert.equal(trace({ from: 'a1', to: 'a5', protocol: 'udp', dstPort: 53 }, s).verdict, 'delivered');
    });
  });

  describe('routers', () => {
    it('says which router routed the packet, between which subnets, and the TTL (local)', () => {
      const r = trace({ from: 'a1', to: 'b1', protocol: 'tcp', dstPort: 22 }, routedSnapshot());
      assert.equal(r.verdict, 'delivered', r.reason);
      assert.equal(r.reason, 'delivered from a1 to endpoint b1 on h1 (port 2), routed by router r1 from 10.1.0.0/24 (network A) to 10.2.0.0/24 (network B), ttl 64→63');
      assert.equal(r.packet.eth_dst, R1.mac, 'sent to the gateway, as the workload would');
      const l3 = r.hops.find((h) => h.table === 'l3')!;
      assert.deepEqual([l3.owner?.kind, l3.owner?.name, l3.summary], ['router', 'r1', 'l3: router flow of router r1']);
      assert.equal(r.hops.find((h) => h.table === 'l3-neighbor')!.owner?.name, 'b1');
    });

    it('routes to a remote host and says so', () => {
      const r = trace({ from: 'a1', to: 'b2', protocol: 'udp' }, routedSnapshot());
      assert.equal(r.reason, 'delivered from a1 to endpoint b2 on h2 (port 7), routed by router r1 from 10.1.0.0/24 (network A) to 10.2.0.0/24 (network B), ttl 64→63, over the tunnel');
      assert.deepEqual(r.segments.map((s) => s.host), ['h1', 'h2']);
    });

    it('explains a routed packet to an address nobody holds, one whose holder is not attached, and one no route covers', () => {
      const unknown = trace({ from: 'a1', dstIp: '10.2.0.99' }, routedSnapshot());
      assert.equal(unknown.verdict, 'dropped');
      assert.equal(unknown.reason, 'dropped by router r1 on h1: unknown destination: no endpoint of network B (10.2.0.0/24) has address 10.2.0.99');
      const s = routedSnapshot();
      const bindings = new Map(s.bindings);
      bindings.delete('b2');
      assert.equal(trace({ from: 'a1', to: 'b2' }, { ...s, bindings }).reason, `dropped by router r1 on h1: endpoint b2 holds ${NIC.b2.ip} in network B (10.2.0.0/24) but is not attached (status pending)`);
      assert.equal(trace({ from: 'a1', dstIp: '10.7.0.1' }, routedSnapshot()).reason, 'dropped by router r1 on h1: no route to 10.7.0.1 (it connects 10.1.0.0/24, 10.2.0.0/24)');
    });

    it('says where the TTL expired', () => {
      const expired = trace({ from: 'a1', to: 'b1', protocol: 'icmp', ttl: 1 }, routedSnapshot());
      assert.equal(expired.verdict, 'to-controller');
      assert.equal(expired.reason, 'TTL expired at router r1 on h1 (ttl 1): sent to the controller of h1');
    });

    it('combines routing and security groups in one sentence', () => {
      const s = routedSnapshot(policySnapshot());
      const r = trace({ from: 'b1', to: 'a2', protocol: 'tcp', dstPort: 5432 }, s);
      assert.equal(r.reason, `dropped by the security groups of endpoint a2 on h2: no ingress rule of group db allows tcp/5432 from ${NIC.b1.ip}`);
    });
  });
});
