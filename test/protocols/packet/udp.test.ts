import assert from 'node:assert/strict';
import { DecodeError } from '../../../protocols/common/errors';
import { buildUdp, decodePacket } from '../../../protocols/packet/packet';
import { decodeUdp, encodeUdp } from '../../../protocols/packet/udp';
import { golden } from './fixtures';
import { describeWithTcpdump, hex } from './oracle';

describe('packet/udp', () => {
  it('re-encodes the OVS datagrams byte for byte over IPv4 and IPv6', () => {
    for (const name of ['udp4', 'udp6'] as const) {
      const p = decodePacket(golden(name));
      const ip = p.ipv4 ?? p.ipv6!;
      assert.ok(p.udp!.isChecksumValid);
      assert.equal(hex(encodeUdp(p.udp!, p.udp!.payload, ip.src, ip.dst)), hex(ip.payload));
    }
  });

  it('accepts a zero checksum over IPv4 only', () => {
    const dgram = Buffer.from('0044004300090000ff', 'hex');
    assert.equal(decodeUdp(dgram, '10.0.0.1', '10.0.0.2').isChecksumValid, true);
    assert.equal(decodeUdp(dgram, '2001:db8::1', '2001:db8::2').isChecksumValid, false);
  });

  it('sends a computed zero checksum as 0xffff', () => {
    // With a zero payload word the sum is S and the checksum ~S; putting ~S in that word
    // makes the sum 0xffff, i.e. a computed checksum of 0 before the RFC 768 substitution.
    const probe = encodeUdp({ srcPort: 1, dstPort: 2 }, Buffer.alloc(2), '10.0.0.1', '10.0.0.2');
    const payload = Buffer.alloc(2);
    payload.writeUInt16BE(probe.readUInt16BE(6));
    const out = encodeUdp({ srcPort: 1, dstPort: 2 }, payload, '10.0.0.1', '10.0.0.2');
    assert.equal(out.readUInt16BE(6), 0xffff);
    assert.ok(decodeUdp(out, '10.0.0.1', '10.0.0.2').isChecksumValid);
  });

  it('builds datagrams tcpdump accepts @slow', () => {
    const base = { srcMac: '02:00:00:00:00:01', dstMac: '02:00:00:00:00:02', srcPort: 4789, dstPort: 9999, payload: Buffer.from('abc') };
    const texts = describeWithTcpdump([
      buildUdp({ ...base, src: '192.0.2.1', dst: '192.0.2.2' }),
      buildUdp({ ...base, src: 'fe80::1', dst: 'fe80::2' }),
    ]);
    for (const t of texts) assert.match(t, /\[udp sum ok\]/);
  });

  it('throws DecodeError on bad lengths', () => {
    assert.throws(() => decodeUdp(Buffer.from('0044004300070000', 'hex'), '10.0.0.1', '10.0.0.2', 34), (e: unknown) => e instanceof DecodeError && e.offset === 38);
    assert.throws(() => decodeUdp(Buffer.from('00440043000a0000ff', 'hex'), '10.0.0.1', '10.0.0.2'), DecodeError);
    assert.throws(() => decodeUdp(Buffer.from('0044004300', 'hex'), '10.0.0.1', '10.0.0.2'), DecodeError);
  });
});
