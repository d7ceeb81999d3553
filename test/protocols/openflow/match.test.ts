import assert from 'node:assert/strict';
import { BufferReader } from '../../../protocols/common/buffer-reader';
import { BufferWriter } from '../../../protocols/common/buffer-writer';
import { DecodeError, EncodeError } from '../../../protocols/common/errors';
import { decodeMessage, encodeMessage } from '../../../protocols/openflow/codec';
import {
  decodeMatch, decodeOxm, encodeMatch, encodeOxm, FIELDS, findField, formatIpv6, makeFieldRef, oxmHeader, parseIpv6,
  resolveFieldRef, type Match, type OxmField,
} from '../../../protocols/openflow/match';
import type { FlowMod } from '../../../protocols/openflow/messages';
import { ofpPrint } from '../../support/ofp-print';

const IP = { field: 'eth_type', value: 0x0800 } as const;
const IP6 = { field: 'eth_type', value: 0x86dd } as const;
const ARP = { field: 'eth_type', value: 0x0806 } as const;
const MPLS = { field: 'eth_type', value: 0x8847 } as const;
const proto = (p: number): OxmField => ({ field: 'ip_proto', value: p });
/** OVS checks the ct_nw_* / ct_tp_* prerequisite against an exact ct_state=trk. */
const TRK = { field: 'ct_state', value: 0x20 } as const;

