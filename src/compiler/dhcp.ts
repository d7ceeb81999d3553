/** DHCPv4 (SPEC §4 table 20): client requests are punted to the controller, which answers from IPAM. */
import { OFPCML_NO_BUFFER } from '../../protocols/openflow/actions';
import { OFPP } from '../../protocols/openflow/constants';
import { cookie, FEATURE } from '../pipeline/cookies';
import { DHCP_PORT, ETH_TYPE, IP_PROTO, m, REG } from '../pipeline/fields';
import { applyThenGoto, buildFlow, type Flow } from '../pipeline/flow';
import { ARP_ND } from '../pipeline/tables';
import type { Network, Subnet } from '../store/model';

export function compileDhcp(network: Network, subnets: readonly Subnet[]): Flow[] {
  if (!subnets.some((s) => s.ipVersion === 4 && s.dhcp)) return [];
  return [
    buildFlow(
      ARP_ND,
      'dhcp-punt',
      [m(REG.NETWORK, network.vni), m('eth_type', ETH_TYPE.IPV4), m('ip_proto', IP_PROTO.UDP), m('udp_src', DHCP_PORT.CLIENT), m('udp_dst', DHCP_PORT.SERVER)],
      applyThenGoto([{ type: 'output', port: OFPP.CONTROLLER, maxLen: OFPCML_NO_BUFFER }]),
      cookie(FEATURE.DHCP, network.id),
    ),
  ];
}
