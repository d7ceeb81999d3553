/**
 * Distributed routing (SPEC §4 table 40): every host where one of a router's
 * networks is present routes for it locally, so a packet between two subnets
 * never hairpins through a central box.
 *
 *   20 arp-nd-dhcp   ARP for a gateway address answered in the switch with the
 *                    router's MAC; ND for it punted (overlay/nd.ts answers)
 *   40 l3            eth_dst = router MAC, reg0 = a router network, ip dst in a
 *                    router subnet (or a static route's destination): decrement
 *                    TTL / hop limit, eth_src = router MAC, reg0 = destination
 *                    network's VNI, then
 *   45 l3-neighbor   ip dst → the destination endpoint's MAC (one flow per
 *                    endpoint address in a routed network, like OVN's
 *                    lr_in_arp_resolve), then 50 l2 forwards locally or into the
 *                    destination host's tunnel with the destination VNI.
 *
 * A static route's next hop is an endpoint in a router subnet (an appliance):
 * its MAC is set directly in table 40 and the packet goes to L2.
 *
 * Partitions: `router:<id>` holds the router's own flows (gateway neighbours,
 * routes; O(interfaces²) per host), the endpoint partitions hold the neighbour
 * flows, so an attach in a routed network adds O(1) flows per host.
 */
import type { Action } from '../../protocols/openflow/actions';
import { cookie, FEATURE } from '../pipeline/cookies';
import { ETH_TYPE, m, REG, setField, type FieldMatch } from '../pipeline/fields';
import { applyThenGoto, buildFlow, type Flow } from '../pipeline/flow';
import { L2, L3, L3_NEIGHBOR } from '../pipeline/tables';
import { formatIp, parseCidr } from '../store/ipam';
import type { Endpoint, Network, Router } from '../store/model';
import { ipv4Of, ipv6Of } from './addresses';
import { arpReplyFlow, ndPuntFlow } from './arp';
import type { Placed, Snapshot } from './snapshot';

export const routerPartition = (routerId: string): string => `router:${routerId}`;

/** The routers a network is on (sorted by id). */
export function routersOf(snapshot: Snapshot, networkId: string): readonly Router[] {
  return snapshot.routersByNetwork?.get(networkId) ?? [];
}

/** Networks reachable from `networkId` through its routers (itself excluded). */
export function routedPeers(snapshot: Snapshot, networkId: string): Set<string> {
  const out = new Set<string>();
  for (const r of routersOf(snapshot, networkId)) for (const i of r.interfaces) if (i.network !== networkId) out.add(i.network);
  return out;
}

/** The networks a router is on, in interface order, without repeats. */
export function networksOfRouter(router: Router): string[] {
  return [...new Set(router.interfaces.map((i) => i.network))];
}

/** Neighbour flows of one endpoint in a routed network: its addresses → its MAC, in its network. */
export function compileL3Neighbor(network: Network, p: Placed): Flow[] {
  const c = cookie(FEATURE.L3_NEIGHBOR, p.endpoint.id);
  const vni = m(REG.NETWORK, network.vni);
  const next = applyThenGoto([setField('eth_dst', p.endpoint.mac)], L2);
  return [
    ...ipv4Of(p.endpoint.ips).map((ip) => buildFlow(L3_NEIGHBOR, 'endpoint-ip', [vni, m('eth_type', ETH_TYPE.IPV4), m('ip_dst', ip)], next, c)),
    ...ipv6Of(p.endpoint.ips).map((ip) => buildFlow(L3_NEIGHBOR, 'endpoint-ip', [vni, m('eth_type', ETH_TYPE.IPV6), m('ipv6_dst', ip)], next, c)),
  ];
}

/** A router's own flows on a host where one of its networks is present. */
export function compileRouter(snapshot: Snapshot, router: Router): Flow[] {
  const c = cookie(FEATURE.ROUTER, router.id);
  const flows: Flow[] = [];
  const vniOf = (networkId: string): number | undefined => snapshot.networks.get(networkId)?.vni;
  for (const leg of router.interfaces) {
    const vni = vniOf(leg.network);
    if (vni === undefined) continue;
    flows.push(parseCidr(leg.cidr).version === 4 ? arpReplyFlow(vni, leg.ip, router.mac, c) : ndPuntFlow(vni, leg.ip, c));
  }
  const sources = networksOfRouter(router).filter((n) => vniOf(n) !== undefined);
  for (const source of sources) {
    const atRouter = [m(REG.NETWORK, vniOf(source)!), m('eth_dst', router.mac)];
    for (const leg of router.interfaces) {
      const vni = vniOf(leg.network);
      if (vni === undefined) continue;
      const dst = destinationMatch(leg.cidr);
      flows.push(buildFlow(L3, `connected-${dst.prefix}`, [...atRouter, ...dst.match], applyThenGoto(routeActions(router, vni), L3_NEIGHBOR), c));
    }
    for (const route of router.routes) {
      const hop = nextHopOf(snapshot, router, route.nexthop);
      if (!hop) continue; // no endpoint holds the next hop (yet): the packet is dropped at table 40's miss → l2
      const dst = destinationMatch(route.destination);
      flows.push(buildFlow(L3, `static-${dst.prefix}`, [...atRouter, ...dst.match], applyThenGoto([...routeActions(router, hop.vni), setField('eth_dst', hop.endpoint.mac)], L2), c));
    }
  }
  return flows;
}

/** The endpoint that holds a static route's next hop, in the router subnet containing it. */
export function nextHopOf(snapshot: Snapshot, router: Router, nexthop: string): { endpoint: Endpoint; vni: number } | undefined {
  for (const leg of router.interfaces) {
    const network = snapshot.networks.get(leg.network);
    if (!network) continue;
    const endpoint = (snapshot.endpointsByNetwork.get(leg.network) ?? []).find((e) => e.ips.includes(nexthop));
    if (endpoint) return { endpoint, vni: network.vni };
  }
  return undefined;
}

function routeActions(router: Router, vni: number): Action[] {
  return [{ type: 'dec_nw_ttl' }, setField('eth_src', router.mac), setField(REG.NETWORK, vni)];
}

/** eth_type and ip(v6)_dst for a destination CIDR (no address match for /0, an exact one for a host route). */
function destinationMatch(cidr: string): { prefix: number; match: FieldMatch[] } {
  const c = parseCidr(cidr);
  const bits = c.version === 4 ? 32 : 128;
  const all = (1n << BigInt(bits)) - 1n;
  const maskValue = all ^ ((1n << BigInt(bits - c.prefix)) - 1n);
  const address = formatIp(c.version, c.network);
  const mask = formatIp(c.version, maskValue);
  const full = c.prefix === bits;
  const match: FieldMatch[] =
    c.version === 4
      ? [m('eth_type', ETH_TYPE.IPV4), ...(c.prefix === 0 ? [] : [full ? m('ip_dst', address) : m('ip_dst', address, mask)])]
      : [m('eth_type', ETH_TYPE.IPV6), ...(c.prefix === 0 ? [] : [full ? m('ipv6_dst', address) : m('ipv6_dst', address, mask)])];
  return { prefix: c.prefix, match };
}

