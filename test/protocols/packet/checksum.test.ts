import assert from 'node:assert/strict';
import { computeInternetChecksum, computeTransportChecksum, encodePseudoHeader } from '../../../protocols/packet/checksum';

describe('packet/checksum', () => {
  it('matches the RFC 1071 §3 worked example', () => {
    // Bytes 00 01 f2 03 f4 f5 f6 f7: one's-complement sum 0xddf2, checksum ~0xddf2.
    assert.equal(computeInternetChecksum(Buffer.from('0001f203f4f5f6f7', 'hex')), ~0xddf2 & 0xffff);
  });

  it('treats parts as one byte string, odd lengths included', () => {
    const whole = Buffer.from('0001f203f4f5f6f7aa', 'hex');
    const expected = computeInternetChecksum(whole);
    assert.equal(computeInternetChecksum(whole.subarray(0, 3), whole.subarray(3, 4), whole.subarray(4)), expected);
    assert.equal(computeInternetChecksum(whole.subarray(0, 1), Buffer.alloc(0), whole.subarray(1)), expected);
  });

  it('builds IPv4 and IPv6 pseudo-headers', () => {
    assert.equal(encodePseudoHeader('10.0.0.1', '10.0.0.2', 17, 72).toString('hex'), '0a0000010a00000200110048');
    const v6 = encodePseudoHeader('2001:db8::1', '2001:db8::2', 58, 72);
    assert.equal(v6.length, 40);
    assert.equal(v6.subarray(32).toString('hex'), '000000480000003a');
  });

  it('sums to zero over a segment that holds its own checksum', () => {
    const seg = Buffer.from('1388003500480000' + '00'.repeat(64), 'hex');
    seg.writeUInt16BE(computeTransportChecksum('10.0.0.1', '10.0.0.2', 17, seg), 6);
    assert.equal(computeTransportChecksum('10.0.0.1', '10.0.0.2', 17, seg), 0);
  });
});
