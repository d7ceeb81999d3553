import assert from 'node:assert/strict';
import { EncodeError } from '../../../protocols/common/errors';
import {
  buildArpReply,
  buildArpRequest,
  buildIcmpEchoReply,
  buildIpFrame,
  buildNeighborAdvertisement,
  buildUdp,
  decodePacket,
  getIpv6MulticastMac,
  getSolicitedNodeAddress,
} from '../../../protocols/packet/packet';
import { makeVlanTag } from '../../../protocols/packet/ethernet';
import { golden } from './fixtures';
import { describeWithTcpdump } from './oracle';

describe('packet/packet', () => {
  it('gives a layered object with only the layers present', () => {
    const p = decodePacket(golden('udp4'));
    assert.deepEqual(Object.keys(p).sort(), ['eth', 'ipv4', 'payload', 'udp']);
    assert.equal(p.payload, p.udp!.payload);
    const arp = decodePacket(golden('arpRequest'));
    assert.deepEqual(Object.keys(arp).sort(), ['arp', 'eth']);
  });

  it('returns views into the input, not copies', () => {
    const frame = Buffer.from(golden('udp4'));
    const p = decodePacket(frame);
    frame[frame.length - 1] = 0xee;
    assert.equal(p.udp!.payload[p.udp!.payload.length - 1], 0xee);
  });

  it('does not treat UDP 67/68 over IPv6 as DHCPv4', () => {
    const p = decodePacket(buildUdp({ srcMac: '02:00:00:00:00:01', dstMac: '02:00:00:00:00:02', src: 'fe80::1', dst: 'fe80::2', srcPort: 68, dstPort: 67, payload: Buffer.alloc(10) }));
    assert.equal(p.dhcp, undefined);
    assert.equal(p.payload?.length, 10);
  });

  it('answers a tagged ARP request on the same tags @slow', () => {
    const vlan = [makeVlanTag(7, 2)];
    const request = buildArpRequest({ srcMac: '02:00:00:00:00:01', srcIp: '10.0.0.1', targetIp: '10.0.0.254', vlan });
    const reply = decodePacket(buildArpReply(decodePacket(request), '02:00:00:00:00:fe'));
    assert.deepEqual(reply.vlan, vlan);
    assert.deepEqual(reply.arp, { op: 2, senderMac: '02:00:00:00:00:fe', senderIp: '10.0.0.254', targetMac: '02:00:00:00:00:01', targetIp: '10.0.0.1' });
    const [text] = describeWithTcpdump([buildArpReply(decodePacket(request), '02:00:00:00:00:fe')], ['-e']);
    assert.match(text ?? '', /vlan 7, p 2, ethertype ARP .*Reply 10\.0\.0\.254 is-at 02:00:00:00:00:fe/s);
  });

  it('computes IPv6 multicast helpers', () => {
    assert.equal(getSolicitedNodeAddress('2001:db8::abcd:1234:5678'), 'ff02::1:ff34:5678');
    assert.equal(getIpv6MulticastMac('ff02::1:ff34:5678'), '33:33:ff:34:56:78');
  });

  it('refuses to build replies from the wrong request', () => {
    assert.throws(() => buildArpReply(decodePacket(golden('arpReply')), '02:00:00:00:00:fe'), EncodeError);
    assert.throws(() => buildArpReply(decodePacket(golden('udp4')), '02:00:00:00:00:fe'), EncodeError);
    assert.throws(() => buildNeighborAdvertisement(decodePacket(golden('neighborAdvertisement')), '02:00:00:00:00:fe'), EncodeError);
    assert.throws(() => buildIcmpEchoReply(decodePacket(golden('icmpUnreachable'))), EncodeError);
    assert.throws(() => buildIpFrame({ srcMac: '02:00:00:00:00:01', dstMac: '02:00:00:00:00:02', src: '10.0.0.1', dst: 'fe80::1' }, 17, Buffer.alloc(8)), EncodeError);
  });
});
