/**
 * The words of a trace for the features after L2 (compiler/trace.ts says the
 * rest): security groups (which rule of which group admitted a packet, or that
 * none does: "no ingress rule of group db allows tcp/5432 from 10.0.0.5"),
 * routers ("routed by router r1 from 10.1.0.0/24 (network A) to 10.2.0.0/24
 * (network B), ttl 64→63", no route, no neighbour) and floating IPs. Pure:
 * model records and the walk's hops in, sentences out.
 */
import type { FabricHop, FabricSegment, Hop, PacketFields } from '../pipeline/flow-table-walk';
import { ETH_TYPE, IP_PROTO, REG } from '../pipeline/fields';
import { EGRESS_POLICY, EGRESS_POLICY_EVAL, INGRESS_POLICY, INGRESS_POLICY_EVAL, L3, type TableDef } from '../pipeline/tables';
import { cidrContains } from '../store/ipam';
import type { Endpoint, Router, SecurityGroup, SecurityGroupRule } from '../store/model';
import type { Snapshot } from './snapshot';

/** The packet's protocol and destination port in a rule's terms: `tcp/5432`, `udp/53`, `icmp type 8`, `IPv4 protocol 47`. */
export function describeTraffic(p: PacketFields): string {
  const v6 = p.eth_type === ETH_TYPE.IPV6;
  const proto = Number(p.ip_proto ?? 0);
  if (proto === IP_PROTO.TCP) return `tcp/${String(p.tcp_dst ?? 0)}`;
  if (proto === IP_PROTO.UDP) return `udp/${String(p.udp_dst ?? 0)}`;
  if (proto === IP_PROTO.ICMP) return `icmp type ${String(p.icmp_type ?? 0)}`;
  if (proto === IP_PROTO.ICMPV6) return `icmpv6 type ${String(p.icmpv6_type ?? 0)}`;
  return `${v6 ? 'IPv6' : 'IPv4'} protocol ${proto}`;
}

/** A rule in words: `ingress tcp/5432 from 10.0.0.0/24`, `egress any IPv4 to anywhere`, `ingress icmp from group app`. */
export function describeRule(rule: SecurityGroupRule, groups: ReadonlyMap<string, SecurityGroup> | undefined): string {
  const proto = rule.protocol === undefined ? `any ${rule.ethertype}` : typeof rule.protocol === 'number' ? `${rule.ethertype} protocol ${rule.protocol}` : rule.protocol;
  const ports = rule.portMin === undefined ? '' : `/${rule.portMin}${rule.portMax !== undefined && rule.portMax !== rule.portMin ? `-${rule.portMax}` : ''}`;
  const icmp = rule.icmpType === undefined ? '' : ` type ${rule.icmpType}${rule.icmpCode === undefined ? '' : ` code ${rule.icmpCode}`}`;
  const peer = rule.remoteGroup !== undefined ? `group ${groups?.get(rule.remoteGroup)?.name ?? rule.remoteGroup}` : (rule.remoteCidr ?? 'anywhere');
  return `${rule.direction} ${proto}${ports}${icmp} ${rule.direction === 'ingress' ? 'from' : 'to'} ${peer}`;
}

/** "group db" or "groups db, web" (the groups that exist, in the endpoint's order). */
function groupsText(snapshot: Snapshot, e: Endpoint): string {
  const names = e.securityGroups.map((id) => snapshot.securityGroups?.get(id)?.name ?? id);
  return `${names.length === 1 ? 'group' : 'groups'} ${names.join(', ')}`;
}

const nameOf = (e: Endpoint): string => e.name || e.id;

/** The value a flow matched a field on (the port of a policy entry flow), if it did. */
function matchedValue(hop: Hop | undefined, field: string): number | undefined {
  const f = hop?.flow?.match.find((x) => x.field === field);
  return f === undefined ? undefined : Number(f.value);
}

