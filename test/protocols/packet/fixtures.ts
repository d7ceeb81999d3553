/**
 * Golden packets. The `ovs` set was built by Open vSwitch 3.1 (`ovs-ofctl compose-packet`
 * on the flow shown), so their checksums and layouts are independent of Plexus code;
 * ovs-golden.test.ts re-runs OVS to prove the bytes still match. The DHCP messages are
 * hand-assembled from the RFC 2131 §2 / RFC 2132 / RFC 3442 layouts, field by field.
 */

export interface OvsGolden {
  readonly flow: string;
  readonly hex: string;
}

export const OVS_GOLDEN = {
  arpRequest: {
    flow: 'eth_src=02:00:00:00:00:01,eth_dst=ff:ff:ff:ff:ff:ff,arp,arp_op=1,arp_spa=10.0.0.1,arp_tpa=10.0.0.2,arp_sha=02:00:00:00:00:01,arp_tha=00:00:00:00:00:00',
    hex:
      'ffffffffffff020000000001080600010800060400010200000000010a0000010000000000000a000002',
  },
  arpReply: {
    flow: 'eth_src=02:00:00:00:00:02,eth_dst=02:00:00:00:00:01,arp,arp_op=2,arp_spa=10.0.0.2,arp_tpa=10.0.0.1,arp_sha=02:00:00:00:00:02,arp_tha=02:00:00:00:00:01',
    hex:
      '020000000001020000000002080600010800060400020200000000020a0000020200000000010a000001',
  },
  icmpEcho: {
    flow: 'eth_src=02:00:00:00:00:01,eth_dst=02:00:00:00:00:02,icmp,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64,icmp_type=8,icmp_code=0',
    hex:
      '02000000000202000000000108004500005c000000004001669f0a0000010a000002080013fc00000000000102030405' +
      '060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435' +
      '363738393a3b3c3d3e3f',
  },
  icmpUnreachable: {
    flow: 'eth_src=02:00:00:00:00:01,eth_dst=02:00:00:00:00:02,icmp,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64,icmp_type=3,icmp_code=4',
    hex:
      '02000000000202000000000108004500001c00000000400166df0a0000010a0000020304fcfb00000000',
  },
  vlanIcmpEcho: {
    flow: 'eth_src=02:00:00:00:00:01,eth_dst=02:00:00:00:00:02,dl_vlan=100,dl_vlan_pcp=5,icmp,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64,icmp_type=8,icmp_code=0',
    hex:
      '0200000000020200000000018100a06408004500005c000000004001669f0a0000010a000002080013fc000000000001' +
      '02030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031' +
      '32333435363738393a3b3c3d3e3f',
  },
  udp4: {
    flow: 'eth_src=02:00:00:00:00:01,eth_dst=02:00:00:00:00:02,udp,nw_src=10.0.0.1,nw_dst=10.0.0.2,udp_src=5000,udp_dst=53',
    hex:
      '02000000000202000000000108004500005c000000000011a68f0a0000010a000002138800350048f39a000102030405' +
      '060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435' +
      '363738393a3b3c3d3e3f',
  },
  tcpSynAck: {
    flow: 'eth_src=02:00:00:00:00:01,eth_dst=02:00:00:00:00:02,tcp,nw_src=10.0.0.1,nw_dst=10.0.0.2,tcp_src=1234,tcp_dst=80,tcp_flags=0x012',
    hex:
      '020000000002020000000001080045000028000000000006a6ce0a0000010a00000204d2005000000000000000005012' +
      '000096ae0000',
  },
  unknownIpProto: {
    flow: 'eth_src=02:00:00:00:00:01,eth_dst=02:00:00:00:00:02,ip,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_proto=99,nw_ttl=7,ip_dscp=46',
    hex:
      '020000000002020000000001080045b800140000000007639ecd0a0000010a000002',
  },
  udp6: {
    flow: 'eth_src=02:00:00:00:00:01,eth_dst=02:00:00:00:00:02,udp6,ipv6_src=2001:db8::1,ipv6_dst=2001:db8::2,udp_src=546,udp_dst=547',
    hex:
      '02000000000202000000000186dd600000000048110020010db800000000000000000000000120010db8000000000000' +
      '000000000002022202230048bba0000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021' +
      '22232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f',
  },
  icmp6Echo: {
    flow: 'eth_src=02:00:00:00:00:01,eth_dst=02:00:00:00:00:02,icmp6,ipv6_src=2001:db8::1,ipv6_dst=2001:db8::2,icmpv6_type=128,icmpv6_code=0',
    hex:
      '02000000000202000000000186dd6000000000483a0020010db800000000000000000000000120010db8000000000000' +
      '0000000000028000400400000000000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021' +
      '22232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f',
  },
  neighborSolicitation: {
    flow: 'eth_src=02:00:00:00:00:01,eth_dst=33:33:ff:00:00:02,icmp6,ipv6_src=fe80::1,ipv6_dst=ff02::1:ff00:2,nw_ttl=255,icmpv6_type=135,icmpv6_code=0,nd_target=fe80::2,nd_sll=02:00:00:00:00:01',
    hex:
      '3333ff00000202000000000186dd6000000000203afffe800000000000000000000000000001ff020000000000000000' +
      '0001ff00000287007a9700000000fe8000000000000000000000000000020101020000000001',
  },
  neighborAdvertisement: {
    flow: 'eth_src=02:00:00:00:00:02,eth_dst=02:00:00:00:00:01,icmp6,ipv6_src=fe80::2,ipv6_dst=fe80::1,nw_ttl=255,icmpv6_type=136,icmpv6_code=0,nd_target=fe80::2,nd_reserved=0x60000000,nd_tll=02:00:00:00:00:02',
    hex:
      '02000000000102000000000286dd6000000000203afffe800000000000000000000000000002fe800000000000000000' +
      '0000000000018800181a60000000fe8000000000000000000000000000020201020000000002',
  },
} as const satisfies Record<string, OvsGolden>;

