/**
 * External networks and NAT on a host (SPEC §3), IPv4. Where a router with an
 * external gateway is compiled and the host maps the external network's
 * physical network (southbound/bridge-mappings.ts gives the patch port):
 *
 *    0 classify      in_port = the patch port → reg0 = the external network's VNI
 *   20 arp-nd-dhcp   ARP for the router's gateway address on the external network
 *                    answered in the switch with the router's external MAC, back
 *                    out the patch port; likewise for each assigned floating IP
 *                    whose endpoint runs on this host (only there: one answer
 *                    upstream; gone once released). The next hop's ARP replies
 *                    are punted: the controller learns its MAC (MacBinding)
 *   40 l3            `external` (below every route): from a router network at the
 *                    router MAC → TTL, eth_src = its external MAC, then nat-out;
 *                    from the external network at its external MAC → nat-in
 *   41 nat-out       source = a local floating IP's fixed IP → ct(commit, nat(src=
 *                    floating IP)); source in a router subnet (SNAT on) →
 *                    ct(commit, nat(src=gateway address)); reg0 = external VNI;
 *                    then external-out
 *   43 external-out  eth_dst = the next hop's MAC (the external subnet's gateway,
 *                    as learned), out the patch port; while it is not learned,
 *                    to the controller with the patch port in reg2 (it sends an
 *                    ARP request there: overlay/neighbors.ts)
 *   42 nat-in        to a local floating IP → ct(commit, nat(dst=fixed IP)); to
 *                    the gateway address → ct(nat) (replies un-SNATed); reg3 =
 *                    the router, then nat-in-route
 *   44 nat-in-route  router + destination subnet → TTL, router MAC, the subnet's
 *                    VNI, then 45 l3-neighbor and L2 as any routed packet
 *
 * NAT is distributed: every connection is tracked on the host of its endpoint,
 * in the router's zone (natZoneOf), so the host needs the bridge mapping.
 * Conntrack keeps each connection's translation, so ct(commit, nat(src=X)) on
 * every packet of a connection translates it as its first packet was, and
 * replies are reversed by the same entry. Zones are 0xff00 | 8 bits of the
 * router id: above every OpenFlow port number, so never a security group's zone
 * (compiler/policy.ts), which a connection also passes through.
 *
 * Partition `external:<router>`; the flows an external network has once per
 * host (classify, next hop) carry its cookie, so routers sharing it want the
 * same flows.
 */
import { createHash } from 'node:crypto';
import { OFPCML_NO_BUFFER, type Action } from '../../protocols/openflow/actions';
import { OFPP } from '../../protocols/openflow/constants';
import { formatMac } from '../../protocols/packet/address';
import { cookie, FEATURE } from '../pipeline/cookies';
import { ARP_OP, ETH_TYPE, m, REG, setField } from '../pipeline/fields';
import { applyThenGoto, buildFlow, type Flow } from '../pipeline/flow';
import { ARP_ND, CLASSIFY, EXTERNAL_OUT, L3, L3_NEIGHBOR, NAT_IN, NAT_IN_ROUTE, NAT_OUT } from '../pipeline/tables';
import { formatIp, parseCidr } from '../store/ipam';
import type { FloatingIp, Network, Router } from '../store/model';
import { arpReplyFlow } from './arp';
import type { HostContext, Snapshot } from './snapshot';

export const externalPartition = (routerId: string): string => `external:${routerId}`;

/** The router's MAC on its external network: locally administered, from the id, apart from its internal one. */
export function externalMacOf(routerId: string): string {
  const h = createHash('sha256').update(`router-external:${routerId}`).digest();
  return formatMac(Buffer.from([0x0e, h[0]!, h[1]!, h[2]!, h[3]!, h[4]!]));
}

/** The conntrack zone of a router's NAT on every host: 0xff00 | 8 bits of SHA-256 of its id (never an OpenFlow port number). */
export function natZoneOf(routerId: string): number {
  return 0xff00 | createHash('sha256').update(`router-nat-zone:${routerId}`).digest()[0]!;
}

