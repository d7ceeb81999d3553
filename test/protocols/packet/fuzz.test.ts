/**
 * decodePacket must return or throw DecodeError — never RangeError, TypeError or
 * anything else — whatever the bytes. Inputs: every prefix of every golden packet, and
 * seeded random buffers (plain, shaped to reach the inner layers, and mutated goldens).
 */
import assert from 'node:assert/strict';
import { DecodeError } from '../../../protocols/common/errors';
import { ETHER_TYPE, encodeEthernet, makeVlanTag } from '../../../protocols/packet/ethernet';
import { encodeIcmpv6 } from '../../../protocols/packet/icmpv6';
import { IP_PROTO } from '../../../protocols/packet/ip-protocol';
import { encodeIpv6 } from '../../../protocols/packet/ipv6';
import { buildDhcpReply, buildUdp, decodePacket } from '../../../protocols/packet/packet';
import { DHCP_DISCOVER_HEX, DHCP_OFFER_HEX, OVS_GOLDEN, golden, type OvsGoldenName } from './fixtures';
import { seededRandom } from '../../support/random';

function dhcpFrame(hexPayload: string, srcPort: number, dstPort: number): Buffer {
  return buildUdp({
    srcMac: '02:42:ac:11:00:02',
    dstMac: 'ff:ff:ff:ff:ff:ff',
    src: '0.0.0.0',
    dst: '255.255.255.255',
    srcPort,
    dstPort,
    payload: Buffer.from(hexPayload, 'hex'),
    vlan: [makeVlanTag(300, 0, ETHER_TYPE.QINQ), makeVlanTag(10)],
  });
}

function goldenFrames(): Array<[string, Buffer]> {
  const frames: Array<[string, Buffer]> = (Object.keys(OVS_GOLDEN) as OvsGoldenName[]).map((n) => [n, golden(n)]);
  const discover = dhcpFrame(DHCP_DISCOVER_HEX, 68, 67);
  frames.push(['dhcpDiscover', discover], ['dhcpOffer', dhcpFrame(DHCP_OFFER_HEX, 67, 68)]);
  frames.push([
    'dhcpOfferBuilt',
    buildDhcpReply({ request: decodePacket(discover), messageType: 2, serverMac: '02:00:00:00:00:fe', serverIp: '192.168.1.1', yiaddr: '192.168.1.100' }),
  ]);
  const src = 'fe80::1';
  const dst = 'ff02::1';
  const ra = encodeIcmpv6(
    {
      kind: 'router-advertisement',
      code: 0,
      curHopLimit: 64,
      isManaged: false,
      isOtherConfig: true,
      routerLifetimeS: 600,
      reachableTimeMs: 0,
      retransTimerMs: 0,
      options: [
        { type: 'mtu', mtu: 1450 },
        { type: 'prefix-information', prefixLength: 64, isOnLink: true, isAutonomous: true, validLifetimeS: 1, preferredLifetimeS: 1, prefix: '2001:db8::' },
      ],
    },
    src,
    dst,
  );
  const withExt = Buffer.concat([Buffer.from([IP_PROTO.IPV6_OPTS, 0, 1, 4, 0, 0, 0, 0]), Buffer.from([IP_PROTO.ICMPV6, 0, 1, 4, 0, 0, 0, 0]), ra]);
  frames.push([
    'routerAdvertisementWithExtensions',
    encodeEthernet({ dst: '33:33:00:00:00:01', src: '02:00:00:00:00:01', etherType: ETHER_TYPE.IPV6 }, encodeIpv6({ nextHeader: IP_PROTO.HOPOPT, hopLimit: 255, src, dst }, withExt)),
  ]);
  return frames;
}

/** Decodes and reports anything other than success or DecodeError. */
function decodeOnlyThrowsDecodeError(buf: Buffer, label: string): 'ok' | 'decode-error' {
  try {
    decodePacket(buf);
    return 'ok';
  } catch (e) {
    if (e instanceof DecodeError) {
      assert.ok(Number.isInteger(e.offset) && e.offset >= 0 && e.offset <= buf.length, `${label}: offset ${e.offset} outside input`);
      return 'decode-error';
    }
    assert.fail(`${label}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)} for ${buf.toString('hex')}`);
  }
}

/**
 * Makes a random buffer look like a frame with consistent lengths down to L4, leaving
 * the rest random, so that the ARP/IP/ICMP/UDP/TCP/DHCP decoders see random input.
 */
