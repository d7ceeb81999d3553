import assert from 'node:assert/strict';
import { DecodeError, EncodeError } from '../../../protocols/common/errors';
import {
  BOOTP_OP,
  DHCP_MESSAGE_TYPE,
  type DhcpMessage,
  type DhcpOption,
  decodeDhcp,
  encodeDhcp,
  findDhcpOption,
  getDhcpMessageType,
} from '../../../protocols/packet/dhcp';
import { BROADCAST_MAC, makeVlanTag } from '../../../protocols/packet/ethernet';
import { type DecodedPacket, buildDhcpReply, buildUdp, decodePacket } from '../../../protocols/packet/packet';
import { DHCP_DISCOVER_HEX, DHCP_OFFER_HEX } from './fixtures';
import { describeWithTcpdump, hex } from './oracle';

const CLIENT_MAC = '02:42:ac:11:00:02';
const SERVER_MAC = '02:00:00:00:00:fe';
const SERVER_IP = '192.168.1.1';

const OFFER_OPTIONS: DhcpOption[] = [
  { type: 'lease-time', seconds: 3600 },
  { type: 'renewal-time', seconds: 1800 },
  { type: 'rebinding-time', seconds: 3150 },
  { type: 'subnet-mask', mask: '255.255.255.0' },
  { type: 'router', addresses: [SERVER_IP] },
  { type: 'dns-servers', addresses: ['8.8.8.8', '1.1.1.1'] },
  { type: 'domain-name', name: 'example.com' },
  { type: 'mtu', mtu: 1450 },
  {
    type: 'classless-static-routes',
    routes: [
      { destination: '0.0.0.0', prefixLength: 0, router: SERVER_IP },
      { destination: '10.0.0.0', prefixLength: 8, router: '192.168.1.254' },
      { destination: '10.1.0.0', prefixLength: 16, router: SERVER_IP },
    ],
  },
];

/** A client message as it arrives in a packet-in. */
function clientFrame(m: Partial<DhcpMessage> & { options: DhcpOption[] }, opts: { src?: string; vlanId?: number } = {}): DecodedPacket {
  const payload = encodeDhcp({ op: BOOTP_OP.REQUEST, xid: 0xabcdef01, chaddr: CLIENT_MAC, ...m });
  const frame = buildUdp({
    srcMac: m.giaddr ? '02:00:00:00:00:99' : CLIENT_MAC,
    dstMac: BROADCAST_MAC,
    src: opts.src ?? '0.0.0.0',
    dst: '255.255.255.255',
    srcPort: m.giaddr ? 67 : 68,
    dstPort: 67,
    payload,
    ...(opts.vlanId ? { vlan: [makeVlanTag(opts.vlanId)] } : {}),
  });
  return decodePacket(frame);
}

const messageType = (t: number): DhcpOption => ({ type: 'message-type', messageType: t });

