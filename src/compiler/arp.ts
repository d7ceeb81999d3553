/**
 * Neighbor resolution without flooding (SPEC §4 table 20). ARP: a request for a
 * known address in the network is turned into the reply right in the switch and
 * sent back out of the port it came from. IPv6 ND: a solicitation for a known
 * address goes to the controller, which answers from the model (overlay/nd.ts).
 * Either way it never floods over the tunnels.
 */
import { OFPCML_NO_BUFFER, type Action } from '../../protocols/openflow/actions';
import { OFPP } from '../../protocols/openflow/constants';
import { cookie, FEATURE } from '../pipeline/cookies';
import { ARP_OP, ETH_TYPE, ICMPV6_TYPE, IP_PROTO, m, REG, setField } from '../pipeline/fields';
import { applyThenGoto, buildFlow, type Flow } from '../pipeline/flow';
import { ARP_ND } from '../pipeline/tables';
import type { Network } from '../store/model';
import { ipv4Of, ipv6Of } from './addresses';
import type { Placed } from './snapshot';

export function compileArpResponder(network: Network, p: Placed): Flow[] {
  return ipv4Of(p.endpoint.ips).map((ip) => arpReplyFlow(network.vni, ip, p.endpoint.mac, cookie(FEATURE.ARP, `${p.endpoint.id}/${ip}`)));
}

export function compileNdResponder(network: Network, p: Placed): Flow[] {
  return ipv6Of(p.endpoint.ips).map((ip) => ndPuntFlow(network.vni, ip, cookie(FEATURE.ARP, `${p.endpoint.id}/${ip}`)));
}

/**
 * The ARP request for `ip` in network `vni` answered in the switch with `mac` (an
 * endpoint's, or a router's for its gateway address), back out of the port it came in.
 */
export function arpReplyFlow(vni: number, ip: string, mac: string, flowCookie: bigint): Flow {
  const actions: Action[] = [
    { type: 'reg_move', src: { field: 'eth_src' }, dst: { field: 'eth_dst' } },
    setField('eth_src', mac),
    setField('arp_op', ARP_OP.REPLY),
    { type: 'reg_move', src: { field: 'arp_sha' }, dst: { field: 'arp_tha' } },
    setField('arp_sha', mac),
    { type: 'reg_move', src: { field: 'arp_spa' }, dst: { field: 'arp_tpa' } },
    setField('arp_spa', ip),
    { type: 'output', port: OFPP.IN_PORT },
  ];
  return buildFlow(
    ARP_ND,
    'arp-reply',
    [m(REG.NETWORK, vni), m('eth_type', ETH_TYPE.ARP), m('arp_op', ARP_OP.REQUEST), m('arp_tpa', ip)],
    applyThenGoto(actions),
    flowCookie,
  );
}

/** A neighbor solicitation for `ip` in network `vni` punted to the controller (answered by overlay/nd.ts). */
export function ndPuntFlow(vni: number, ip: string, flowCookie: bigint): Flow {
  return buildFlow(
    ARP_ND,
    'nd-punt',
    [m(REG.NETWORK, vni), m('eth_type', ETH_TYPE.IPV6), m('ip_proto', IP_PROTO.ICMPV6), m('icmpv6_type', ICMPV6_TYPE.NEIGHBOR_SOLICIT), m('nd_target', ip)],
    applyThenGoto([{ type: 'output', port: OFPP.CONTROLLER, maxLen: OFPCML_NO_BUFFER }]),
    flowCookie,
  );
}