function shapeHeaders(buf: Buffer, random: () => number): void {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  let off = 12;
  if (buf.length < off + 2) return;
  if (random() < 0.2 && buf.length >= off + 4) {
    buf.writeUInt16BE(pick([ETHER_TYPE.VLAN, ETHER_TYPE.QINQ]), off);
    off += 4;
    if (buf.length < off + 2) return;
  }
  const etherType = pick([ETHER_TYPE.IPV4, ETHER_TYPE.IPV4, ETHER_TYPE.IPV6, ETHER_TYPE.IPV6, ETHER_TYPE.ARP]);
  buf.writeUInt16BE(etherType, off);
  off += 2;
  const rest = buf.length - off;
  let l4 = -1;
  let protocol = pick([IP_PROTO.ICMP, IP_PROTO.TCP, IP_PROTO.UDP, IP_PROTO.UDP, IP_PROTO.ICMPV6, IP_PROTO.HOPOPT, IP_PROTO.IPV6_FRAG]);
  if (etherType === ETHER_TYPE.ARP && rest >= 6) {
    buf.writeUInt32BE(0x00010800, off);
    buf.writeUInt16BE(0x0604, off + 4);
  } else if (etherType === ETHER_TYPE.IPV4 && rest >= 20) {
    buf[off] = 0x45;
    buf.writeUInt16BE(random() < 0.9 ? rest : Math.floor(random() * 0x10000), off + 2);
    buf.writeUInt16BE(random() < 0.8 ? 0 : Math.floor(random() * 0x10000), off + 6); // mostly not a fragment
    buf[off + 9] = protocol;
    l4 = off + 20;
  } else if (etherType === ETHER_TYPE.IPV6 && rest >= 40) {
    buf[off] = 0x60;
    buf.writeUInt16BE(random() < 0.9 ? rest - 40 : Math.floor(random() * 0x10000), off + 4);
    if (protocol === IP_PROTO.ICMP) protocol = IP_PROTO.ICMPV6;
    buf[off + 6] = protocol;
    l4 = off + 40;
  }
  if (l4 < 0 || buf.length < l4 + 8) return;
  if (protocol === IP_PROTO.UDP) {
    const isDhcp = random() < 0.5;
    buf.writeUInt16BE(isDhcp ? 68 : buf.readUInt16BE(l4), l4);
    buf.writeUInt16BE(isDhcp ? 67 : buf.readUInt16BE(l4 + 2), l4 + 2);
    buf.writeUInt16BE(random() < 0.9 ? buf.length - l4 : Math.floor(random() * 0x10000), l4 + 4);
    if (isDhcp && buf.length >= l4 + 8 + 240) {
      buf[l4 + 8 + 2] = 6; // hlen
      buf.writeUInt32BE(0x63825363, l4 + 8 + 236);
    }
  } else if (protocol === IP_PROTO.TCP && buf.length >= l4 + 13) {
    buf[l4 + 12] = 0x50 | (buf[l4 + 12]! & 0x0f);
  }
}

describe('packet: truncation and random-input fuzz', () => {
  const frames = goldenFrames();

  it('decodes every golden packet whole', () => {
    for (const [name, frame] of frames) assert.equal(decodeOnlyThrowsDecodeError(frame, name), 'ok', name);
  });

  it('every strict prefix of every golden packet returns or throws DecodeError', () => {
    let errors = 0;
    for (const [name, frame] of frames) {
      for (let n = 0; n < frame.length; n++) {
        if (decodeOnlyThrowsDecodeError(frame.subarray(0, n), `${name}[0, ${n})`) === 'decode-error') errors++;
      }
    }
    assert.ok(errors > 0);
  });

  it('a truncated header is reported, not decoded as something shorter', () => {
    for (const [name, frame] of frames) {
      assert.throws(() => decodePacket(frame.subarray(0, 13)), DecodeError, name);
      assert.throws(() => decodePacket(frame.subarray(0, frame.length - 1)), DecodeError, name);
    }
  });

  it('10,000 random buffers return or throw DecodeError, most shaped to reach inner layers', () => {
    const random = seededRandom(0x9e3779b9);
    const outcomes: Record<string, number> = {};
    for (let i = 0; i < 10_000; i++) {
      const buf = Buffer.from(Array.from({ length: Math.floor(random() * 400) }, () => Math.floor(random() * 256)));
      if (i % 4 !== 0) shapeHeaders(buf, random);
      let outcome: string = decodeOnlyThrowsDecodeError(buf, `random #${i}`);
      if (outcome === 'ok') outcome = Object.keys(decodePacket(buf)).filter((k) => k !== 'payload' && k !== 'vlan').join('+');
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    }
    // The shaping must actually exercise the inner decoders, not just Ethernet.
    for (const layer of ['arp', 'icmp', 'icmpv6', 'udp', 'tcp', 'dhcp']) {
      assert.ok(Object.keys(outcomes).some((k) => k.split('+').includes(layer)), `${layer} never decoded: ${JSON.stringify(outcomes)}`);
    }
    assert.ok((outcomes['decode-error'] ?? 0) > 0);
  });

  it('10,000 mutated golden packets return or throw DecodeError', () => {
    const random = seededRandom(12345);
    for (let i = 0; i < 10_000; i++) {
      const [name, frame] = frames[i % frames.length]!;
      const buf = Buffer.from(frame);
      const flips = 1 + Math.floor(random() * 4);
      for (let f = 0; f < flips; f++) buf[Math.floor(random() * buf.length)] = Math.floor(random() * 256);
      const cut = random() < 0.3 ? Math.floor(random() * buf.length) : buf.length;
      decodeOnlyThrowsDecodeError(buf.subarray(0, cut), `${name} mutation #${i}`);
    }
  });
});
