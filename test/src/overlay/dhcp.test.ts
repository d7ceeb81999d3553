import assert from 'node:assert/strict';
import { BOOTP_OP, DHCP_MESSAGE_TYPE, encodeDhcp, findDhcpOption, getDhcpMessageType, type DhcpOption } from '../../../protocols/packet/dhcp';
import { buildUdp, decodePacket } from '../../../protocols/packet/packet';
import { answerDhcp, serverMacOf } from '../../../src/overlay/dhcp';
import type { Endpoint, Network, Router, Subnet } from '../../../src/store/model';

const T = '2026-01-01T00:00:00.000Z';
const network: Network = { id: 'n1', name: 'DockerSN', tenant: 'default', vni: 0x123456, mtu: 1450, createdAt: T, updatedAt: T };
const subnet: Subnet = {
  id: 's1', network: 'n1', cidr: '192.168.200.0/24', ipVersion: 4, gateway: '192.168.200.1', allocationPools: [], dhcp: true,
  dnsServers: ['192.168.200.2'], routes: [{ destination: '10.0.0.0/8', nexthop: '192.168.200.254' }], createdAt: T, updatedAt: T,
};
const endpoint: Endpoint = {
  id: 'vm1', name: 'vm1', network: 'n1', mac: '02:00:00:00:00:07', ips: ['192.168.200.7'], kind: 'vm', labels: {}, securityGroups: [], createdAt: T, updatedAt: T,
};

function client(type: number, extra: DhcpOption[] = []): ReturnType<typeof decodePacket> {
  const dhcp = encodeDhcp({ op: BOOTP_OP.REQUEST, xid: 0xabcdef, chaddr: endpoint.mac, options: [{ type: 'message-type', messageType: type }, ...extra] });
  return decodePacket(buildUdp({ srcMac: endpoint.mac, dstMac: 'ff:ff:ff:ff:ff:ff', src: '0.0.0.0', dst: '255.255.255.255', srcPort: 68, dstPort: 67, payload: dhcp }));
}

describe('DHCP answers from IPAM', () => {
  it('offers the endpoint address with mask, router, routes, DNS, MTU and lease', () => {
    const reply = decodePacket(answerDhcp(client(DHCP_MESSAGE_TYPE.DISCOVER), network, endpoint, [subnet])!);
    const d = reply.dhcp!;
    assert.equal(getDhcpMessageType(d), DHCP_MESSAGE_TYPE.OFFER);
    assert.equal(d.yiaddr, '192.168.200.7');
    assert.equal(d.xid, 0xabcdef);
    assert.equal(reply.eth.src, serverMacOf(network));
    assert.equal(serverMacOf(network), '0a:00:00:12:34:56');
    assert.equal(findDhcpOption(d, 'subnet-mask')?.mask, '255.255.255.0');
    assert.deepEqual(findDhcpOption(d, 'router')?.addresses, ['192.168.200.1']);
    assert.deepEqual(findDhcpOption(d, 'dns-servers')?.addresses, ['192.168.200.2']);
    assert.equal(findDhcpOption(d, 'mtu')?.mtu, 1450);
    assert.equal(findDhcpOption(d, 'lease-time')?.seconds, 86_400);
    assert.equal(findDhcpOption(d, 'server-id')?.address, '192.168.200.1');
    assert.deepEqual(findDhcpOption(d, 'classless-static-routes')?.routes, [
      { destination: '10.0.0.0', prefixLength: 8, router: '192.168.200.254' },
      { destination: '0.0.0.0', prefixLength: 0, router: '192.168.200.1' },
    ]);
  });

  it('on a routed subnet, hands out the router at its address there and its static routes in option 121', () => {
    const router: Router = {
      id: 'r1', name: 'r1', tenant: 'default', mac: '0e:00:00:00:00:01', createdAt: T, updatedAt: T,
      interfaces: [{ subnet: 's1', network: 'n1', cidr: '192.168.200.0/24', ip: '192.168.200.254' }, { subnet: 's2', network: 'n2', cidr: '10.7.0.0/24', ip: '10.7.0.1' }],
      routes: [{ destination: '10.9.0.0/16', nexthop: '192.168.200.9' }, { destination: '10.8.0.0/16', nexthop: '10.7.0.5' }],
    };
    const plain = { ...subnet, routes: [], gateway: null };
    const d = decodePacket(answerDhcp(client(DHCP_MESSAGE_TYPE.DISCOVER), network, endpoint, [plain], [router])!).dhcp!;
    assert.deepEqual(findDhcpOption(d, 'router')?.addresses, ['192.168.200.254']);
    assert.deepEqual(findDhcpOption(d, 'classless-static-routes')?.routes, [
      { destination: '10.9.0.0', prefixLength: 16, router: '192.168.200.9' },
      { destination: '10.8.0.0', prefixLength: 16, router: '192.168.200.254' },
      { destination: '0.0.0.0', prefixLength: 0, router: '192.168.200.254' },
    ]);
  });

  it('acknowledges a request for its own address and refuses another', () => {
    const ack = decodePacket(answerDhcp(client(DHCP_MESSAGE_TYPE.REQUEST, [{ type: 'requested-ip', address: '192.168.200.7' }]), network, endpoint, [subnet])!);
    assert.equal(getDhcpMessageType(ack.dhcp!), DHCP_MESSAGE_TYPE.ACK);
    assert.equal(ack.dhcp!.yiaddr, '192.168.200.7');
    const nak = decodePacket(answerDhcp(client(DHCP_MESSAGE_TYPE.REQUEST, [{ type: 'requested-ip', address: '192.168.200.8' }]), network, endpoint, [subnet])!);
    assert.equal(getDhcpMessageType(nak.dhcp!), DHCP_MESSAGE_TYPE.NAK);
  });

  it('says nothing without a DHCP subnet for the endpoint, or to messages a server ignores', () => {
    assert.equal(answerDhcp(client(DHCP_MESSAGE_TYPE.DISCOVER), network, endpoint, [{ ...subnet, dhcp: false }]), undefined);
    assert.equal(answerDhcp(client(DHCP_MESSAGE_TYPE.DISCOVER), network, { ...endpoint, ips: ['10.9.9.9'] }, [subnet]), undefined);
    assert.equal(answerDhcp(client(DHCP_MESSAGE_TYPE.RELEASE), network, endpoint, [subnet]), undefined);
  });

  it('ignores a BOOTREPLY from a port (a DISCOVER with op 2 is not a client message) rather than throwing', () => {
    const dhcp = encodeDhcp({ op: BOOTP_OP.REPLY, xid: 1, chaddr: endpoint.mac, options: [{ type: 'message-type', messageType: DHCP_MESSAGE_TYPE.DISCOVER }] });
    const frame = buildUdp({ srcMac: endpoint.mac, dstMac: 'ff:ff:ff:ff:ff:ff', src: '0.0.0.0', dst: '255.255.255.255', srcPort: 68, dstPort: 67, payload: dhcp });
    assert.equal(answerDhcp(decodePacket(frame), network, endpoint, [subnet]), undefined);
  });
});
