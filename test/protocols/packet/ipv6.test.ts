import assert from 'node:assert/strict';
import { DecodeError } from '../../../protocols/common/errors';
import { ETHER_TYPE, encodeEthernet } from '../../../protocols/packet/ethernet';
import { IP_PROTO } from '../../../protocols/packet/ip-protocol';
import { decodeIpv6, encodeIpv6, isIpv6Fragment } from '../../../protocols/packet/ipv6';
import { decodePacket } from '../../../protocols/packet/packet';
import { encodeUdp } from '../../../protocols/packet/udp';
import { golden } from './fixtures';
import { describeWithTcpdump, hex } from './oracle';

const ETH = { dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', etherType: ETHER_TYPE.IPV6 };
const SRC = '2001:db8::1';
const DST = '2001:db8::2';
/** An 8-byte generic extension header: next header, length 0, PadN of 4 bytes. */
const ext = (next: number): Buffer => Buffer.from([next, 0, 1, 4, 0, 0, 0, 0]);

describe('packet/ipv6', () => {
  it('decodes the OVS header and re-encodes it byte for byte', () => {
    const ip = golden('udp6').subarray(14);
    const d = decodeIpv6(ip);
    assert.equal(d.src, SRC);
    assert.equal(d.dst, DST);
    assert.equal(d.nextHeader, IP_PROTO.UDP);
    assert.equal(d.protocol, IP_PROTO.UDP);
    assert.equal(d.payloadLengthBytes, 72);
    assert.deepEqual(d.extensions, []);
    assert.equal(hex(encodeIpv6(d, d.payload)), hex(ip));
  });

  it('keeps traffic class and flow label', () => {
    const ip = encodeIpv6({ nextHeader: 59, src: SRC, dst: DST, trafficClass: 0xb8, flowLabel: 0xabcde, hopLimit: 3 }, Buffer.alloc(0));
    const d = decodeIpv6(ip);
    assert.deepEqual([d.trafficClass, d.flowLabel, d.hopLimit, d.protocol], [0xb8, 0xabcde, 3, 59]);
  });

  it('skips hop-by-hop, routing, destination options and AH to reach UDP', () => {
    const udp = encodeUdp({ srcPort: 546, dstPort: 547 }, Buffer.from('dhcpv6'), SRC, DST);
    const ah = Buffer.concat([Buffer.from([IP_PROTO.UDP, 4, 0, 0]), Buffer.alloc(20)]); // (4+2)*4 = 24 bytes
    const routing = Buffer.from([IP_PROTO.IPV6_OPTS, 0, 0, 0, 0, 0, 0, 0]);
    const payload = Buffer.concat([ext(IP_PROTO.IPV6_ROUTE), routing, ext(IP_PROTO.AH), ah, udp]);
    const frame = encodeEthernet(ETH, encodeIpv6({ nextHeader: IP_PROTO.HOPOPT, src: SRC, dst: DST }, payload));
    const p = decodePacket(frame);
    assert.deepEqual(p.ipv6!.extensions.map((e) => [e.type, e.data.length]), [[0, 8], [43, 8], [60, 8], [51, 24]]);
    assert.equal(p.ipv6!.protocol, IP_PROTO.UDP);
    assert.equal(p.ipv6!.payloadOffset, 40 + 48);
    assert.equal(p.udp?.payload.toString(), 'dhcpv6');
    assert.ok(p.udp?.isChecksumValid);
  });

  it('decodes the fragment header and stops at fragments @slow', () => {
    const frag = (offsetBytes: number, isMore: boolean): Buffer => {
      const b = Buffer.from([IP_PROTO.UDP, 0, 0, 0, 0, 0, 0x12, 0x34]);
      b.writeUInt16BE(offsetBytes | (isMore ? 1 : 0), 2);
      return b;
    };
    const udp = encodeUdp({ srcPort: 1, dstPort: 2 }, Buffer.alloc(32), SRC, DST);
    const first = decodePacket(encodeEthernet(ETH, encodeIpv6({ nextHeader: 44, src: SRC, dst: DST }, Buffer.concat([frag(0, true), udp]))));
    assert.deepEqual(first.ipv6!.fragment, { offsetBytes: 0, isMoreFragments: true, identification: 0x1234 });
    assert.ok(isIpv6Fragment(first.ipv6!));
    assert.equal(first.udp, undefined);
    assert.equal(first.payload?.length, udp.length);
    const later = decodePacket(encodeEthernet(ETH, encodeIpv6({ nextHeader: 44, src: SRC, dst: DST }, Buffer.concat([frag(1232, false), udp]))));
    assert.equal(later.ipv6!.fragment!.offsetBytes, 1232);
    assert.equal(later.udp, undefined);
    // An atomic fragment (offset 0, M clear) is a whole datagram: decode through.
    const atomic = decodePacket(encodeEthernet(ETH, encodeIpv6({ nextHeader: 44, src: SRC, dst: DST }, Buffer.concat([frag(0, false), udp]))));
    assert.equal(atomic.udp?.dstPort, 2);
    const [text] = describeWithTcpdump([encodeEthernet(ETH, encodeIpv6({ nextHeader: 44, src: SRC, dst: DST }, Buffer.concat([frag(1232, false), udp])))]);
    assert.match(text ?? '', /frag \(0x00001234:1232\|40\)/);
  });

  it('throws DecodeError for lengths that leave the packet', () => {
    const ip = Buffer.from(golden('udp6'));
    assert.throws(() => decodePacket(ip.subarray(0, ip.length - 1)), (e: unknown) => e instanceof DecodeError && e.offset === 18);
    const badExt = encodeEthernet(ETH, encodeIpv6({ nextHeader: 0, src: SRC, dst: DST }, Buffer.from([17, 1, 0, 0, 0, 0, 0, 0])));
    assert.throws(() => decodePacket(badExt), (e: unknown) => e instanceof DecodeError && e.offset === 54 + 2);
    const v4 = Buffer.from(golden('udp6'));
    v4[14] = 0x40;
    assert.throws(() => decodePacket(v4), (e: unknown) => e instanceof DecodeError && e.offset === 14);
  });
});