/** [match, exact text ovs-ofctl 3.1 prints for the flow-mod's match part]. */
const GOLDEN: ReadonlyArray<readonly [Match, string]> = [
  // OpenFlow 1.3 basic class
  [[{ field: 'in_port', value: 5 }], 'in_port=5'],
  [[{ field: 'in_port', value: 0xfffffffe }], 'in_port=LOCAL'],
  [[{ field: 'metadata', value: 0x1234n }], 'metadata=0x1234'],
  [[{ field: 'metadata', value: 0x10n, mask: 0xf0n }], 'metadata=0x10/0xf0'],
  [[{ field: 'eth_dst', value: 'aa:bb:cc:dd:ee:ff' }], 'dl_dst=aa:bb:cc:dd:ee:ff'],
  [[{ field: 'eth_dst', value: '01:00:00:00:00:00', mask: '01:00:00:00:00:00' }], 'dl_dst=01:00:00:00:00:00/01:00:00:00:00:00'],
  [[{ field: 'eth_src', value: '00:11:22:33:44:55' }], 'dl_src=00:11:22:33:44:55'],
  [[{ field: 'eth_src', value: '00:11:22:00:00:00', mask: 'ff:ff:ff:00:00:00' }], 'dl_src=00:11:22:00:00:00/ff:ff:ff:00:00:00'],
  [[ARP], 'arp'],
  [[{ field: 'eth_type', value: 0x88cc }], 'dl_type=0x88cc'],
  [[{ field: 'vlan_vid', value: 0x1005 }], 'dl_vlan=5'],
  [[{ field: 'vlan_vid', value: 0x1000, mask: 0x1000 }], 'vlan_tci=0x1000/0x1000'],
  [[{ field: 'vlan_vid', value: 0x1005 }, { field: 'vlan_pcp', value: 3 }], 'dl_vlan=5,dl_vlan_pcp=3'],
  [[IP, { field: 'ip_dscp', value: 46 }], 'ip,nw_tos=184'],
  [[IP, { field: 'ip_ecn', value: 3 }], 'ip,nw_ecn=3'],
  [[IP, proto(17)], 'udp'],
  [[IP, proto(47)], 'ip,nw_proto=47'],
  [[IP, { field: 'ip_src', value: '10.0.0.1' }], 'ip,nw_src=10.0.0.1'],
  [[IP, { field: 'ip_src', value: '10.0.0.0', mask: '255.255.255.0' }], 'ip,nw_src=10.0.0.0/24'],
  [[IP, { field: 'ip_src', value: '10.0.0.0', mask: '255.0.255.0' }], 'ip,nw_src=10.0.0.0/255.0.255.0'],
  [[IP, { field: 'ip_dst', value: '192.168.1.254' }], 'ip,nw_dst=192.168.1.254'],
  [[IP, proto(6), { field: 'tcp_src', value: 80 }], 'tcp,tp_src=80'],
  [[IP, proto(6), { field: 'tcp_dst', value: 0x400, mask: 0xfc00 }], 'tcp,tp_dst=0x400/0xfc00'],
  [[IP, proto(17), { field: 'udp_src', value: 68 }, { field: 'udp_dst', value: 67 }], 'udp,tp_src=68,tp_dst=67'],
  [[IP, proto(132), { field: 'sctp_src', value: 1 }, { field: 'sctp_dst', value: 2 }], 'sctp,tp_src=1,tp_dst=2'],
  [[IP, proto(1), { field: 'icmp_type', value: 8 }, { field: 'icmp_code', value: 0 }], 'icmp,icmp_type=8,icmp_code=0'],
  [[ARP, { field: 'arp_op', value: 1 }], 'arp,arp_op=1'],
  [[ARP, { field: 'arp_spa', value: '10.0.0.1' }, { field: 'arp_tpa', value: '10.0.0.2' }], 'arp,arp_spa=10.0.0.1,arp_tpa=10.0.0.2'],
  [[ARP, { field: 'arp_tpa', value: '10.0.0.0', mask: '255.255.0.0' }], 'arp,arp_tpa=10.0.0.0/16'],
  [[ARP, { field: 'arp_sha', value: '00:00:00:00:00:01' }, { field: 'arp_tha', value: '00:00:00:00:00:02' }], 'arp,arp_sha=00:00:00:00:00:01,arp_tha=00:00:00:00:00:02'],
  [[IP6, { field: 'ipv6_src', value: 'fe80::1' }], 'ipv6,ipv6_src=fe80::1'],
  [[IP6, { field: 'ipv6_src', value: 'fe80::', mask: 'ffff:ffff:ffff:ffff::' }], 'ipv6,ipv6_src=fe80::/64'],
  [[IP6, { field: 'ipv6_dst', value: '2001:db8::a:0:0:1' }], 'ipv6,ipv6_dst=2001:db8::a:0:0:1'],
  [[IP6, { field: 'ipv6_label', value: 5 }], 'ipv6,ipv6_label=0x00005'],
  [[IP6, proto(58), { field: 'icmpv6_type', value: 128 }, { field: 'icmpv6_code', value: 0 }], 'icmp6,icmp_type=128,icmp_code=0'],
  [[IP6, proto(58), { field: 'icmpv6_type', value: 135 }, { field: 'nd_target', value: 'fe80::1' }], 'icmp6,icmp_type=135,nd_target=fe80::1'],
  [[IP6, proto(58), { field: 'icmpv6_type', value: 135 }, { field: 'nd_sll', value: '00:00:00:00:00:01' }], 'icmp6,icmp_type=135,nd_sll=00:00:00:00:00:01'],
  [[IP6, proto(58), { field: 'icmpv6_type', value: 136 }, { field: 'nd_tll', value: '00:00:00:00:00:02' }], 'icmp6,icmp_type=136,nd_tll=00:00:00:00:00:02'],
  [[MPLS, { field: 'mpls_label', value: 100 }], 'mpls,mpls_label=100'],
  [[MPLS, { field: 'mpls_tc', value: 3 }], 'mpls,mpls_tc=3'],
  [[MPLS, { field: 'mpls_bos', value: 1 }], 'mpls,mpls_bos=1'],
  [[{ field: 'tun_id', value: 0x5n }], 'tun_id=0x5'],
  [[{ field: 'tun_id', value: 0x100n, mask: 0xff00n }], 'tun_id=0x100/0xff00'],
  // Nicira / Open vSwitch extensions
  [[IP, { field: 'nw_tos', value: 8 }], 'ip,nw_tos=8'],
  [[{ field: 'vlan_tci', value: 0x1005, mask: 0x1fff }], 'dl_vlan=5'],
  [[IP, { field: 'ip_frag', value: 1 }], 'ip,nw_frag=first'],
  [[IP, { field: 'ip_frag', value: 1, mask: 1 }], 'ip,nw_frag=yes'],
  [[IP, { field: 'nw_ttl', value: 64 }], 'ip,nw_ttl=64'],
  [[MPLS, { field: 'mpls_ttl', value: 5 }], 'mpls,mpls_ttl=5'],
  [[{ field: 'tun_src', value: '192.0.2.1' }, { field: 'tun_dst', value: '192.0.2.2' }], 'tun_src=192.0.2.1,tun_dst=192.0.2.2'],
  [[{ field: 'pkt_mark', value: 5 }], 'pkt_mark=0x5'],
  [[{ field: 'pkt_mark', value: 5, mask: 0xff }], 'pkt_mark=0x5/0xff'],
  [[IP, proto(6), { field: 'tcp_flags', value: 0x2, mask: 0x2 }], 'tcp,tcp_flags=+syn'],
  [[IP, proto(6), { field: 'tcp_flags', value: 0x2, mask: 0x12 }], 'tcp,tcp_flags=+syn-ack'],
  [[{ field: 'dp_hash', value: 5, mask: 0xff }], 'dp_hash=0x5/0xff'],
  [[{ field: 'recirc_id', value: 5 }], 'recirc_id=0x5'],
  [[{ field: 'conj_id', value: 7 }], 'conj_id=7'],
  [[{ field: 'tun_gbp_id', value: 5 }], 'tun_gbp_id=5'],
  [[{ field: 'tun_gbp_flags', value: 1 }], 'tun_gbp_flags=0x1'],
  [[{ field: 'tun_flags', value: 1, mask: 1 }], 'tun_flags=+oam'],
  [[{ field: 'ct_state', value: 0x21, mask: 0x21 }], 'ct_state=+new+trk'],
  [[{ field: 'ct_state', value: 0x22, mask: 0x26 }], 'ct_state=+est-rel+trk'],
  [[{ field: 'ct_zone', value: 5 }], 'ct_zone=5'],
  [[{ field: 'ct_mark', value: 5, mask: 0xff }], 'ct_mark=0x5/0xff'],
  [[{ field: 'ct_label', value: 1n, mask: 1n }], 'ct_label=0x1/0x1'],
  [[{ field: 'ct_label', value: 0x1234_0000_0000_0000_0000_0000_0000_0001n }], 'ct_label=0x12340000000000000000000000000001'],
  [[{ field: 'tun_ipv6_src', value: '2001:db8::1' }, { field: 'tun_ipv6_dst', value: '2001:db8::2' }], 'tun_ipv6_src=2001:db8::1,tun_ipv6_dst=2001:db8::2'],
  [[IP, TRK, { field: 'ct_nw_proto', value: 6 }], 'ct_state=trk,ct_nw_proto=6,ip'],
  [[IP, TRK, { field: 'ct_nw_src', value: '10.0.0.1' }, { field: 'ct_nw_dst', value: '10.0.0.0', mask: '255.0.0.0' }], 'ct_state=trk,ct_nw_src=10.0.0.1,ct_nw_dst=10.0.0.0/8,ip'],
  [[IP6, TRK, { field: 'ct_ipv6_src', value: '::1' }, { field: 'ct_ipv6_dst', value: '::2' }], 'ct_state=trk,ct_ipv6_src=::1,ct_ipv6_dst=::2,ipv6'],
  [[IP, TRK, { field: 'ct_nw_proto', value: 6 }, { field: 'ct_tp_src', value: 80 }, { field: 'ct_tp_dst', value: 8080 }], 'ct_state=trk,ct_nw_proto=6,ct_tp_src=80,ct_tp_dst=8080,ip'],
  [[{ field: 'reg0', value: 5 }], 'reg0=0x5'],
  [[{ field: 'reg15', value: 0xffffffff }], 'reg15=0xffffffff'],
  [[{ field: 'reg7', value: 5, mask: 0xff }], 'reg7=0x5/0xff'],
  [[{ field: 'xreg1', value: 5n }], 'reg2=0,reg3=0x5'],
  [[{ field: 'xreg7', value: 0x1_0000_0000n, mask: 0xffff_0000_0000n }], 'reg14=0x1/0xffff'],
  [[{ field: 'xxreg0', value: 1n }], 'reg0=0,reg1=0,reg2=0,reg3=0x1'],
  [[{ field: 'xxreg3', value: 0xabn << 96n, mask: 0xffn << 96n }], 'reg12=0xab/0xff'],
  [[{ field: 'tun_metadata0', value: Buffer.from([5]) }], 'tun_metadata0=0x5'],
  [[{ field: 'tun_metadata3', value: Buffer.from('01020000', 'hex'), mask: Buffer.from('ffff0000', 'hex') }], 'tun_metadata3=0x1020000/0xffff0000'],
  [[{ field: 'tun_metadata63', value: Buffer.from('0000000000000001', 'hex') }], 'tun_metadata63=0x1'],
  // Several fields at once, as the classifier table writes them
  [[{ field: 'in_port', value: 3 }, { field: 'eth_src', value: '02:00:00:00:00:01' }, IP, { field: 'ip_src', value: '10.1.0.5' }, { field: 'reg6', value: 0x2a }],
    'ip,reg6=0x2a,in_port=3,dl_src=02:00:00:00:00:01,nw_src=10.1.0.5'],
];

