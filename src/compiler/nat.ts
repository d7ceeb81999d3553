/**
 * External networks on a host (SPEC §3): where a router with an external
 * gateway is compiled and the host maps the external network's physical
 * network (southbound/bridge-mappings.ts gives the patch port):
 *
 *    0 classify      in_port = the patch port → reg0 = the external network's VNI
 *   20 arp-nd-dhcp   ARP for the router's gateway address on the external network
 *                    answered in the switch with the router's external MAC, back
 *                    out the patch port (so upstream resolves the SNAT address on
 *                    the hosts that carry it); likewise for each assigned floating
 *                    IP whose endpoint is behind the router and runs on this host
 *                    (only there: one answer upstream; gone once released)
 *
 * The conntrack NAT itself (SNAT out, floating IPs in and out) is not here yet.
 * Partition `external:<router>`; the classify flow's cookie is the external
 * network's, so routers sharing it on one host want the same flow.
 */
import { createHash } from 'node:crypto';
import { OFPP } from '../../protocols/openflow/constants';
import { formatMac } from '../../protocols/packet/address';
import { cookie, FEATURE } from '../pipeline/cookies';
import { ARP_OP, ETH_TYPE, m, REG, setField } from '../pipeline/fields';
import { applyThenGoto, buildFlow, type Flow } from '../pipeline/flow';
import { ARP_ND, CLASSIFY } from '../pipeline/tables';
import type { FloatingIp, Router } from '../store/model';
import type { HostContext, Snapshot } from './snapshot';

export const externalPartition = (routerId: string): string => `external:${routerId}`;

/** The router's MAC on its external network: locally administered, from the id, apart from its internal one. */
export function externalMacOf(routerId: string): string {
  const h = createHash('sha256').update(`router-external:${routerId}`).digest();
  return formatMac(Buffer.from([0x0e, h[0]!, h[1]!, h[2]!, h[3]!, h[4]!]));
}

/** A router's external flows on a host; none without a gateway, an external network record or the host's mapping. */
export function compileRouterExternal(snapshot: Snapshot, host: HostContext, router: Router): Flow[] {
  const gateway = router.externalGateway;
  const network = gateway ? snapshot.networks.get(gateway.network) : undefined;
  const port = network?.physicalNetwork ? host.externalPorts?.get(network.physicalNetwork) : undefined;
  if (!gateway || !network || port === undefined) return [];
  const mac = externalMacOf(router.id);
  return [
    buildFlow(CLASSIFY, 'port', [m('in_port', port)], applyThenGoto([setField(REG.NETWORK, network.vni)], ARP_ND), cookie(FEATURE.EXTERNAL, network.id)),
    arpReply(network.vni, gateway.ip, mac, cookie(FEATURE.EXTERNAL, router.id)),
    ...floatingIpsBehind(snapshot, router, network.id).filter((f) => snapshot.bindings.get(f.endpoint!)?.host === host.id).map((f) => arpReply(network.vni, f.address, mac, cookie(FEATURE.EXTERNAL, f.id))),
  ];
}

/** Assigned floating IPs of the external network whose endpoint is on one of the router's networks (sorted by id). */
export function floatingIpsBehind(snapshot: Snapshot, router: Router, externalNetwork: string): FloatingIp[] {
  const networks = new Set(router.interfaces.map((i) => i.network));
  const out: FloatingIp[] = [];
  for (const f of snapshot.floatingIps?.values() ?? []) {
    if (f.network !== externalNetwork || !f.endpoint) continue;
    const endpoint = [...networks].flatMap((n) => snapshot.endpointsByNetwork.get(n) ?? []).find((e) => e.id === f.endpoint);
    if (endpoint) out.push(f);
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

function arpReply(vni: number, ip: string, mac: string, c: bigint): Flow {
  return buildFlow(
    ARP_ND,
    'arp-reply',
    [m(REG.NETWORK, vni), m('eth_type', ETH_TYPE.ARP), m('arp_op', ARP_OP.REQUEST), m('arp_tpa', ip)],
    applyThenGoto([
      { type: 'reg_move', src: { field: 'eth_src' }, dst: { field: 'eth_dst' } },
      setField('eth_src', mac),
      setField('arp_op', ARP_OP.REPLY),
      { type: 'reg_move', src: { field: 'arp_sha' }, dst: { field: 'arp_tha' } },
      setField('arp_sha', mac),
      { type: 'reg_move', src: { field: 'arp_spa' }, dst: { field: 'arp_tpa' } },
      setField('arp_spa', ip),
      { type: 'output', port: OFPP.IN_PORT },
    ]),
    c,
  );
}
