import assert from 'node:assert/strict';
import { tracePacket, TraceError, type TraceRequest } from '../../../src/compiler/trace';
import { fabricMembers, fabricSnapshot, NIC, TUNNEL_OFPORT } from '../../support/fabric-fixtures';

const trace = (req: TraceRequest) => tracePacket(fabricSnapshot(), fabricMembers(), req);

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
});
