import assert from 'node:assert/strict';
import { DecodeError } from '../../../protocols/common/errors';
import { ETHER_TYPE, decodeEthernet, encodeEthernet, makeVlanTag } from '../../../protocols/packet/ethernet';
import { decodePacket } from '../../../protocols/packet/packet';
import { golden } from './fixtures';
import { describeWithTcpdump, hex } from './oracle';

describe('packet/ethernet', () => {
  const eth = { dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', etherType: ETHER_TYPE.IPV4 };

  it('round-trips an untagged frame', () => {
    const frame = golden('icmpEcho');
    const d = decodeEthernet(frame);
    assert.deepEqual(d.eth, eth);
    assert.deepEqual(d.vlan, []);
    assert.equal(d.payloadOffset, 14);
    assert.equal(hex(encodeEthernet(d.eth, d.payload, d.vlan)), hex(frame));
  });

  it('round-trips the OVS 802.1Q frame', () => {
    const frame = golden('vlanIcmpEcho');
    const d = decodeEthernet(frame);
    assert.deepEqual(d.vlan, [{ tpid: 0x8100, pcp: 5, isDropEligible: false, vid: 100 }]);
    assert.equal(d.eth.etherType, ETHER_TYPE.IPV4);
    assert.equal(hex(encodeEthernet(d.eth, d.payload, d.vlan)), hex(frame));
  });

  it('decodes stacked 802.1ad + 802.1Q tags, outer first, as tcpdump does @slow', () => {
    const inner = decodeEthernet(golden('icmpEcho')).payload;
    const vlan = [makeVlanTag(200, 3, ETHER_TYPE.QINQ), { ...makeVlanTag(100), isDropEligible: true }];
    const frame = encodeEthernet(eth, inner, vlan);
    assert.equal(hex(frame.subarray(12, 22)), '88a86' + '0c88100' + '10640800');
    const d = decodePacket(frame);
    assert.deepEqual(d.vlan, vlan);
    assert.equal(d.ipv4?.src, '10.0.0.1');
    const [text] = describeWithTcpdump([frame], ['-e']);
    assert.match(text ?? '', /ethertype 802\.1Q-QinQ \(0x88a8\), length 114: vlan 200, p 3, ethertype 802\.1Q \(0x8100\), vlan 100, p 0, DEI, ethertype IPv4/);
  });

  it('keeps an unknown EtherType and an 802.3 length field raw', () => {
    for (const etherType of [0x88b5, 0x002e]) {
      const frame = encodeEthernet({ ...eth, etherType }, Buffer.from('hello'));
      const p = decodePacket(frame);
      assert.equal(p.eth.etherType, etherType);
      assert.equal(p.payload?.toString(), 'hello');
      assert.equal(p.ipv4 ?? p.arp, undefined);
    }
  });

  it('throws DecodeError with the offset when truncated', () => {
    assert.throws(() => decodeEthernet(Buffer.alloc(13)), (e: unknown) => e instanceof DecodeError && e.offset === 12);
    const tagged = golden('vlanIcmpEcho').subarray(0, 17);
    assert.throws(() => decodeEthernet(tagged), (e: unknown) => e instanceof DecodeError && e.offset === 16);
  });

  it('refuses out-of-range tags when encoding', () => {
    assert.throws(() => encodeEthernet(eth, Buffer.alloc(0), [makeVlanTag(4096)]), /bad VLAN tag/);
  });
});
