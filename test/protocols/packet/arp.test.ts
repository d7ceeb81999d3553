import assert from 'node:assert/strict';
import { ARP_OP, decodeArp, encodeArp } from '../../../protocols/packet/arp';
import { decodePacket } from '../../../protocols/packet/packet';
import { golden } from './fixtures';
import { hex } from './oracle';

describe('packet/arp', () => {
  it('decodes the OVS request and re-encodes it byte for byte', () => {
    const body = golden('arpRequest').subarray(14);
    const arp = decodeArp(body);
    assert.deepEqual(arp, {
      op: ARP_OP.REQUEST,
      senderMac: '02:00:00:00:00:01',
      senderIp: '10.0.0.1',
      targetMac: '00:00:00:00:00:00',
      targetIp: '10.0.0.2',
    });
    assert.equal(hex(encodeArp(arp!)), hex(body));
  });

  it('ignores Ethernet padding after the 28-byte body', () => {
    const padded = Buffer.concat([golden('arpReply'), Buffer.alloc(18)]);
    assert.equal(decodePacket(padded).arp?.op, ARP_OP.REPLY);
  });

  it('keeps ARP for other hardware or protocol types raw', () => {
    const body = Buffer.from(golden('arpRequest').subarray(14));
    body.writeUInt16BE(6, 0); // IEEE 802 hardware
    assert.equal(decodeArp(body), undefined);
    const frame = Buffer.concat([golden('arpRequest').subarray(0, 14), body]);
    const p = decodePacket(frame);
    assert.equal(p.arp, undefined);
    assert.equal(p.payload?.length, 28);
  });
});
