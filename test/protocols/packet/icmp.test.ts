import assert from 'node:assert/strict';
import { DecodeError } from '../../../protocols/common/errors';
import { ICMP_TYPE, decodeIcmp, encodeIcmp } from '../../../protocols/packet/icmp';
import { buildIcmpEcho, buildIcmpEchoReply, decodePacket } from '../../../protocols/packet/packet';
import { OVS_PAYLOAD, golden } from './fixtures';
import { describeWithTcpdump, hex } from './oracle';

describe('packet/icmp', () => {
  it('decodes the OVS echo request and re-encodes it byte for byte', () => {
    const icmp = golden('icmpEcho').subarray(34);
    const d = decodeIcmp(icmp);
    assert.equal(d.kind, 'echo');
    assert.ok(d.kind === 'echo' && d.identifier === 0 && d.sequence === 0);
    assert.deepEqual(d.data, OVS_PAYLOAD);
    assert.equal(d.checksum, 0x13fc);
    assert.ok(d.isChecksumValid);
    assert.equal(hex(encodeIcmp(d)), hex(icmp));
  });

  it('decodes the OVS destination-unreachable and re-encodes it', () => {
    const icmp = golden('icmpUnreachable').subarray(34);
    const d = decodeIcmp(icmp);
    assert.deepEqual({ kind: d.kind, type: d.type, code: d.code }, { kind: 'other', type: ICMP_TYPE.DESTINATION_UNREACHABLE, code: 4 });
    assert.ok(d.isChecksumValid);
    assert.equal(hex(encodeIcmp(d)), hex(icmp));
  });

  it('flags a corrupted checksum', () => {
    const icmp = Buffer.from(golden('icmpEcho').subarray(34));
    icmp[10] ^= 0xff;
    assert.equal(decodeIcmp(icmp).isChecksumValid, false);
  });

  it('answers an echo request with a reply tcpdump accepts @slow', () => {
    const request = buildIcmpEcho({
      srcMac: '02:00:00:00:00:01',
      dstMac: '02:00:00:00:00:02',
      src: '10.0.0.1',
      dst: '10.0.0.2',
      identifier: 0x4242,
      sequence: 7,
      data: Buffer.from('ping payload!'),
    });
    const reply = buildIcmpEchoReply(decodePacket(request));
    const p = decodePacket(reply);
    assert.deepEqual([p.eth.src, p.eth.dst, p.ipv4!.src, p.ipv4!.dst], ['02:00:00:00:00:02', '02:00:00:00:00:01', '10.0.0.2', '10.0.0.1']);
    assert.ok(p.icmp?.kind === 'echo' && p.icmp.type === ICMP_TYPE.ECHO_REPLY && p.icmp.sequence === 7);
    const texts = describeWithTcpdump([request, reply]);
    assert.match(texts[0] ?? '', /ICMP echo request, id 16962, seq 7, length 21/);
    assert.match(texts[1] ?? '', /10\.0\.0\.2 > 10\.0\.0\.1: ICMP echo reply, id 16962, seq 7, length 21/);
    for (const t of texts) assert.doesNotMatch(t, /wrong icmp cksum|bad cksum/);
  });

  it('throws DecodeError below the 8-byte header', () => {
    assert.throws(() => decodeIcmp(Buffer.from('0800000000', 'hex'), 34), (e: unknown) => e instanceof DecodeError && e.offset === 38);
  });
});