function flowMod(match: Match): FlowMod {
  return { type: 'flow_mod', xid: 1, match, instructions: [] };
}

function label(m: Match): string {
  return JSON.stringify(m, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : Buffer.isBuffer(v) ? v.toString('hex') : v))
    .replace(/"type":"Buffer","data":\[[^\]]*\]/g, 'buf');
}

describe('openflow match: golden against ovs-ofctl ofp-print @slow', () => {
  for (const [match, expected] of GOLDEN) {
    it(`${expected}  <=  ${label(match)}`, () => {
      const bytes = encodeMessage(flowMod(match));
      assert.equal(ofpPrint(bytes).trim(), `OFPT_FLOW_MOD (OF1.3) (xid=0x1): ADD ${expected} actions=drop`);
      const back = decodeMessage(bytes);
      assert.equal(back.type, 'flow_mod');
      assert.deepEqual(back.type === 'flow_mod' && back.match, match);
    });
  }
});

function encodeOne(f: OxmField): Buffer {
  const w = new BufferWriter();
  encodeOxm(w, f);
  return w.finish();
}

function decodeBytes(hex: string): Match {
  return decodeMatch(new BufferReader(Buffer.from(hex.replace(/\s/g, ''), 'hex')));
}

describe('openflow match: fields Open vSwitch does not implement @slow', () => {
  // OVS 3.1 answers OFPBMC_BAD_FIELD for these, so the oracle is the spec's layout.
  const cases: ReadonlyArray<readonly [OxmField, string]> = [
    [{ field: 'in_phy_port', value: 1 }, '80000204 00000001'],
    [{ field: 'pbb_isid', value: 0x123400, mask: 0xffff00 }, '80004b06 123400 ffff00'.replace(/ /g, '')],
    [{ field: 'ipv6_exthdr', value: 0x100 }, '80004e02 0100'],
  ];
  for (const [field, hex] of cases) {
    it(`${field.field}: spec bytes, OVS reports BAD_FIELD, round trip`, () => {
      assert.equal(encodeOne(field).toString('hex'), hex.replace(/ /g, ''));
      const msg = encodeMessage(flowMod([field]));
      assert.match(ofpPrint(msg), /decode error: OFPBMC_BAD_FIELD/);
      const back = decodeMessage(msg);
      assert.deepEqual(back.type === 'flow_mod' && back.match, [field]);
    });
  }
});

