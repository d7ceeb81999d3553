import assert from 'node:assert/strict';
import { DecodeError, EncodeError } from '../../../protocols/common/errors';
import { ETHER_TYPE, encodeEthernet } from '../../../protocols/packet/ethernet';
import { IP_PROTO } from '../../../protocols/packet/ip-protocol';
import { decodeIpv4, encodeIpv4, isIpv4Fragment } from '../../../protocols/packet/ipv4';
import { decodePacket } from '../../../protocols/packet/packet';
import { encodeUdp } from '../../../protocols/packet/udp';
import { golden } from './fixtures';
import { describeWithTcpdump, hex } from './oracle';

const ETH = { dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', etherType: ETHER_TYPE.IPV4 };
const decodeErrorAt = (offset: number) => (e: unknown) => e instanceof DecodeError && e.offset === offset;

describe('packet/ipv4', () => {
  it('decodes the OVS header and re-encodes it byte for byte', () => {
    const ip = golden('icmpEcho').subarray(14);
    const d = decodeIpv4(ip);
    assert.equal(d.headerLengthBytes, 20);
    assert.equal(d.totalLengthBytes, 92);
    assert.equal(d.ttl, 64);
    assert.equal(d.protocol, IP_PROTO.ICMP);
    assert.equal(d.checksum, 0x669f);
    assert.ok(d.isChecksumValid);
    assert.equal(hex(encodeIpv4(d, d.payload)), hex(ip));
  });

  it('reports a bad header checksum without throwing', () => {
    const ip = Buffer.from(golden('icmpEcho').subarray(14));
    ip[8] = 63; // TTL changed, checksum not
    assert.equal(decodeIpv4(ip).isChecksumValid, false);
  });

  it('carries options and fragment fields, checked by tcpdump @slow', () => {
    const options = Buffer.from('94040000', 'hex'); // Router Alert (RFC 2113)
    const h = {
      protocol: IP_PROTO.UDP,
      src: '10.0.0.1',
      dst: '10.0.0.2',
      dscp: 46,
      ecn: 1,
      identification: 0x1234,
      isDontFragment: true,
      ttl: 1,
      options,
    };
    const ip = encodeIpv4(h, encodeUdp({ srcPort: 1, dstPort: 2 }, Buffer.from('x'), h.src, h.dst));
    const d = decodeIpv4(ip);
    assert.equal(d.headerLengthBytes, 24);
    assert.deepEqual(d.options, options);
    assert.equal(d.dscp, 46);
    assert.equal(d.ecn, 1);
    assert.equal(d.isDontFragment, true);
    assert.ok(d.isChecksumValid);
    const [text] = describeWithTcpdump([encodeEthernet(ETH, ip)]);
    assert.match(text ?? '', /tos 0xb9,ECT\(1\), ttl 1, id 4660, offset 0, flags \[DF\], proto UDP \(17\), length 33, options \(RA\)\)/);
    assert.match(text ?? '', /\[udp sum ok\]/);
    assert.doesNotMatch(text ?? '', /bad cksum/);
  });

  it('leaves fragments undecoded above IP @slow', () => {
    const udp = encodeUdp({ srcPort: 1, dstPort: 2 }, Buffer.alloc(16), '10.0.0.1', '10.0.0.2');
    const first = encodeIpv4({ protocol: IP_PROTO.UDP, src: '10.0.0.1', dst: '10.0.0.2', isMoreFragments: true }, udp);
    const later = encodeIpv4({ protocol: IP_PROTO.UDP, src: '10.0.0.1', dst: '10.0.0.2', fragmentOffsetBytes: 1480 }, udp);
    for (const ip of [first, later]) {
      const p = decodePacket(encodeEthernet(ETH, ip));
      assert.ok(isIpv4Fragment(p.ipv4!));
      assert.equal(p.udp, undefined);
      assert.equal(p.payload?.length, udp.length);
    }
    assert.equal(decodeIpv4(later).fragmentOffsetBytes, 1480);
    const [text] = describeWithTcpdump([encodeEthernet(ETH, later)]);
    assert.match(text ?? '', /offset 1480/);
  });

  it('drops link padding after the total length', () => {
    const frame = Buffer.concat([golden('tcpSynAck'), Buffer.alloc(6)]);
    assert.equal(decodePacket(frame).ipv4?.payload.length, 20);
  });

  it('throws DecodeError at the offending field', () => {
    const frame = golden('icmpEcho');
    assert.throws(() => decodePacket(frame.subarray(0, 60)), decodeErrorAt(16)); // total length 92 > 46
    const v6 = Buffer.from(frame);
    v6[14] = 0x65;
    assert.throws(() => decodePacket(v6), decodeErrorAt(14));
    const shortIhl = Buffer.from(frame);
    shortIhl[14] = 0x44;
    assert.throws(() => decodePacket(shortIhl), decodeErrorAt(14));
    const shortTotal = Buffer.from(frame);
    shortTotal.writeUInt16BE(19, 16);
    assert.throws(() => decodePacket(shortTotal), decodeErrorAt(16));
    const longIhl = Buffer.from(frame.subarray(0, 40));
    longIhl[14] = 0x4f;
    assert.throws(() => decodePacket(longIhl), DecodeError);
  });

  it('refuses unencodable headers', () => {
    const h = { protocol: 17, src: '10.0.0.1', dst: '10.0.0.2' };
    assert.throws(() => encodeIpv4({ ...h, options: Buffer.alloc(3) }, Buffer.alloc(0)), EncodeError);
    assert.throws(() => encodeIpv4({ ...h, fragmentOffsetBytes: 5 }, Buffer.alloc(0)), EncodeError);
    assert.throws(() => encodeIpv4({ ...h, src: '10.0.0' }, Buffer.alloc(0)), EncodeError);
    assert.throws(() => encodeIpv4(h, Buffer.alloc(65536)), EncodeError);
  });
});