/** The router's key in reg3 between nat-in and nat-in-route: 32 bits of SHA-256 of its id. */
export function routerKeyOf(routerId: string): number {
  return createHash('sha256').update(`router-key:${routerId}`).digest().readUInt32BE(0);
}

/** The key of a learned neighbour in `ModelView.macBindings`. */
export const macBindingKey = (network: string, ip: string): string => `${network}/${ip}`;

/** The next hop of an external network: its gateway's subnet gateway address (where NATed packets go). */
export function nextHopOf(snapshot: Snapshot, networkId: string, subnetId: string): string | undefined {
  return snapshot.subnetsByNetwork.get(networkId)?.find((s) => s.id === subnetId)?.gateway ?? undefined;
}

/** A router's external flows on a host; none without a gateway, an external network record or the host's mapping. */
export function compileRouterExternal(snapshot: Snapshot, host: HostContext, router: Router): Flow[] {
  const gateway = router.externalGateway;
  const network = gateway ? snapshot.networks.get(gateway.network) : undefined;
  const port = network?.physicalNetwork ? host.externalPorts?.get(network.physicalNetwork) : undefined;
  if (!gateway || !network || port === undefined) return [];
  const mac = externalMacOf(router.id);
  const local = floatingIpsBehind(snapshot, router, network.id).filter((f) => f.fixedIp && snapshot.bindings.get(f.endpoint!)?.host === host.id);
  return [
    buildFlow(CLASSIFY, 'port', [m('in_port', port)], applyThenGoto([setField(REG.NETWORK, network.vni)], ARP_ND), cookie(FEATURE.EXTERNAL, network.id)),
    arpReplyFlow(network.vni, gateway.ip, mac, cookie(FEATURE.EXTERNAL, router.id)),
    ...local.map((f) => arpReplyFlow(network.vni, f.address, mac, cookie(FEATURE.EXTERNAL, f.id))),
    ...compileNat(snapshot, router, network, port, local),
  ];
}

