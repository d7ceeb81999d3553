/** L2 forwarding (SPEC §4 table 50) and the tunnel side of classify, asserted by where packets go. */
import assert from 'node:assert/strict';
import { walkFabric, walkPacket, type FabricResult } from '../../../src/pipeline/flow-table-walk';
import { compileFabric } from '../../../src/compiler/fabric';
import { BROADCAST, buildFabric, ENCAP_IP, fabricMembers, fabricSnapshot, NIC, TUNNEL_OFPORT, udp4, VNI } from '../../support/fabric-fixtures';

const fabric = buildFabric();
const h1 = fabric.get('h1')!;
const h2 = fabric.get('h2')!;

const where = (r: FabricResult): string[] => r.arrivals.map((a) => `${a.host}:${a.kind === 'port' ? a.port : a.kind}`).sort();

describe('compiler: L2', () => {
  it('delivers to a local endpoint\'s port only, the frame unchanged', () => {
    const pkt = udp4(NIC.a1, NIC.a5);
    const r = walkPacket(h1, pkt);
    assert.equal(r.outputs.length, 1);
    const o = r.outputs[0]!;
    assert.ok(o.kind === 'port');
    assert.equal(o.port, NIC.a5.port);
    for (const f of ['eth_src', 'eth_dst', 'ip_src', 'ip_dst']) assert.equal(o.packet[f], pkt[f], f);
    assert.deepEqual(r.hops.map((h) => h.table?.name), ['classify', 'port-security', 'arp-nd-dhcp', 'egress-policy', 'l3', 'l2', 'ingress-policy', 'output']);
  });

  it('sends to a remote endpoint out of plexus-vxlan with tun_id = VNI and tun_dst = its host', () => {
    const r = walkPacket(h1, udp4(NIC.a1, NIC.a3));
    assert.equal(r.outputs.length, 1);
    const o = r.outputs[0]!;
    assert.ok(o.kind === 'tunnel', r.reason);
    assert.deepEqual([o.port, o.tunId, o.tunDst], [TUNNEL_OFPORT, BigInt(VNI.A), ENCAP_IP.h3]);
  });

  it('delivers across the tunnel to the remote endpoint\'s port, classified by tun_src + tun_id', () => {
    const r = walkFabric(fabric, 'h1', udp4(NIC.a1, NIC.a2));
    assert.deepEqual(where(r), [`h2:${NIC.a2.port}`]);
    const onH2 = r.hops.filter((h) => h.host === 'h2');
    assert.equal(onH2[0]!.table?.name, 'classify');
    assert.ok(onH2[0]!.flow!.match.some((f) => f.field === 'tun_id' && f.value === BigInt(VNI.A)));
    assert.ok(onH2[0]!.flow!.match.some((f) => f.field === 'tun_src' && f.value === ENCAP_IP.h1));
  });

  it('drops tunnel traffic from a host that has no endpoint in the network', () => {
    // h3 has no endpoint of B: traffic claiming B's VNI from h3 matches no classify flow on h2.
    const r = walkPacket(h2, { ...udp4(NIC.b1, NIC.b2), in_port: TUNNEL_OFPORT, tun_id: BigInt(VNI.B), tun_src: ENCAP_IP.h3, tun_dst: ENCAP_IP.h2 });
    assert.equal(r.verdict, 'dropped');
    assert.match(r.reason, /classify/);
    const ok = walkPacket(h2, { ...udp4(NIC.b1, NIC.b2), in_port: TUNNEL_OFPORT, tun_id: BigInt(VNI.B), tun_src: ENCAP_IP.h1, tun_dst: ENCAP_IP.h2 });
    assert.equal(ok.verdict, 'delivered', ok.reason);
  });

  it('floods over one VXLAN port, setting tun_dst to each host where the network is present', () => {
    const outs = walkPacket(h1, udp4(NIC.a1, { mac: BROADCAST, ip: '255.255.255.255' })).outputs.filter((o) => o.kind === 'tunnel');
    assert.deepEqual(outs.map((o) => o.kind === 'tunnel' && [o.port, o.tunDst]), [[TUNNEL_OFPORT, ENCAP_IP.h2], [TUNNEL_OFPORT, ENCAP_IP.h3]]);
  });

  it('keeps networks apart: a MAC of another network is unknown', () => {
    const r = walkFabric(fabric, 'h1', udp4(NIC.a1, NIC.b1));
    assert.equal(r.verdict, 'dropped');
    assert.match(r.reason, /table l2/);
    assert.equal(walkFabric(fabric, 'h1', udp4(NIC.a1, NIC.b2)).verdict, 'dropped');
  });

  it('drops unknown unicast', () => {
    assert.equal(walkFabric(fabric, 'h1', udp4(NIC.a1, { mac: '02:00:00:00:0a:99', ip: '10.1.0.99' })).verdict, 'dropped');
  });

  it('floods a broadcast to the network\'s other local ports and to exactly the hosts where the network is present', () => {
    const a = walkFabric(fabric, 'h1', udp4(NIC.a1, { mac: BROADCAST, ip: '255.255.255.255' }));
    assert.deepEqual(where(a), [`h1:${NIC.a5.port}`, `h2:${NIC.a2.port}`, `h3:${NIC.a3.port}`]);
    // Network B has no endpoint on h3: its broadcast goes only to h2.
    const b = walkFabric(fabric, 'h1', udp4(NIC.b1, { mac: BROADCAST, ip: '255.255.255.255' }));
    assert.deepEqual(where(b), [`h2:${NIC.b2.port}`]);
    const tunnels = walkPacket(h1, udp4(NIC.b1, { mac: BROADCAST, ip: '255.255.255.255' })).outputs.filter((o) => o.kind === 'tunnel');
    assert.deepEqual(tunnels.map((o) => o.kind === 'tunnel' && [o.port, o.tunId]), [[TUNNEL_OFPORT, BigInt(VNI.B)]]);
  });

  it('floods multicast like broadcast', () => {
    const r = walkFabric(fabric, 'h1', udp4(NIC.a1, { mac: '01:00:5e:00:00:fb', ip: '224.0.0.251' }));
    assert.deepEqual(where(r), [`h1:${NIC.a5.port}`, `h2:${NIC.a2.port}`, `h3:${NIC.a3.port}`]);
  });

  it('split horizon: a broadcast from a tunnel reaches local ports only, never another tunnel', () => {
    const fromH1 = {
      ...udp4(NIC.a1, { mac: BROADCAST, ip: '255.255.255.255' }),
      in_port: TUNNEL_OFPORT, tun_id: BigInt(VNI.A), tun_src: ENCAP_IP.h1, tun_dst: ENCAP_IP.h2,
    };
    const r = walkPacket(h2, fromH1);
    assert.deepEqual(r.outputs.map((o) => `${o.kind}:${o.kind === 'controller' ? '' : o.port}`), [`port:${NIC.a2.port}`]);
    // Across the fabric every host gets exactly one copy.
    const all = walkFabric(fabric, 'h1', udp4(NIC.a1, { mac: BROADCAST, ip: '255.255.255.255' }));
    assert.equal(all.hops.filter((h) => h.host !== 'h1' && h.depth === 0).length, 2, 'one arrival on h2, one on h3');
  });

  it('does not hairpin unicast from a tunnel toward another host', () => {
    const toA3 = { ...udp4(NIC.a1, NIC.a3), in_port: TUNNEL_OFPORT, tun_id: BigInt(VNI.A), tun_src: ENCAP_IP.h1, tun_dst: ENCAP_IP.h2 };
    assert.equal(walkPacket(h2, toA3).verdict, 'dropped');
  });

  it('drops tunnel traffic with a VNI no local network has', () => {
    const r = walkPacket(h2, { ...udp4(NIC.a1, NIC.a2), in_port: TUNNEL_OFPORT, tun_id: BigInt(VNI.C), tun_src: ENCAP_IP.h1 });
    assert.equal(r.verdict, 'dropped');
    assert.match(r.reason, /classify/);
  });

  it('migrating: until plexus-vxlan has a port, uses the per-peer ports an earlier version left, and still forwards', () => {
    // h1 is mid-upgrade: no plexus-vxlan yet, legacy ports 20 (→ h2) and 21 (→ h3); h2 and h3 already migrated.
    const members = fabricMembers().map((m) =>
      m.context.id === 'h1' ? { ...m, context: { ...m.context, tunnelPort: undefined, legacyTunnelPorts: new Map([['h2', 20], ['h3', 21]]) } } : m,
    );
    const mixed = compileFabric(fabricSnapshot(), members);
    const out = walkPacket(mixed.get('h1')!, udp4(NIC.a1, NIC.a3)).outputs;
    assert.deepEqual(out.map((o) => o.kind === 'tunnel' && [o.port, o.tunDst]), [[21, ENCAP_IP.h3]]);
    assert.deepEqual(where(walkFabric(mixed, 'h1', udp4(NIC.a1, NIC.a2))), [`h2:${NIC.a2.port}`]);
    assert.deepEqual(where(walkFabric(mixed, 'h2', udp4(NIC.a2, NIC.a1))), [`h1:${NIC.a1.port}`], 'what arrives on a legacy port is classified by tun_src + tun_id');
    assert.deepEqual(where(walkFabric(mixed, 'h1', udp4(NIC.a1, { mac: BROADCAST, ip: '255.255.255.255' }))), [`h1:${NIC.a5.port}`, `h2:${NIC.a2.port}`, `h3:${NIC.a3.port}`]);
  });
});
