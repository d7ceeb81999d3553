import assert from 'node:assert/strict';
import { DecodeError } from '../../../protocols/common/errors';
import { ETHER_TYPE, encodeEthernet } from '../../../protocols/packet/ethernet';
import { ICMPV6_TYPE, type Icmpv6Message, decodeIcmpv6, encodeIcmpv6 } from '../../../protocols/packet/icmpv6';
import { IP_PROTO } from '../../../protocols/packet/ip-protocol';
import { encodeIpv6 } from '../../../protocols/packet/ipv6';
import {
  buildIcmpEchoReply,
  buildNeighborAdvertisement,
  buildNeighborSolicitation,
  decodePacket,
  getSolicitedNodeAddress,
} from '../../../protocols/packet/packet';
import { golden } from './fixtures';
import { describeWithTcpdump, hex } from './oracle';

const ROUTER = 'fe80::1';
const ALL_NODES = 'ff02::1';

function frame(m: Icmpv6Message, src: string, dst: string): Buffer {
  const l3 = encodeIpv6({ nextHeader: IP_PROTO.ICMPV6, hopLimit: 255, src, dst }, encodeIcmpv6(m, src, dst));
  return encodeEthernet({ dst: '33:33:00:00:00:01', src: '02:00:00:00:00:01', etherType: ETHER_TYPE.IPV6 }, l3);
}