describe('openflow match: headers and wire layout', () => {
  it('uses OXM headers in matches and NXM headers for field references', () => {
    assert.equal(oxmHeader('reg0'), 0x00010004);
    assert.equal(oxmHeader('eth_dst'), 0x80000606);
    assert.equal(oxmHeader('eth_dst', true), 0x8000070c);
    assert.equal(oxmHeader('in_port'), 0x80000004);
    assert.equal(oxmHeader('tcp_flags'), 0xffff5406);
    assert.equal(resolveFieldRef({ field: 'eth_dst' }).header, 0x00000206);
    assert.equal(resolveFieldRef({ field: 'in_port' }).header, 0x00000002);
    assert.equal(resolveFieldRef({ field: 'xreg3' }).header, 0x80010608);
    assert.deepEqual(resolveFieldRef({ field: 'reg1', ofs: 8 }), { header: 0x00010204, ofs: 8, nBits: 24, width: 32 });
  });
  it('pads ofp_match to 8 bytes and counts only the TLVs in its length', () => {
    const w = new BufferWriter();
    encodeMatch(w, [{ field: 'reg0', value: 5 }]);
    assert.equal(w.finish().toString('hex'), '0001000c' + '00010004' + '00000005' + '00000000');
    const e = new BufferWriter();
    encodeMatch(e, []);
    assert.equal(e.finish().toString('hex'), '0001000400000000');
  });
  it('writes the ONF experimenter header for tcp_flags, as OVS does in OpenFlow 1.3', () => {
    assert.equal(encodeOne({ field: 'tcp_flags', value: 2, mask: 2 }).toString('hex'), 'ffff55084f4e460000020002');
  });
  it('declares every field name once', () => {
    assert.equal(new Set(FIELDS.map((f) => f.name)).size, FIELDS.length);
    assert.equal(findField('reg15')?.bits, 32);
    assert.equal(findField('nope'), undefined);
  });
  it('decodes alternative headers (NXM for OXM fields, NXM tcp_flags, 16-bit NXM in_port) to the same names, keeping the header', () => {
    const bytes = '0001 001a 00000206 aabbccddeeff 00000002 0007 00014402 0012 000000000000'.replace(/ /g, '');
    const match = decodeBytes(bytes);
    assert.deepEqual(match, [
      { field: 'eth_dst', value: 'aa:bb:cc:dd:ee:ff', header: 'NXM_OF_ETH_DST' },
      { field: 'in_port', value: 7, header: 'NXM_OF_IN_PORT' },
      { field: 'tcp_flags', value: 0x12, header: 'NXM_NX_TCP_FLAGS' },
    ]);
    const w = new BufferWriter();
    encodeMatch(w, match);
    assert.equal(w.finish().toString('hex'), bytes);
  });
  it('in_port and in_port_oxm are two fields in references, as in Open vSwitch; in a match OXM_OF_IN_PORT is in_port', () => {
    assert.deepEqual(resolveFieldRef({ field: 'in_port_oxm' }), { header: 0x80000004, ofs: 0, nBits: 32, width: 32 });
    assert.deepEqual(resolveFieldRef({ field: 'in_port' }), { header: 0x00000002, ofs: 0, nBits: 16, width: 16 });
    assert.deepEqual(makeFieldRef(0x80000004, 0, 32), { field: 'in_port_oxm' });
    assert.deepEqual(makeFieldRef(0x00000002, 0, 16), { field: 'in_port' });
    assert.deepEqual(makeFieldRef(0x80000004, 0, 16), { field: 'in_port_oxm', ofs: 0, nBits: 16 });
    assert.deepEqual(decodeBytes('0001 000c 80000004 00000005 00000000'.replace(/ /g, '')), [{ field: 'in_port', value: 5 }]);
  });
  it('references an experimenter OXM field with its 64-bit header, and keeps a header that is not the usual one', () => {
    assert.deepEqual(resolveFieldRef({ field: 'tun_erspan_idx' }), { header: 0xffff1608, experimenter: 0x2320, ofs: 0, nBits: 32, width: 32 });
    assert.throws(() => resolveFieldRef({ field: 'tun_erspan_idx' }, 'reg_load dst', { experimenter: false }), /has no 32-bit header/);
    assert.deepEqual(makeFieldRef({ header: 0xffff1608, experimenter: 0x2320 }, 0, 20), { field: 'tun_erspan_idx', ofs: 0, nBits: 20 });
    assert.equal(makeFieldRef(0xffff1608, 0, 20), undefined); // no experimenter id: not a header we know
    assert.deepEqual(makeFieldRef(0x80000606, 0, 48), { field: 'eth_dst', header: 'OXM_OF_ETH_DST' });
    assert.equal(resolveFieldRef({ field: 'eth_dst', header: 'OXM_OF_ETH_DST' }).header, 0x80000606);
  });
  it('references tun_metadata with the length its header gives (124 bytes, or a TLV mapping\'s)', () => {
    assert.deepEqual(makeFieldRef(0x0001507c, 0, 32), { field: 'tun_metadata0', ofs: 0, nBits: 32 });
    assert.deepEqual(makeFieldRef(0x00015004, 0, 32), { field: 'tun_metadata0', bytes: 4 });
    assert.equal(resolveFieldRef({ field: 'tun_metadata0', bytes: 4 }).header, 0x00015004);
    assert.equal(resolveFieldRef({ field: 'tun_metadata0', ofs: 0, nBits: 8 }).header, 0x0001507c);
  });
});

