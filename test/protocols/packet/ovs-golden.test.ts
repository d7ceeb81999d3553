/**
 * Packets built by Open vSwitch (fixtures.ts) against Plexus: the stored bytes still
 * match what `ovs-ofctl compose-packet` makes, Plexus decodes the same fields OVS
 * extracts, and Plexus builders make byte-identical packets from the same content.
 */
import assert from 'node:assert/strict';
import { buildArpReply, buildArpRequest, buildIcmpEcho, buildNeighborAdvertisement, buildNeighborSolicitation, buildUdp, decodePacket, type DecodedPacket } from '../../../protocols/packet/packet';
import { makeVlanTag } from '../../../protocols/packet/ethernet';
import { OVS_GOLDEN, OVS_PAYLOAD, golden, type OvsGoldenName } from './fixtures';
import { composePacket, extractOvsFlow, hex } from './oracle';

/** The flow fields OVS would extract, as Plexus decoded them (OVS names and formats). */
function plexusFlow(p: DecodedPacket): Record<string, string> {
  const f: Record<string, string> = { dl_src: p.eth.src, dl_dst: p.eth.dst };
  const tag = p.vlan?.[0];
  if (tag) Object.assign(f, { dl_vlan: String(tag.vid), dl_vlan_pcp: String(tag.pcp) });
  else f.vlan_tci = '0x0000';
  const v6 = p.ipv6 ? '6' : '';
  f.proto = p.arp ? 'arp' : p.icmp ? 'icmp' : p.icmpv6 ? 'icmp6' : p.udp ? `udp${v6}` : p.tcp ? `tcp${v6}` : p.ipv4 ? 'ip' : 'ipv6';
  if (p.arp) {
    Object.assign(f, {
      arp_op: String(p.arp.op),
      arp_spa: p.arp.senderIp,
      arp_tpa: p.arp.targetIp,
      arp_sha: p.arp.senderMac,
      arp_tha: p.arp.targetMac,
    });
  }
  if (p.ipv4) {
    Object.assign(f, {
      nw_src: p.ipv4.src,
      nw_dst: p.ipv4.dst,
      nw_ttl: String(p.ipv4.ttl),
      nw_tos: String(p.ipv4.dscp << 2),
      nw_ecn: String(p.ipv4.ecn),
    });
  }
  if (p.ipv6) {
    Object.assign(f, {
      ipv6_src: p.ipv6.src,
      ipv6_dst: p.ipv6.dst,
      nw_ttl: String(p.ipv6.hopLimit),
      nw_tos: String(p.ipv6.trafficClass & 0xfc),
      nw_ecn: String(p.ipv6.trafficClass & 0x03),
      ipv6_label: `0x${p.ipv6.flowLabel.toString(16).padStart(5, '0')}`,
    });
  }
  const icmp = p.icmp ?? p.icmpv6;
  if (p.icmp) Object.assign(f, { icmp_type: String(p.icmp.type), icmp_code: String(p.icmp.code) });
  if (p.icmpv6) {
    const type = { 'neighbor-solicitation': 135, 'neighbor-advertisement': 136 } as Record<string, number>;
    const t = p.icmpv6.kind === 'echo' || p.icmpv6.kind === 'other' ? p.icmpv6.type : type[p.icmpv6.kind];
    Object.assign(f, { icmp_type: String(t), icmp_code: String(p.icmpv6.code) });
    if (p.icmpv6.kind === 'neighbor-solicitation' || p.icmpv6.kind === 'neighbor-advertisement') {
      f.nd_target = p.icmpv6.target;
      for (const o of p.icmpv6.options) {
        if (o.type === 'source-link-layer-address') f.nd_sll = o.mac;
        if (o.type === 'target-link-layer-address') f.nd_tll = o.mac;
      }
    }
  }
  const l4 = p.udp ?? p.tcp;
  if (l4) Object.assign(f, { tp_src: String(l4.srcPort), tp_dst: String(l4.dstPort) });
  if (p.tcp) f.tcp_flags = tcpFlagText(p.tcp.flags);
  const csum = icmp?.checksum ?? l4?.checksum;
  if (csum !== undefined) f.csum = csum.toString(16).padStart(4, '0');
  return f;
}

function tcpFlagText(flags: number): string {
  const names = ['fin', 'syn', 'rst', 'psh', 'ack', 'urg', 'ece', 'cwr', 'ns'];
  return names.filter((_, i) => flags & (1 << i)).join('|');
}

