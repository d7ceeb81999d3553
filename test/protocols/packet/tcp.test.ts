import assert from 'node:assert/strict';
import { DecodeError } from '../../../protocols/common/errors';
import { TCP_FLAG, decodeTcp } from '../../../protocols/packet/tcp';
import { golden } from './fixtures';

describe('packet/tcp', () => {
  it('reads ports, sequence numbers and flags of the OVS SYN-ACK', () => {
    const t = decodeTcp(golden('tcpSynAck').subarray(34));
    assert.deepEqual([t.srcPort, t.dstPort, t.sequence, t.acknowledgment, t.headerLengthBytes], [1234, 80, 0, 0, 20]);
    assert.equal(t.flags, TCP_FLAG.SYN | TCP_FLAG.ACK);
    assert.equal(t.checksum, 0x96ae);
  });

  it('throws DecodeError for a data offset below 5 or past the segment', () => {
    const seg = Buffer.from(golden('tcpSynAck').subarray(34));
    seg[12] = 0x40;
    assert.throws(() => decodeTcp(seg, 34), (e: unknown) => e instanceof DecodeError && e.offset === 46);
    seg[12] = 0x60;
    assert.throws(() => decodeTcp(seg), DecodeError);
  });
});