describe('packet/icmpv6', () => {
  it('decodes the OVS solicitation and advertisement and re-encodes them byte for byte', () => {
    for (const name of ['neighborSolicitation', 'neighborAdvertisement'] as const) {
      const p = decodePacket(golden(name));
      const m = p.icmpv6!;
      assert.ok(m.isChecksumValid, name);
      assert.equal(hex(encodeIcmpv6(m, p.ipv6!.src, p.ipv6!.dst)), hex(p.ipv6!.payload), name);
    }
    const na = decodePacket(golden('neighborAdvertisement')).icmpv6!;
    assert.deepEqual(na.kind === 'neighbor-advertisement' && [na.isRouter, na.isSolicited, na.isOverride, na.target, na.options], [
      false,
      true,
      true,
      'fe80::2',
      [{ type: 'target-link-layer-address', mac: '02:00:00:00:00:02' }],
    ]);
  });

  it('round-trips RS and RA with prefix, MTU and unknown options, checked by tcpdump @slow', () => {
    const rs: Icmpv6Message = { kind: 'router-solicitation', code: 0, options: [{ type: 'source-link-layer-address', mac: '02:00:00:00:00:09' }] };
    const ra: Icmpv6Message = {
      kind: 'router-advertisement',
      code: 0,
      curHopLimit: 64,
      isManaged: true,
      isOtherConfig: false,
      routerLifetimeS: 1800,
      reachableTimeMs: 30000,
      retransTimerMs: 1000,
      options: [
        { type: 'source-link-layer-address', mac: '02:00:00:00:00:01' },
        { type: 'mtu', mtu: 1450 },
        {
          type: 'prefix-information',
          prefixLength: 64,
          isOnLink: true,
          isAutonomous: true,
          validLifetimeS: 86400,
          preferredLifetimeS: 14400,
          prefix: '2001:db8:1::',
        },
        { type: 'raw', code: 25, data: Buffer.from('000000000e10' + '20014860486000000000000000008888', 'hex') }, // RDNSS (RFC 8106)
      ],
    };
    const frames = [frame(rs, 'fe80::9', 'ff02::2'), frame(ra, ROUTER, ALL_NODES)];
    for (const [i, m] of [rs, ra].entries()) {
      const d = decodePacket(frames[i]!).icmpv6!;
      assert.ok(d.isChecksumValid);
      const { checksum, isChecksumValid, ...message } = d;
      void checksum;
      void isChecksumValid;
      assert.deepEqual(message, m);
    }
    const [rsText, raText] = describeWithTcpdump(frames);
    assert.match(rsText ?? '', /\[icmp6 sum ok\] ICMP6, router solicitation, length 16\n\s+source link-address option \(1\), length 8 \(1\): 02:00:00:00:00:09/);
    assert.match(raText ?? '', /\[icmp6 sum ok\] ICMP6, router advertisement, length 88\n\s+hop limit 64, Flags \[managed\], pref medium, router lifetime 1800s, reachable time 30000ms, retrans timer 1000ms/);
    assert.match(raText ?? '', /mtu option \(5\), length 8 \(1\):  1450/);
    assert.match(raText ?? '', /prefix info option \(3\), length 32 \(4\): 2001:db8:1::\/64, Flags \[onlink, auto\], valid time 86400s, pref\. time 14400s/);
    assert.match(raText ?? '', /rdnss option \(25\), length 24 \(3\):  lifetime 3600s, addr: 2001:4860:4860::8888/);
  });

  it('answers duplicate address detection to all-nodes without the S flag @slow', () => {
    const dad = buildNeighborSolicitation({ srcMac: '02:00:00:00:00:07', src: '::', target: 'fe80::7' });
    const ns = decodePacket(dad);
    assert.equal(ns.ipv6!.dst, getSolicitedNodeAddress('fe80::7'));
    assert.equal(ns.eth.dst, '33:33:ff:00:00:07');
    assert.ok(ns.icmpv6?.kind === 'neighbor-solicitation' && ns.icmpv6.options.length === 0);
    const na = decodePacket(buildNeighborAdvertisement(ns, '02:00:00:00:00:aa', { isRouter: true }));
    assert.equal(na.ipv6!.dst, ALL_NODES);
    assert.equal(na.ipv6!.src, 'fe80::7');
    assert.equal(na.eth.dst, '33:33:00:00:00:01');
    assert.ok(na.icmpv6?.kind === 'neighbor-advertisement' && na.icmpv6.isRouter && !na.icmpv6.isSolicited && na.icmpv6.isOverride);
    const [text] = describeWithTcpdump([buildNeighborAdvertisement(ns, '02:00:00:00:00:aa', { isRouter: true })]);
    assert.match(text ?? '', /hlim 255.*fe80::7 > ff02::1: \[icmp6 sum ok\] ICMP6, neighbor advertisement, length 32, tgt is fe80::7, Flags \[router, override\]/s);
  });

  it('answers an ICMPv6 echo request', () => {
    const req = decodePacket(golden('icmp6Echo'));
    const reply = decodePacket(buildIcmpEchoReply(req));
    assert.ok(reply.icmpv6?.kind === 'echo' && reply.icmpv6.type === ICMPV6_TYPE.ECHO_REPLY && reply.icmpv6.isChecksumValid);
    assert.equal(reply.ipv6!.src, '2001:db8::2');
  });

  it('keeps other types raw and checks their checksum @slow', () => {
    const m: Icmpv6Message = { kind: 'other', type: ICMPV6_TYPE.PACKET_TOO_BIG, code: 0, rest: 1280, data: Buffer.alloc(48, 0x60) };
    const f = frame(m, ROUTER, '2001:db8::5');
    const d = decodePacket(f).icmpv6!;
    assert.ok(d.isChecksumValid);
    assert.ok(d.kind === 'other' && d.rest === 1280);
    assert.match(describeWithTcpdump([f])[0] ?? '', /\[icmp6 sum ok\] ICMP6, packet too big, mtu 1280/);
  });

  it('throws DecodeError on an ND option of length 0 or past the end', () => {
    const ns = Buffer.from(decodePacket(golden('neighborSolicitation')).ipv6!.payload);
    ns[25] = 0;
    assert.throws(() => decodeIcmpv6(ns, 'fe80::1', 'ff02::1:ff00:2', 54), (e: unknown) => e instanceof DecodeError && e.offset === 54 + 25);
    ns[25] = 2;
    assert.throws(() => decodeIcmpv6(ns, 'fe80::1', 'ff02::1:ff00:2'), DecodeError);
  });
});