describe('packet: Open vSwitch golden packets', () => {
  for (const name of Object.keys(OVS_GOLDEN) as OvsGoldenName[]) {
    describe(name, () => {
      it('fixture bytes are what ovs-ofctl compose-packet builds @slow', () => {
        assert.equal(hex(composePacket(OVS_GOLDEN[name].flow)), OVS_GOLDEN[name].hex);
      });

      it('decodes to the fields OVS extracts, with valid checksums @slow', () => {
        const packet = golden(name);
        const p = decodePacket(packet);
        const ovs = extractOvsFlow(packet);
        const ours = plexusFlow(p);
        for (const [key, value] of Object.entries(ours)) {
          if (key === 'nd_sll' || key === 'nd_tll' || key in ovs) assert.equal(value, ovs[key], `${name}: ${key}`);
        }
        for (const key of ['proto', 'dl_src', 'dl_dst', 'dl_vlan', 'dl_vlan_pcp', 'vlan_tci', 'csum', 'tp_src', 'tp_dst', 'tcp_flags', 'nw_ttl', 'nw_tos', 'nw_src', 'nw_dst', 'ipv6_src', 'ipv6_dst', 'icmp_type', 'icmp_code', 'arp_op', 'arp_sha', 'arp_tha', 'nd_target']) {
          if (key in ovs) assert.equal(ours[key], ovs[key], `${name}: ${key} not decoded`);
        }
        if (p.ipv4) assert.ok(p.ipv4.isChecksumValid, 'IPv4 header checksum');
        for (const layer of [p.icmp, p.icmpv6, p.udp]) if (layer) assert.ok(layer.isChecksumValid, 'L4 checksum');
      });
    });
  }

  it('reads TCP flags and ports from a SYN-ACK', () => {
    const p = decodePacket(golden('tcpSynAck'));
    assert.equal(tcpFlagText(p.tcp!.flags), 'syn|ack');
    assert.equal(p.tcp!.headerLengthBytes, 20);
    assert.equal(p.payload?.length, 0);
  });

  it('keeps an unknown IP protocol raw', () => {
    const p = decodePacket(golden('unknownIpProto'));
    assert.equal(p.ipv4!.protocol, 99);
    assert.equal(p.ipv4!.dscp, 46);
    assert.equal(p.vlan, undefined);
    assert.equal(p.payload!.length, 0);
    assert.equal(p.udp ?? p.tcp ?? p.icmp, undefined);
  });

  describe('builders make the same bytes as OVS', () => {
    const a = '02:00:00:00:00:01';
    const b = '02:00:00:00:00:02';

    it('ARP request', () => {
      assert.equal(hex(buildArpRequest({ srcMac: a, srcIp: '10.0.0.1', targetIp: '10.0.0.2' })), OVS_GOLDEN.arpRequest.hex);
    });

    it('ARP reply to the OVS request', () => {
      assert.equal(hex(buildArpReply(decodePacket(golden('arpRequest')), b)), OVS_GOLDEN.arpReply.hex);
    });

    it('ICMP echo request, untagged and VLAN-tagged', () => {
      const fields = { srcMac: a, dstMac: b, src: '10.0.0.1', dst: '10.0.0.2', identifier: 0, sequence: 0, data: OVS_PAYLOAD };
      assert.equal(hex(buildIcmpEcho(fields)), OVS_GOLDEN.icmpEcho.hex);
      assert.equal(hex(buildIcmpEcho({ ...fields, vlan: [makeVlanTag(100, 5)] })), OVS_GOLDEN.vlanIcmpEcho.hex);
    });

    it('ICMPv6 echo request', () => {
      const fields = { srcMac: a, dstMac: b, src: '2001:db8::1', dst: '2001:db8::2', ttl: 0, identifier: 0, sequence: 0, data: OVS_PAYLOAD };
      assert.equal(hex(buildIcmpEcho(fields)), OVS_GOLDEN.icmp6Echo.hex);
    });

    it('UDP over IPv4 and IPv6', () => {
      const v4 = { srcMac: a, dstMac: b, src: '10.0.0.1', dst: '10.0.0.2', ttl: 0, srcPort: 5000, dstPort: 53, payload: OVS_PAYLOAD };
      assert.equal(hex(buildUdp(v4)), OVS_GOLDEN.udp4.hex);
      const v6 = { ...v4, src: '2001:db8::1', dst: '2001:db8::2', srcPort: 546, dstPort: 547 };
      assert.equal(hex(buildUdp(v6)), OVS_GOLDEN.udp6.hex);
    });

    it('Neighbor Solicitation', () => {
      assert.equal(hex(buildNeighborSolicitation({ srcMac: a, src: 'fe80::1', target: 'fe80::2' })), OVS_GOLDEN.neighborSolicitation.hex);
    });

    it('Neighbor Advertisement (S and O set) answering the OVS solicitation', () => {
      const na = buildNeighborAdvertisement(decodePacket(golden('neighborSolicitation')), b);
      assert.equal(hex(na), OVS_GOLDEN.neighborAdvertisement.hex);
    });
  });
});