describe('openflow match: unknown OXM entries round-trip verbatim', () => {
  const cases: ReadonlyArray<readonly [string, OxmField]> = [
    ['basic class, unassigned field', { field: 'unknown', oxmClass: 0x8000, fieldNum: 60, value: Buffer.from('0102', 'hex') }],
    ['masked', { field: 'unknown', oxmClass: 0x8000, fieldNum: 61, value: Buffer.from('01', 'hex'), mask: Buffer.from('0f', 'hex') }],
    ['NXM_1 unassigned', { field: 'unknown', oxmClass: 1, fieldNum: 127, value: Buffer.from('00000001', 'hex') }],
    ['experimenter class', { field: 'unknown', oxmClass: 0xffff, fieldNum: 5, experimenter: 0x00abcdef, value: Buffer.from('aa', 'hex') }],
    ['ONF experimenter, other field', { field: 'unknown', oxmClass: 0xffff, fieldNum: 99, experimenter: 0x4f4e4600, value: Buffer.from('00000001', 'hex') }],
    ['empty value', { field: 'unknown', oxmClass: 0x1234, fieldNum: 1, value: Buffer.alloc(0) }],
  ];
  for (const [name, f] of cases) {
    it(name, () => {
      const w = new BufferWriter();
      encodeMatch(w, [f, { field: 'reg1', value: 1 }]);
      const bytes = w.finish();
      const back = decodeMatch(new BufferReader(bytes));
      assert.deepEqual(back, [f, { field: 'reg1', value: 1 }]);
      const again = new BufferWriter();
      encodeMatch(again, back);
      assert.deepEqual(again.finish(), bytes);
    });
  }
});