describe('packet/dhcp', () => {
  it('decodes the golden DISCOVER field by field and re-encodes it byte for byte', () => {
    const bytes = Buffer.from(DHCP_DISCOVER_HEX, 'hex');
    assert.equal(bytes.length, 300);
    const m = decodeDhcp(bytes);
    assert.deepEqual(m, {
      op: BOOTP_OP.REQUEST,
      htype: 1,
      hops: 0,
      xid: 0x3903f326,
      secs: 0,
      isBroadcast: true,
      ciaddr: '0.0.0.0',
      yiaddr: '0.0.0.0',
      siaddr: '0.0.0.0',
      giaddr: '0.0.0.0',
      chaddr: CLIENT_MAC,
      sname: '',
      file: '',
      options: [
        messageType(DHCP_MESSAGE_TYPE.DISCOVER),
        { type: 'client-id', data: Buffer.from('010242ac110002', 'hex') },
        { type: 'requested-ip', address: '192.168.1.100' },
        { type: 'hostname', name: 'host1' },
        { type: 'parameter-request-list', codes: [1, 3, 6, 15, 26, 121] },
        { type: 'end' },
      ],
    });
    assert.equal(getDhcpMessageType(m), DHCP_MESSAGE_TYPE.DISCOVER);
    assert.equal(findDhcpOption(m, 'requested-ip')?.address, '192.168.1.100');
    assert.equal(hex(encodeDhcp(m)), DHCP_DISCOVER_HEX);
  });

  it('decodes the golden OFFER and re-encodes it byte for byte', () => {
    const m = decodeDhcp(Buffer.from(DHCP_OFFER_HEX, 'hex'));
    assert.equal(m.op, BOOTP_OP.REPLY);
    assert.equal(m.yiaddr, '192.168.1.100');
    assert.deepEqual(m.options, [messageType(DHCP_MESSAGE_TYPE.OFFER), { type: 'server-id', address: SERVER_IP }, ...OFFER_OPTIONS, { type: 'end' }]);
    assert.equal(hex(encodeDhcp(m)), DHCP_OFFER_HEX);
  });

  it('builds the golden OFFER from the golden DISCOVER, broadcast because B is set @slow', () => {
    const discover = decodePacket(
      buildUdp({
        srcMac: CLIENT_MAC,
        dstMac: BROADCAST_MAC,
        src: '0.0.0.0',
        dst: '255.255.255.255',
        srcPort: 68,
        dstPort: 67,
        payload: Buffer.from(DHCP_DISCOVER_HEX, 'hex'),
      }),
    );
    assert.equal(discover.dhcp?.xid, 0x3903f326);
    const frame = buildDhcpReply({
      request: discover,
      messageType: DHCP_MESSAGE_TYPE.OFFER,
      serverMac: SERVER_MAC,
      serverIp: SERVER_IP,
      yiaddr: '192.168.1.100',
      options: OFFER_OPTIONS,
    });
    const offer = decodePacket(frame);
    assert.equal(hex(offer.udp!.payload), DHCP_OFFER_HEX);
    assert.deepEqual([offer.eth.dst, offer.eth.src, offer.ipv4!.src, offer.ipv4!.dst], [BROADCAST_MAC, SERVER_MAC, SERVER_IP, '255.255.255.255']);
    assert.deepEqual([offer.udp!.srcPort, offer.udp!.dstPort], [67, 68]);

    const [discoverText, offerText] = describeWithTcpdump([buildUdp({ srcMac: CLIENT_MAC, dstMac: BROADCAST_MAC, src: '0.0.0.0', dst: '255.255.255.255', srcPort: 68, dstPort: 67, payload: Buffer.from(DHCP_DISCOVER_HEX, 'hex') }), frame]);
    assert.match(discoverText ?? '', /\[udp sum ok\] BOOTP\/DHCP, Request from 02:42:ac:11:00:02, length 300, xid 0x3903f326, Flags \[Broadcast\]/);
    assert.match(discoverText ?? '', /DHCP-Message \(53\), length 1: Discover/);
    assert.match(discoverText ?? '', /Requested-IP \(50\), length 4: 192\.168\.1\.100/);
    assert.match(discoverText ?? '', /Hostname \(12\), length 5: "host1"/);
    assert.match(offerText ?? '', /\[udp sum ok\] BOOTP\/DHCP, Reply, length 327, xid 0x3903f326, Flags \[Broadcast\]/);
    assert.match(offerText ?? '', /Your-IP 192\.168\.1\.100/);
    assert.match(offerText ?? '', /DHCP-Message \(53\), length 1: Offer/);
    assert.match(offerText ?? '', /Server-ID \(54\), length 4: 192\.168\.1\.1/);
    assert.match(offerText ?? '', /Lease-Time \(51\), length 4: 3600\n\s+RN \(58\), length 4: 1800\n\s+RB \(59\), length 4: 3150/);
    assert.match(offerText ?? '', /Subnet-Mask \(1\), length 4: 255\.255\.255\.0\n\s+Default-Gateway \(3\), length 4: 192\.168\.1\.1/);
    assert.match(offerText ?? '', /Domain-Name-Server \(6\), length 8: 8\.8\.8\.8,1\.1\.1\.1/);
    assert.match(offerText ?? '', /Domain-Name \(15\), length 11: "example\.com"/);
    assert.match(offerText ?? '', /MTU \(26\), length 2: 1450/);
    assert.match(offerText ?? '', /Classless-Static-Route \(121\), length 18: \(default:192\.168\.1\.1\),\(10\.0\.0\.0\/8:192\.168\.1\.254\),\(10\.1\.0\.0\/16:192\.168\.1\.1\)/);
    assert.doesNotMatch(offerText ?? '', /bad cksum|\[\|bootp\]/);
  });

  it('unicasts an ACK to yiaddr at chaddr when B is clear, on the request VLAN', () => {
    const request = clientFrame(
      { options: [messageType(DHCP_MESSAGE_TYPE.REQUEST), { type: 'requested-ip', address: '192.168.1.100' }] },
      { vlanId: 42 },
    );
    const ack = decodePacket(
      buildDhcpReply({ request, messageType: DHCP_MESSAGE_TYPE.ACK, serverMac: SERVER_MAC, serverIp: SERVER_IP, yiaddr: '192.168.1.100', options: [{ type: 'lease-time', seconds: 60 }] }),
    );
    assert.deepEqual([ack.eth.dst, ack.ipv4!.dst, ack.vlan?.[0]?.vid], [CLIENT_MAC, '192.168.1.100', 42]);
    assert.equal(getDhcpMessageType(ack.dhcp!), DHCP_MESSAGE_TYPE.ACK);
    assert.equal(ack.dhcp!.xid, 0xabcdef01);
    assert.equal(ack.dhcp!.ciaddr, '0.0.0.0');
    assert.equal(findDhcpOption(ack.dhcp!, 'server-id')?.address, SERVER_IP);
  });

  it('unicasts an ACK to ciaddr when renewing, keeping ciaddr', () => {
    const request = clientFrame({ ciaddr: '192.168.1.100', options: [messageType(DHCP_MESSAGE_TYPE.REQUEST)] }, { src: '192.168.1.100' });
    const ack = decodePacket(buildDhcpReply({ request, messageType: DHCP_MESSAGE_TYPE.ACK, serverMac: SERVER_MAC, serverIp: SERVER_IP, yiaddr: '192.168.1.100' }));
    assert.deepEqual([ack.eth.dst, ack.ipv4!.dst, ack.dhcp!.ciaddr], [CLIENT_MAC, '192.168.1.100', '192.168.1.100']);
  });

  it('broadcasts a NAK with yiaddr zero', () => {
    const request = clientFrame({ options: [messageType(DHCP_MESSAGE_TYPE.REQUEST)] });
    const nak = decodePacket(buildDhcpReply({ request, messageType: DHCP_MESSAGE_TYPE.NAK, serverMac: SERVER_MAC, serverIp: SERVER_IP, yiaddr: '192.168.1.100' }));
    assert.deepEqual([nak.eth.dst, nak.ipv4!.dst, nak.dhcp!.yiaddr], [BROADCAST_MAC, '255.255.255.255', '0.0.0.0']);
    assert.equal(getDhcpMessageType(nak.dhcp!), DHCP_MESSAGE_TYPE.NAK);
  });

  it('answers through a relay to giaddr on the server port', () => {
    const request = clientFrame({ giaddr: '10.9.9.1', hops: 1, options: [messageType(DHCP_MESSAGE_TYPE.DISCOVER)] }, { src: '10.9.9.1' });
    const offer = decodePacket(buildDhcpReply({ request, messageType: DHCP_MESSAGE_TYPE.OFFER, serverMac: SERVER_MAC, serverIp: SERVER_IP, yiaddr: '10.9.9.50' }));
    assert.deepEqual([offer.eth.dst, offer.ipv4!.dst, offer.udp!.dstPort, offer.dhcp!.giaddr], ['02:00:00:00:00:99', '10.9.9.1', 67, '10.9.9.1']);
    assert.equal(offer.dhcp!.hops, 0);
  });

  it('refuses replies that do not answer the request', () => {
    const request = clientFrame({ options: [messageType(DHCP_MESSAGE_TYPE.REQUEST)] });
    const base = { request, serverMac: SERVER_MAC, serverIp: SERVER_IP };
    assert.throws(() => buildDhcpReply({ ...base, messageType: DHCP_MESSAGE_TYPE.OFFER }), EncodeError);
    assert.throws(() => buildDhcpReply({ ...base, messageType: DHCP_MESSAGE_TYPE.DISCOVER }), EncodeError);
    assert.throws(() => buildDhcpReply({ ...base, request: decodePacket(buildUdp({ srcMac: CLIENT_MAC, dstMac: SERVER_MAC, src: '1.1.1.1', dst: '2.2.2.2', srcPort: 1, dstPort: 2, payload: Buffer.alloc(0) })), messageType: DHCP_MESSAGE_TYPE.ACK }), EncodeError);
  });

  it('keeps unknown options and pads raw, and does not pad past the minimum', () => {
    const options: DhcpOption[] = [messageType(DHCP_MESSAGE_TYPE.INFORM), { type: 'pad' }, { type: 'raw', code: 224, data: Buffer.from('site') }, { type: 'raw', code: 82, data: Buffer.from('0104000000010206020000000001', 'hex') }];
    const bytes = encodeDhcp({ op: 1, xid: 1, chaddr: CLIENT_MAC, options }, 0);
    assert.equal(bytes.length, 240 + 3 + 1 + 6 + 16 + 1);
    assert.deepEqual(decodeDhcp(bytes).options, [...options, { type: 'end' }]);
  });

  it('keeps chaddr of other hardware lengths as colon hex', () => {
    const m = decodeDhcp(encodeDhcp({ op: 1, htype: 32, xid: 1, chaddr: '00:11:22:33:44:55:66:77:88:99', options: [] }));
    assert.equal(m.chaddr, '00:11:22:33:44:55:66:77:88:99');
  });

  it('throws DecodeError with the offset for malformed messages', () => {
    const good = Buffer.from(DHCP_DISCOVER_HEX, 'hex');
    const at = (offset: number) => (e: unknown) => e instanceof DecodeError && e.offset === offset;
    const cookie = Buffer.from(good);
    cookie[236] = 0;
    assert.throws(() => decodeDhcp(cookie, 42), at(42 + 236));
    const hlen = Buffer.from(good);
    hlen[2] = 17;
    assert.throws(() => decodeDhcp(hlen), at(2));
    const badType = Buffer.from(good);
    badType[241] = 2; // message type option with length 2
    assert.throws(() => decodeDhcp(badType), at(241));
    const overrun = Buffer.from(good.subarray(0, 240 + 3 + 9 + 1));
    overrun[253] = 12; // hostname of 12 bytes, none left
    overrun[252] = 12;
    assert.throws(() => decodeDhcp(overrun), DecodeError);
    const route = Buffer.from(encodeDhcp({ op: 1, xid: 1, chaddr: CLIENT_MAC, options: [{ type: 'classless-static-routes', routes: [{ destination: '10.0.0.0', prefixLength: 8, router: '1.1.1.1' }] }] }));
    route[242] = 33;
    assert.throws(() => decodeDhcp(route), at(242));
    assert.throws(() => decodeDhcp(good.subarray(0, 239)), DecodeError);
  });

  it('refuses unencodable options', () => {
    const base = { op: 1, xid: 1, chaddr: CLIENT_MAC };
    assert.throws(() => encodeDhcp({ ...base, options: [{ type: 'hostname', name: 'x'.repeat(256) }] }), EncodeError);
    assert.throws(() => encodeDhcp({ ...base, options: [{ type: 'router', addresses: [] }] }), EncodeError);
    assert.throws(() => encodeDhcp({ ...base, options: [{ type: 'mtu', mtu: 20 }] }), EncodeError);
    assert.throws(() => encodeDhcp({ ...base, chaddr: 'zz', options: [] }), EncodeError);
  });
});
