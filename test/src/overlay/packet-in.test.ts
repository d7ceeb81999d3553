import assert from 'node:assert/strict';
import { OFPP, OFPR } from '../../../protocols/openflow/constants';
import type { Decoded, PacketIn, PacketOut } from '../../../protocols/openflow/messages';
import { BOOTP_OP, DHCP_MESSAGE_TYPE, encodeDhcp, getDhcpMessageType } from '../../../protocols/packet/dhcp';
import { buildArpRequest, buildNeighborSolicitation, buildUdp, decodePacket } from '../../../protocols/packet/packet';
import { answerPacketIn, type PacketInHandler } from '../../../src/overlay/packet-in';
import { PACKET_IN_HANDLERS } from '../../../src/overlay/packet-in-handlers';
import type { Endpoint } from '../../../src/store/model';
import type { ModelView } from '../../../src/store/model-view';
import { bind, ep, net, subnet } from '../../support/model-fixtures';

const vm: Endpoint = { ...ep('vm', 'A', '02:00:00:00:0a:01', '10.1.0.11'), ips: ['10.1.0.11', 'fd00::11'] };
const peer: Endpoint = { ...ep('peer', 'A', '02:00:00:00:0a:02', '10.1.0.12'), ips: ['10.1.0.12', 'fd00::12'] };
const model: ModelView = {
  networks: new Map([['A', net('A', 5001)]]),
  subnetsByNetwork: new Map([['A', [subnet('sa', 'A', '10.1.0.0/24', '10.1.0.1')]]]),
  endpointsByNetwork: new Map([['A', [vm, peer]]]),
  bindings: new Map([['vm', bind('vm', 'h1', 4)], ['peer', bind('peer', 'h2', 3)]]),
};
const at = (port: number): Endpoint | undefined => (port === 4 ? vm : undefined);

function packetIn(frame: Buffer, inPort = 4): Decoded<PacketIn> {
  return { type: 'packet_in', xid: 0, reason: OFPR.ACTION, tableId: 20, match: [{ field: 'in_port', value: inPort }], data: frame };
}

function dhcpDiscover(): Buffer {
  const dhcp = encodeDhcp({ op: BOOTP_OP.REQUEST, xid: 7, chaddr: vm.mac, options: [{ type: 'message-type', messageType: DHCP_MESSAGE_TYPE.DISCOVER }] });
  return buildUdp({ srcMac: vm.mac, dstMac: 'ff:ff:ff:ff:ff:ff', src: '0.0.0.0', dst: '255.255.255.255', srcPort: 68, dstPort: 67, payload: dhcp });
}

describe('packet-in dispatch (handlers return messages, they never send)', () => {
  it('answers a DHCP discover with one packet-out of the offer, back out of the port it came in on', () => {
    const answer = answerPacketIn(packetIn(dhcpDiscover()), at, model, PACKET_IN_HANDLERS);
    assert.equal(answer.kind, 'answered');
    const [out, ...rest] = answer.kind === 'answered' ? answer.messages : [];
    assert.equal(rest.length, 0);
    const po = out as PacketOut;
    assert.equal(po.type, 'packet_out');
    assert.equal(po.inPort, OFPP.CONTROLLER);
    assert.deepEqual(po.actions, [{ type: 'output', port: 4 }]);
    const offer = decodePacket(po.data!);
    assert.equal(getDhcpMessageType(offer.dhcp!), DHCP_MESSAGE_TYPE.OFFER);
    assert.equal(offer.dhcp!.yiaddr, '10.1.0.11');
  });

  it('answers a neighbor solicitation for a known address with the owner MAC', () => {
    const ns = buildNeighborSolicitation({ srcMac: vm.mac, src: 'fd00::11', target: 'fd00::12' });
    const answer = answerPacketIn(packetIn(ns), at, model, PACKET_IN_HANDLERS);
    assert.equal(answer.kind, 'answered');
    const po = (answer.kind === 'answered' ? answer.messages[0] : undefined) as PacketOut;
    assert.equal(decodePacket(po.data!).eth.src, peer.mac);
  });

  it('says why it ignores a packet-in: no endpoint at the port, garbage, no handler for it', () => {
    assert.deepEqual(answerPacketIn(packetIn(dhcpDiscover(), 9), at, model, PACKET_IN_HANDLERS), { kind: 'ignored', reason: 'no endpoint at the port' });
    const garbage = answerPacketIn(packetIn(Buffer.from([1, 2, 3])), at, model, PACKET_IN_HANDLERS);
    assert.equal(garbage.kind, 'ignored');
    assert.match(garbage.kind === 'ignored' ? garbage.reason : '', /^undecodable: /);
    const arp = buildArpRequest({ srcMac: vm.mac, srcIp: '10.1.0.11', targetIp: '10.1.0.12' });
    assert.deepEqual(answerPacketIn(packetIn(arp), at, model, PACKET_IN_HANDLERS), { kind: 'ignored', reason: 'no handler' });
  });

  it('asks handlers in order and stops at the first that owns the packet (an empty answer included)', () => {
    const asked: string[] = [];
    const silent: PacketInHandler = (i) => (asked.push('silent'), i.packet.dhcp ? [] : undefined);
    const never: PacketInHandler = () => (asked.push('never'), undefined);
    assert.deepEqual(answerPacketIn(packetIn(dhcpDiscover()), at, model, [silent, never]), { kind: 'answered', messages: [], endpoint: 'vm' });
    assert.deepEqual(asked, ['silent']);
  });
});
