/** Neighbor resolution without flooding (SPEC §4 table 20), asserted by where packets go. */
import assert from 'node:assert/strict';
import { walkFabric } from '../../../src/pipeline/flow-table-walk';
import { arpRequest, BROADCAST, buildFabric, neighborSolicit, NIC } from '../../support/fabric-fixtures';

const fabric = buildFabric();

describe('compiler: ARP responder and ND', () => {
  it('answers an ARP request for a known address in the switch, back out of the asking port only', () => {
    const r = walkFabric(fabric, 'h1', arpRequest(NIC.a1, NIC.a2.ip));
    assert.equal(r.verdict, 'delivered', r.reason);
    assert.equal(r.arrivals.length, 1);
    const reply = r.arrivals[0]!;
    assert.ok(reply.kind === 'port');
    assert.deepEqual([reply.host, reply.port], ['h1', NIC.a1.port]);
    const p = reply.packet;
    assert.deepEqual(
      [p.eth_src, p.eth_dst, p.arp_op, p.arp_sha, p.arp_spa, p.arp_tha, p.arp_tpa],
      [NIC.a2.mac, NIC.a1.mac, 2, NIC.a2.mac, NIC.a2.ip, NIC.a1.mac, NIC.a1.ip],
    );
    assert.ok(r.hops.every((h) => h.host === 'h1'), 'never leaves h1');
    assert.equal(r.lost.length, 0);
  });

  it('answers for a local endpoint too', () => {
    const r = walkFabric(fabric, 'h1', arpRequest(NIC.a1, NIC.a5.ip));
    assert.deepEqual(r.arrivals.map((a) => [a.host, a.kind === 'port' && a.port, a.packet.arp_sha]), [['h1', NIC.a1.port, NIC.a5.mac]]);
  });

  it('does not answer for an address of another network: the request floods in its own network only', () => {
    const r = walkFabric(fabric, 'h1', arpRequest(NIC.a1, NIC.b2.ip));
    assert.ok(r.arrivals.every((a) => a.packet.arp_op === 1), 'no reply built');
    assert.deepEqual(
      r.arrivals.map((a) => `${a.host}:${a.kind === 'port' ? a.port : a.kind}`).sort(),
      [`h1:${NIC.a5.port}`, `h2:${NIC.a2.port}`, `h3:${NIC.a3.port}`],
    );
    assert.ok(r.arrivals.every((a) => a.packet.eth_dst === BROADCAST));
  });

  it('punts a neighbor solicitation for a known IPv6 address to the controller of the asking host, not over tunnels', () => {
    const r = walkFabric(fabric, 'h1', neighborSolicit(NIC.b1, NIC.b1.ip6, NIC.b2.ip6));
    assert.equal(r.verdict, 'to-controller', r.reason);
    assert.deepEqual(r.arrivals.map((a) => [a.host, a.kind]), [['h1', 'controller']]);
    assert.ok(r.hops.every((h) => h.host === 'h1'));
  });
});