/**
 * Why a packet was dropped in a policy evaluation table of `seg`'s host: the
 * endpoint whose groups were asked (from the entry flow that sent it to
 * conntrack), and what they lack. Undefined when the table is not a policy one.
 */
export function explainPolicyDrop(snapshot: Snapshot, table: TableDef, seg: FabricSegment, original: PacketFields, ports: ReadonlyMap<string, Endpoint>): string | undefined {
  if (table !== EGRESS_POLICY_EVAL && table !== INGRESS_POLICY_EVAL) return undefined;
  const ingress = table === INGRESS_POLICY_EVAL;
  const entry = [...seg.result.hops].reverse().find((h) => h.table === (ingress ? INGRESS_POLICY : EGRESS_POLICY) && h.flow);
  const port = matchedValue(entry, ingress ? REG.OUT_PORT : 'in_port');
  const e = port === undefined ? undefined : ports.get(`${seg.host}/${port}`);
  const last = seg.result.hops[seg.result.hops.length - 1];
  const who = e ? `endpoint ${nameOf(e)}` : `port ${port ?? '?'}`;
  if (last?.flow && last.flow.match.some((x) => x.field === 'ct_state' && (Number(x.value) & 0x10) !== 0)) {
    return `dropped by conntrack on ${seg.host}: the packet is invalid (+inv) for ${who}`;
  }
  const v6 = original.eth_type === ETH_TYPE.IPV6;
  const peer = String((ingress ? (v6 ? original.ipv6_src : original.ip_src) : v6 ? original.ipv6_dst : original.ip_dst) ?? '?');
  const groups = e ? groupsText(snapshot, e) : 'its groups';
  return `dropped by the security groups of ${who} on ${seg.host}: no ${ingress ? 'ingress' : 'egress'} rule of ${groups} allows ${describeTraffic(original)} ${ingress ? 'from' : 'to'} ${peer}`;
}