/** The conntrack NAT of one router on a host (tables 40..44), with the floating IPs whose endpoints run there. */
function compileNat(snapshot: Snapshot, router: Router, external: Network, patchPort: number, local: readonly FloatingIp[]): Flow[] {
  const gateway = router.externalGateway!;
  const c = cookie(FEATURE.NAT, router.id);
  const zone = natZoneOf(router.id);
  const extMac = externalMacOf(router.id);
  const ipv4 = m('eth_type', ETH_TYPE.IPV4);
  const legs = router.interfaces.filter((i) => parseCidr(i.cidr).version === 4 && snapshot.networks.has(i.network));
  const vniOf = (networkId: string): number => snapshot.networks.get(networkId)!.vni;
  const flows: Flow[] = [];
  const toOut = (address: string): Action[] => [setField(REG.NETWORK, external.vni), { type: 'ct', commit: true, zone, table: EXTERNAL_OUT.id, actions: [{ type: 'nat', kind: 'src', ipMin: address }] }];
  // Out: what no route takes leaves through the gateway (the external MAC as source), then is NATed.
  for (const n of [...new Set(legs.map((l) => l.network))]) {
    flows.push(buildFlow(L3, 'external', [m(REG.NETWORK, vniOf(n)), m('eth_dst', router.mac), ipv4], applyThenGoto([{ type: 'dec_nw_ttl' }, setField('eth_src', extMac)], NAT_OUT), c));
  }
  if (gateway.snat) {
    for (const leg of legs) flows.push(buildFlow(NAT_OUT, 'snat', [m(REG.NETWORK, vniOf(leg.network)), ipv4, prefixMatch(leg.cidr)], applyThenGoto(toOut(gateway.ip)), c));
  }
  // In: at the external MAC; replies to the gateway address un-NATed, floating IPs DNATed.
  const unSnat: Action[] = [setField(REG.ROUTER, routerKeyOf(router.id)), { type: 'ct', zone, table: NAT_IN_ROUTE.id, actions: [{ type: 'nat' }] }];
  flows.push(buildFlow(L3, 'external', [m(REG.NETWORK, external.vni), m('eth_dst', extMac), ipv4], applyThenGoto([], NAT_IN), c));
  flows.push(buildFlow(NAT_IN, 'snat-reply', [m(REG.NETWORK, external.vni), ipv4, m('ip_dst', gateway.ip)], applyThenGoto(unSnat), c));
  for (const f of local) {
    const leg = legs.find((l) => snapshot.endpointsByNetwork.get(l.network)?.some((e) => e.id === f.endpoint));
    if (!leg) continue;
    const fc = cookie(FEATURE.NAT, f.id);
    flows.push(buildFlow(NAT_OUT, 'floating-ip', [m(REG.NETWORK, vniOf(leg.network)), ipv4, m('ip_src', f.fixedIp!)], applyThenGoto(toOut(f.address)), fc));
    const dnat: Action[] = [setField(REG.ROUTER, routerKeyOf(router.id)), { type: 'ct', commit: true, zone, table: NAT_IN_ROUTE.id, actions: [{ type: 'nat', kind: 'dst', ipMin: f.fixedIp! }] }];
    flows.push(buildFlow(NAT_IN, 'floating-ip', [m(REG.NETWORK, external.vni), ipv4, m('ip_dst', f.address)], applyThenGoto(dnat), fc));
  }
  for (const leg of legs) {
    const back = [{ type: 'dec_nw_ttl' } as const, setField('eth_src', router.mac), setField(REG.NETWORK, vniOf(leg.network))];
    flows.push(buildFlow(NAT_IN_ROUTE, 'connected', [m(REG.ROUTER, routerKeyOf(router.id)), ipv4, prefixMatch(leg.cidr, 'ip_dst')], applyThenGoto(back, L3_NEIGHBOR), c));
  }
  flows.push(...compileNextHop(snapshot, external, gateway.subnet, patchPort));
  return flows;
}

/**
 * The external network's next hop on this host: NATed packets go to its MAC
 * out the patch port, or to the controller (patch port in reg2) until it is
 * learned; its ARP replies are punted to learn (and relearn) it. Owned by the
 * external network: every router using it wants the same flows.
 */
function compileNextHop(snapshot: Snapshot, external: Network, subnetId: string, patchPort: number): Flow[] {
  const hop = nextHopOf(snapshot, external.id, subnetId);
  if (!hop) return [];
  const c = cookie(FEATURE.EXTERNAL, external.id);
  const mac = snapshot.macBindings?.get(macBindingKey(external.id, hop))?.mac;
  const send: Action[] = mac
    ? [setField('eth_dst', mac), { type: 'output', port: patchPort }]
    : [setField(REG.OUT_PORT, patchPort), { type: 'output', port: OFPP.CONTROLLER, maxLen: OFPCML_NO_BUFFER }];
  return [
    buildFlow(EXTERNAL_OUT, 'next-hop', [m(REG.NETWORK, external.vni)], applyThenGoto(send), c),
    buildFlow(
      ARP_ND,
      'neighbor-learn',
      [m(REG.NETWORK, external.vni), m('eth_type', ETH_TYPE.ARP), m('arp_op', ARP_OP.REPLY), m('arp_spa', hop)],
      applyThenGoto([{ type: 'output', port: OFPP.CONTROLLER, maxLen: OFPCML_NO_BUFFER }]),
      c,
    ),
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

/** An IPv4 subnet as a prefix match on ip_src (or ip_dst); a /32 exactly. */
function prefixMatch(cidr: string, field: 'ip_src' | 'ip_dst' = 'ip_src') {
  const c = parseCidr(cidr);
  const address = formatIp(4, c.network);
  if (c.prefix === 32) return m(field, address);
  const mask = formatIp(4, (0xffffffffn ^ ((1n << BigInt(32 - c.prefix)) - 1n)));
  return m(field, address, mask);
}