export type OvsGoldenName = keyof typeof OVS_GOLDEN;

export function golden(name: OvsGoldenName): Buffer {
  return Buffer.from(OVS_GOLDEN[name].hex, 'hex');
}

/** The payload OVS puts after ICMP echo / UDP headers: bytes 0x00..0x3f. */
export const OVS_PAYLOAD = Buffer.from(Array.from({ length: 64 }, (_, i) => i));

const zeros = (n: number): string => '00'.repeat(n);

/** DHCPDISCOVER from 02:42:ac:11:00:02, broadcast flag set, padded to 300 bytes. */
export const DHCP_DISCOVER_HEX = [
  '01', '01', '06', '00', // op BOOTREQUEST, htype Ethernet, hlen 6, hops 0
  '3903f326', // xid
  '0000', '8000', // secs 0, flags B
  zeros(4), zeros(4), zeros(4), zeros(4), // ciaddr yiaddr siaddr giaddr
  '0242ac110002', zeros(10), // chaddr
  zeros(64), zeros(128), // sname, file
  '63825363', // magic cookie
  '350101', // 53 message type: DISCOVER
  '3d07010242ac110002', // 61 client id: htype 1 + MAC
  '3204c0a80164', // 50 requested IP 192.168.1.100
  '0c05686f737431', // 12 hostname "host1"
  '37060103060f1a79', // 55 parameter request list: 1 3 6 15 26 121
  'ff', // end
  zeros(26), // pad to 300
].join('');

/** DHCPOFFER of 192.168.1.100 from server 192.168.1.1 answering the DISCOVER above. */
export const DHCP_OFFER_HEX = [
  '02', '01', '06', '00', // op BOOTREPLY
  '3903f326',
  '0000', '8000',
  zeros(4), 'c0a80164', zeros(4), zeros(4), // yiaddr 192.168.1.100
  '0242ac110002', zeros(10),
  zeros(64), zeros(128),
  '63825363',
  '350102', // 53 OFFER
  '3604c0a80101', // 54 server id 192.168.1.1
  '330400000e10', // 51 lease 3600 s
  '3a0400000708', // 58 T1 1800 s
  '3b0400000c4e', // 59 T2 3150 s
  '0104ffffff00', // 1 subnet mask /24
  '0304c0a80101', // 3 router
  '06080808080801010101', // 6 DNS 8.8.8.8 1.1.1.1
  '0f0b' + Buffer.from('example.com').toString('hex'), // 15 domain name
  '1a0205aa', // 26 MTU 1450
  '7912' + '00c0a80101' + '080ac0a801fe' + '100a01c0a80101', // 121: 0/0→.1, 10/8→.254, 10.1/16→.1
  'ff',
].join('');