describe('openflow match: IPv6 text', () => {
  const cases: ReadonlyArray<readonly [string, string]> = [
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['1:0:0:2:2:0:0:3', '1::2:2:0:0:3'],
    ['1:0:2:3:4:5:6:7', '1:0:2:3:4:5:6:7'],
    ['::', '::'],
    ['1::', '1::'],
    // IPv4-mapped: dotted tail (RFC 5952 §5), as ovs-ofctl prints it (ipv6_src=::ffff:192.0.2.1).
    ['::ffff:192.0.2.1', '::ffff:192.0.2.1'],
    ['fe80::1:2', 'fe80::1:2'],
  ];
  for (const [input, canonical] of cases) {
    it(`${input} -> ${canonical}`, () => assert.equal(formatIpv6(parseIpv6(input)), canonical));
  }
});

describe('openflow match: encode rejects bad input with EncodeError', () => {
  const cases: ReadonlyArray<readonly [string, unknown, RegExp]> = [
    ['unknown field', { field: 'reg99', value: 1 }, /unknown match field "reg99"/],
    ['string for a number field', { field: 'reg0', value: '5' }, /reg0 value: expected an integer number/],
    ['bigint for a 32-bit field', { field: 'reg0', value: 5n }, /expected an integer number/],
    ['number for a 64-bit field', { field: 'metadata', value: 5 }, /metadata value: expected a bigint/],
    ['fractional number', { field: 'reg0', value: 1.5 }, /expected an integer number/],
    ['negative', { field: 'reg0', value: -1 }, /does not fit in 32 bits/],
    ['too big for 32 bits', { field: 'reg0', value: 2 ** 32 }, /does not fit in 32 bits/],
    ['too big for vlan_pcp', { field: 'vlan_pcp', value: 8 }, /does not fit in 3 bits/],
    ['too big for vlan_vid', { field: 'vlan_vid', value: 0x2000 }, /does not fit in 13 bits/],
    ['too big for 64 bits', { field: 'metadata', value: 1n << 64n }, /does not fit in 64 bits/],
    ['too big for ct_label', { field: 'ct_label', value: 1n << 128n }, /does not fit in 128 bits/],
    ['bad MAC', { field: 'eth_dst', value: 'aa:bb:cc:dd:ee' }, /bad MAC address/],
    ['MAC as number', { field: 'eth_dst', value: 5 }, /bad MAC address/],
    ['MAC with a dash', { field: 'eth_dst', value: 'aa:bb:cc-dd:ee:ff' }, /eth_dst value: bad MAC address/],
    ['MAC with a non-hex digit', { field: 'eth_src', value: 'aa:bb:cc:dd:ee:fg' }, /eth_src value: bad MAC address/],
    ['MAC one digit short', { field: 'eth_dst', value: 'aa:bb:cc:dd:ee:f' }, /bad MAC address/],
    ['MAC mask malformed', { field: 'eth_dst', value: '01:00:00:00:00:00', mask: 'ff:ff' }, /eth_dst mask: bad MAC address/],
    ['IPv4 with a leading zero', { field: 'ip_src', value: '10.0.0.01' }, /bad IPv4 address/],
    ['IPv4 with three parts', { field: 'ip_dst', value: '10.0.1' }, /ip_dst value: bad IPv4 address/],
    ['IPv4 with an empty part', { field: 'ip_dst', value: '10..0.1' }, /bad IPv4 address/],
    ['IPv4 as number', { field: 'ip_dst', value: 0x0a000001 }, /ip_dst value: bad IPv4 address/],
    ['MAC value outside its mask (high bits)', { field: 'eth_dst', value: '03:00:00:00:00:00', mask: '01:00:00:00:00:00' }, /eth_dst: value has bits set outside its mask/],
    ['MAC value outside its mask (low bits)', { field: 'eth_dst', value: '00:00:00:00:00:01', mask: 'ff:ff:ff:ff:ff:00' }, /bits set outside its mask/],
    ['64-bit value outside its mask', { field: 'metadata', value: 1n << 40n, mask: 0xffn }, /metadata: value has bits set outside its mask/],
    ['bad IPv4', { field: 'ip_src', value: '10.0.0.256' }, /bad IPv4 address/],
    ['IPv6 for IPv4 field', { field: 'ip_src', value: '::1' }, /bad IPv4 address/],
    ['bad IPv6', { field: 'ipv6_src', value: '1:::2' }, /bad IPv6 address/],
    ['mask on a non-maskable field', { field: 'eth_type', value: 0x800, mask: 0xffff }, /eth_type is not maskable/],
    ['value outside its mask', { field: 'ip_src', value: '10.0.0.1', mask: '255.255.255.0' }, /bits set outside its mask/],
    ['bad mask type', { field: 'reg0', value: 1, mask: '0xff' }, /reg0 mask: expected an integer number/],
    ['tun_metadata too long', { field: 'tun_metadata0', value: Buffer.alloc(125) }, /length 125 not in 0..124/],
    ['a header the field does not have', { field: 'eth_dst', value: 'aa:bb:cc:dd:ee:ff', header: 'NXM_NX_ARP_SHA' }, /eth_dst has no header "NXM_NX_ARP_SHA"/],
    ['tun_metadata mask length', { field: 'tun_metadata0', value: Buffer.alloc(2), mask: Buffer.alloc(3) }, /mask length 3 differs/],
    ['tun_metadata as number', { field: 'tun_metadata0', value: 5 }, /expected a Buffer/],
    ['unknown entry without Buffer', { field: 'unknown', oxmClass: 1, fieldNum: 1, value: 'x' }, /value must be a Buffer/],
    ['unknown experimenter entry without id', { field: 'unknown', oxmClass: 0xffff, fieldNum: 1, value: Buffer.alloc(1) }, /experimenter id/],
    ['not an object', 5, /must be an object/],
  ];
  for (const [name, entry, re] of cases) {
    it(name, () => {
      assert.throws(() => encodeMatch(new BufferWriter(), [entry as OxmField]), (e: unknown) => e instanceof EncodeError && re.test(e.message));
    });
  }
  it('accepts upper-case MACs and plain dotted quads, as the address library does', () => {
    const enc = (f: OxmField): string => {
      const w = new BufferWriter();
      encodeMatch(w, [f]);
      return w.finish().toString('hex');
    };
    assert.equal(enc({ field: 'eth_dst', value: 'AA:bb:CC:dd:EE:0f' }), enc({ field: 'eth_dst', value: 'aa:bb:cc:dd:ee:0f' }));
    assert.equal(enc({ field: 'eth_dst', value: '01:00:00:00:00:00', mask: '01:00:00:00:00:00' }), '00010014' + '8000070c' + '010000000000' + '010000000000' + '00000000');
    assert.equal(enc({ field: 'ip_dst', value: '192.0.2.1' }), '0001000c' + '80001804' + 'c0000201' + '00000000');
    assert.equal(enc({ field: 'ip_dst', value: '10.1.2.0', mask: '255.255.255.0' }), '00010010' + '80001908' + '0a010200' + 'ffffff00');
  });
  it('a match that is not an array', () => {
    assert.throws(() => encodeMatch(new BufferWriter(), {} as Match), EncodeError);
  });
  const refs: ReadonlyArray<readonly [unknown, RegExp]> = [
    [{ field: 'reg0', ofs: 32 }, /ofs 32 outside reg0/],
    [{ field: 'reg0', ofs: 30, nBits: 3 }, /reg0\[30..32\] outside/],
    [{ field: 'reg0', nBits: 0 }, /outside the field/],
    [{ field: 'nope' }, /unknown match field/],
    [{ field: 'tun_metadata0', bytes: 125 }, /length 125 not in 1..124/],
    [{ field: 'reg0', bytes: 4 }, /reg0 has a fixed length/],
    [{ field: 'in_port', header: 'OXM_OF_ETH_DST' }, /in_port has no header "OXM_OF_ETH_DST"/],
  ];
  for (const [ref, re] of refs) {
    it(`field reference ${JSON.stringify(ref)}`, () => {
      assert.throws(() => resolveFieldRef(ref as never), (e: unknown) => e instanceof EncodeError && re.test(e.message));
    });
  }
});

