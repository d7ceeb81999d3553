/**
 * Flows for an endpoint attached to a local port: classify the port into its
 * network, let through only frames whose source belongs to the endpoint
 * (port security, SPEC §4 table 10), and deliver to the port at the end.
 */
import type { Action } from '../../protocols/openflow/actions';
import type { Instruction } from '../../protocols/openflow/instructions';
import { cookie, FEATURE } from '../pipeline/cookies';
import { DHCP_PORT, ETH_TYPE, ICMPV6_TYPE, IP_PROTO, m, REG, setField } from '../pipeline/fields';
import { applyThenGoto, buildFlow, type Flow } from '../pipeline/flow';
import { ARP_ND, CLASSIFY, OUTPUT, PORT_SECURITY } from '../pipeline/tables';
import type { Network } from '../store/model';
import { ipv4Of, ipv6Of, linkLocalOf } from './addresses';
import type { PortQos } from './qos';
import type { Placed } from './snapshot';

export function compileLocalPort(network: Network, p: Placed, qos?: PortQos): Flow[] {
  const c = cookie(FEATURE.PORT, p.endpoint.id);
  const { mac } = p.endpoint;
  const port = m('in_port', p.ofport);
  const setNetwork: Action = setField(REG.NETWORK, network.vni);
  const next = applyThenGoto([], ARP_ND);
  // QoS (qos.ts): meters first (the order Open vSwitch reports instructions), DSCP on IP only.
  const meter = (spec: { meterId: number } | undefined): Instruction[] => (spec ? [{ type: 'meter', meterId: spec.meterId }] : []);
  const nextIp = qos?.dscp !== undefined ? applyThenGoto([setField('ip_dscp', qos.dscp)], ARP_ND) : next;
  const flows: Flow[] = [
    buildFlow(CLASSIFY, 'port', [port], [...meter(qos?.egressMeter), ...applyThenGoto([setNetwork], PORT_SECURITY)], c),
    buildFlow(OUTPUT, 'port', [m(REG.OUT_PORT, p.ofport)], [...meter(qos?.ingressMeter), ...applyThenGoto([{ type: 'output', port: p.ofport }])], c),
  ];
  for (const ip of ipv4Of(p.endpoint.ips)) {
    flows.push(buildFlow(PORT_SECURITY, 'endpoint-source', [port, m('eth_src', mac), m('eth_type', ETH_TYPE.IPV4), m('ip_src', ip)], nextIp, c));
    flows.push(
      buildFlow(PORT_SECURITY, 'endpoint-source', [port, m('eth_src', mac), m('eth_type', ETH_TYPE.ARP), m('arp_spa', ip), m('arp_sha', mac)], next, c),
    );
  }
  // DHCP DISCOVER/REQUEST before the client has an address.
  flows.push(
    buildFlow(
      PORT_SECURITY,
      'endpoint-source',
      [port, m('eth_src', mac), m('eth_type', ETH_TYPE.IPV4), m('ip_src', '0.0.0.0'), m('ip_proto', IP_PROTO.UDP), m('udp_src', DHCP_PORT.CLIENT), m('udp_dst', DHCP_PORT.SERVER)],
      next,
      c,
    ),
  );
  const v6 = ipv6Of(p.endpoint.ips);
  if (v6.length) {
    for (const ip of [...v6, linkLocalOf(mac)]) {
      flows.push(buildFlow(PORT_SECURITY, 'endpoint-source', [port, m('eth_src', mac), m('eth_type', ETH_TYPE.IPV6), m('ipv6_src', ip)], nextIp, c));
    }
    // Duplicate address detection sends neighbor solicitations from ::.
    flows.push(
      buildFlow(PORT_SECURITY, 'endpoint-source', [port, m('eth_src', mac), m('eth_type', ETH_TYPE.IPV6), m('ipv6_src', '::'), m('ip_proto', IP_PROTO.ICMPV6), m('icmpv6_type', ICMPV6_TYPE.NEIGHBOR_SOLICIT)], next, c),
    );
  }
  return flows;
}