/** The rules (by id) whose flows passed the packet, in walk order, without repeats. */
export function admittingRules(hops: readonly FabricHop[], ruleOf: (cookie: bigint) => string | undefined): string[] {
  const out: string[] = [];
  for (const h of hops) {
    if (!h.flow || (h.table !== EGRESS_POLICY_EVAL && h.table !== INGRESS_POLICY_EVAL)) continue;
    const text = ruleOf(h.flow.cookie);
    if (text !== undefined && !out.includes(text)) out.push(text);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Routers.

function networkName(snapshot: Snapshot, id: string): string {
  return snapshot.networks.get(id)?.name || id;
}

/** `10.1.0.0/24 (network A)`: the router's subnet holding `ip`. */
function legText(snapshot: Snapshot, router: Router, ip: string): string | undefined {
  const leg = router.interfaces.find((i) => safeContains(i.cidr, ip));
  return leg ? `${leg.cidr} (network ${networkName(snapshot, leg.network)})` : undefined;
}

function safeContains(cidr: string, ip: string): boolean {
  try {
    return cidrContains(cidr, ip);
  } catch {
    return false;
  }
}

/** Every router (the cache's map, or the per-network lists). */
export function routersById(snapshot: Snapshot): Map<string, Router> {
  const out = new Map<string, Router>(snapshot.routers ?? []);
  for (const list of snapshot.routersByNetwork?.values() ?? []) for (const r of list) out.set(r.id, r);
  return out;
}

/** The routers whose flows in table l3 routed the packet, in walk order (a flow matched, not the table miss). */
export function routingHops(hops: readonly FabricHop[], routerOf: (cookie: bigint) => Router | undefined): { hop: FabricHop; router: Router }[] {
  const out: { hop: FabricHop; router: Router }[] = [];
  for (const hop of hops) {
    if (hop.table !== L3 || !hop.flow) continue;
    const router = routerOf(hop.flow.cookie);
    if (router) out.push({ hop, router });
  }
  return out;
}

/** "routed by router r1 from 10.1.0.0/24 (network A) to 10.2.0.0/24 (network B), ttl 64→63". */
export function describeRouting(snapshot: Snapshot, routers: readonly Router[], original: PacketFields): string | undefined {
  if (!routers.length) return undefined;
  const v6 = original.eth_type === ETH_TYPE.IPV6;
  const src = String((v6 ? original.ipv6_src : original.ip_src) ?? '');
  const dst = String((v6 ? original.ipv6_dst : original.ip_dst) ?? '');
  const ttl = Number(original.nw_ttl ?? 64);
  const parts = routers.map((r) => {
    const from = legText(snapshot, r, src) ?? src;
    const to = legText(snapshot, r, dst);
    if (to) return `routed by router ${r.name || r.id} from ${from} to ${to}`;
    const route = r.routes.find((x) => safeContains(x.destination, dst));
    return `routed by router ${r.name || r.id} from ${from} to ${route ? `${route.destination} via next hop ${route.nexthop}` : dst}`;
  });
  return `${parts.join(', then ')}, ${v6 ? 'hop limit' : 'ttl'} ${ttl}→${ttl - routers.length}`;
}

/** Why a routed packet found no neighbour (table l3-neighbor missed): nobody holds the destination address, or its holder is not attached. */
export function explainNoNeighbor(snapshot: Snapshot, router: Router | undefined, seg: FabricSegment, original: PacketFields): string {
  const v6 = original.eth_type === ETH_TYPE.IPV6;
  const dst = String((v6 ? original.ipv6_dst : original.ip_dst) ?? '?');
  const by = router ? `router ${router.name || router.id}` : 'routing';
  const leg = router?.interfaces.find((i) => safeContains(i.cidr, dst));
  const where = leg ? `network ${networkName(snapshot, leg.network)} (${leg.cidr})` : 'the destination network';
  const holder = leg ? (snapshot.endpointsByNetwork.get(leg.network) ?? []).find((e) => e.ips.includes(dst)) : undefined;
  if (holder) return `dropped by ${by} on ${seg.host}: endpoint ${nameOf(holder)} holds ${dst} in ${where} but is not attached (status ${snapshot.bindings.get(holder.id)?.status ?? 'pending'})`;
  return `dropped by ${by} on ${seg.host}: unknown destination: no endpoint of ${where} has address ${dst}`;
}

/** Why a packet sent to a router's MAC was not routed (table l3 missed): no route, or the router is not on the sender's network. */
export function explainNoRoute(snapshot: Snapshot, router: Router, sourceNetwork: string, seg: FabricSegment, original: PacketFields): string {
  const v6 = original.eth_type === ETH_TYPE.IPV6;
  const dst = String((v6 ? original.ipv6_dst : original.ip_dst) ?? '?');
  const name = router.name || router.id;
  if (!router.interfaces.some((i) => i.network === sourceNetwork)) {
    return `dropped by l2 on ${seg.host}: router ${name} has no interface in network ${networkName(snapshot, sourceNetwork)}`;
  }
  const legs = router.interfaces.map((i) => i.cidr).join(', ');
  return `dropped by router ${name} on ${seg.host}: no route to ${dst} (it connects ${legs}${router.routes.length ? `; routes ${router.routes.map((r) => `${r.destination} via ${r.nexthop}`).join(', ')}` : ''})`;
}

/** The router a source endpoint sends off-subnet traffic to: the one holding the gateway of the subnet its address is in. */
export function gatewayRouterOf(snapshot: Snapshot, source: Endpoint, srcIp: string | undefined, dstIp: string | undefined): Router | undefined {
  if (srcIp === undefined || dstIp === undefined) return undefined;
  const subnets = snapshot.subnetsByNetwork.get(source.network) ?? [];
  if (subnets.some((s) => safeContains(s.cidr, dstIp))) return undefined; // on-link: sent straight to the destination's MAC
  return (snapshot.routersByNetwork?.get(source.network) ?? []).find((r) => r.interfaces.some((i) => i.network === source.network && safeContains(i.cidr, srcIp)));
}
