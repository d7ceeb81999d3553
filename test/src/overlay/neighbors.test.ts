/** External next hops (overlay/neighbors.ts): the ARP request a NAT miss sends, the binding an ARP reply teaches. */
import assert from 'node:assert/strict';
import { OFPP, OFPR } from '../../../protocols/openflow/constants';
import type { Decoded, PacketIn, PacketOut } from '../../../protocols/openflow/messages';
import { buildArpReply, buildArpRequest, buildUdp, decodePacket } from '../../../protocols/packet/packet';
import { externalMacOf } from '../../../src/compiler/nat';
import { cookie, FEATURE } from '../../../src/pipeline/cookies';
import { ARP_ND, EXTERNAL_OUT } from '../../../src/pipeline/tables';
import { learnedNeighborOf } from '../../../src/overlay/neighbors';
import { answerPacketIn } from '../../../src/overlay/packet-in';
import { PACKET_IN_HANDLERS } from '../../../src/overlay/packet-in-handlers';
import type { Endpoint, Network } from '../../../src/store/model';
import type { ModelView } from '../../../src/store/model-view';
import { bind, ep, net, subnet } from '../../support/model-fixtures';

const EXT: Network = { ...net('X', 7100), external: true, physicalNetwork: 'physnet1' };
const a1: Endpoint = ep('a1', 'A', '02:00:00:00:1a:01', '10.1.0.11');
const model: ModelView = {
  networks: new Map([['A', net('A', 7001)], ['X', EXT]]),
  subnetsByNetwork: new Map([['A', [subnet('sa', 'A', '10.1.0.0/24', '10.1.0.1')]], ['X', [subnet('sx', 'X', '198.51.100.0/24', '198.51.100.1')]]]),
  endpointsByNetwork: new Map([['A', [a1]]]),
  bindings: new Map([['a1', bind('a1', 'h1', 4)]]),
};
const PATCH = 9;
const UPSTREAM = '02:00:00:00:ee:01';
const extMac = externalMacOf('R');

function packetIn(frame: Buffer, tableId: number, match: Decoded<PacketIn>['match'], c: bigint): Decoded<PacketIn> {
  return { type: 'packet_in', xid: 0, reason: OFPR.ACTION, tableId, cookie: c, match, data: frame };
}

describe('external next hops (ARP from the controller, learned MAC)', () => {
  it('answers a NATed packet that found no next-hop MAC with an ARP request for the subnet gateway, from the NATed source, out the patch port', () => {
    const natted = buildUdp({ srcMac: extMac, dstMac: '00:00:00:00:00:00', src: '198.51.100.2', dst: '203.0.113.7', srcPort: 5000, dstPort: 53, payload: Buffer.alloc(4) });
    const pin = packetIn(natted, EXTERNAL_OUT.id, [{ field: 'in_port', value: 4 }, { field: 'reg0', value: 7100 }, { field: 'reg2', value: PATCH }], cookie(FEATURE.EXTERNAL, 'X'));
    const answer = answerPacketIn(pin, (p) => (p === 4 ? a1 : undefined), model, PACKET_IN_HANDLERS);
    assert.equal(answer.kind, 'answered');
    const po = (answer.kind === 'answered' ? answer.messages[0] : undefined) as PacketOut;
    assert.equal(po.inPort, OFPP.CONTROLLER);
    assert.deepEqual(po.actions, [{ type: 'output', port: PATCH }]);
    const arp = decodePacket(po.data!);
    assert.deepEqual([arp.eth.dst, arp.eth.src, arp.arp?.op, arp.arp?.senderMac, arp.arp?.senderIp, arp.arp?.targetIp], ['ff:ff:ff:ff:ff:ff', extMac, 1, extMac, '198.51.100.2', '198.51.100.1']);
  });

  it('learns the next hop from its ARP reply on the external network, and nothing else', () => {
    const request = decodePacket(buildArpRequest({ srcMac: extMac, srcIp: '198.51.100.2', targetIp: '198.51.100.1' }));
    const reply = buildArpReply(request, UPSTREAM);
    const match = [{ field: 'in_port', value: PATCH }, { field: 'reg0', value: 7100 }] as const;
    const c = cookie(FEATURE.EXTERNAL, 'X');
    assert.deepEqual(learnedNeighborOf(packetIn(reply, ARP_ND.id, match, c), model, 'h1', () => 'T'), { network: 'X', ip: '198.51.100.1', mac: UPSTREAM, host: 'h1', updatedAt: 'T' });
    assert.equal(learnedNeighborOf(packetIn(reply, ARP_ND.id, match, cookie(FEATURE.ARP, 'X')), model, 'h1', () => 'T'), undefined, 'not the learn flow');
    assert.equal(learnedNeighborOf(packetIn(reply, ARP_ND.id, [{ field: 'reg0', value: 7001 }], c), model, 'h1', () => 'T'), undefined, 'not an external network');
    const other = buildArpReply(decodePacket(buildArpRequest({ srcMac: extMac, srcIp: '198.51.100.2', targetIp: '198.51.100.77' })), UPSTREAM);
    assert.equal(learnedNeighborOf(packetIn(other, ARP_ND.id, match, c), model, 'h1', () => 'T'), undefined, 'not the subnet gateway');
  });
});