describe('openflow match: decode rejects structurally bad input with DecodeError', () => {
  const cases: ReadonlyArray<readonly [string, string, number]> = [
    ['match type is not OXM', '0000 0004 00000000', 0],
    ['match length below 4', '0001 0002 00000000', 2],
    ['match length beyond the buffer', '0001 0010 00010004 00000005', 4],
    ['match padding missing', '0001 000c 00010004 00000005', 12],
    ['TLV longer than the match', '0001 000c 00010008 00000005 00000000', 8],
    ['TLV header truncated', '0001 0006 0001 0000', 6],
    ['known field with the wrong length', '0001 000b 00010003 000005 0000000000', 7],
    ['masked TLV with odd payload', '0001 000b 00010303 000005 0000000000', 7],
    ['experimenter TLV shorter than its id', '0001 000a ffff0002 0000 000000000000', 8],
  ];
  for (const [name, hex, offset] of cases) {
    it(name, () => {
      assert.throws(() => decodeBytes(hex), (e: unknown) => e instanceof DecodeError && e.offset === offset);
    });
  }
  it('never throws anything but DecodeError on any truncation of a real match', () => {
    const w = new BufferWriter();
    encodeMatch(w, GOLDEN.flatMap(([m]) => m).slice(0, 40));
    const full = w.finish();
    for (let n = 0; n < full.length; n++) {
      assert.throws(() => decodeMatch(new BufferReader(full.subarray(0, n))), DecodeError);
    }
    assert.equal(decodeMatch(new BufferReader(full)).length, 40);
  });
});

describe('openflow match: every declared field round-trips through encodeOxm/decodeOxm', () => {
  const sample = (kind: string, bytes: number): OxmField['value'] => {
    switch (kind) {
      case 'mac': return '00:00:00:00:00:01';
      case 'ipv4': return '10.0.0.1';
      case 'ipv6': return '::1';
      case 'bytes': return Buffer.from([1]);
      default: return bytes <= 4 ? 1 : 1n;
    }
  };
  for (const f of FIELDS) {
    it(f.name, () => {
      const value = sample(f.kind, f.match.bytes);
      const entries: OxmField[] = [{ field: f.name, value }];
      if (f.maskable) entries.push({ field: f.name, value, mask: value });
      for (const e of entries) {
        const bytes = encodeOne(e);
        const r = new BufferReader(bytes);
        // OXM_OF_IN_PORT in a match is in_port, whichever name wrote it.
        assert.deepEqual(decodeOxm(r), f.name === 'in_port_oxm' ? { ...e, field: 'in_port' } : e);
        assert.equal(r.remaining, 0);
      }
    });
  }
});
