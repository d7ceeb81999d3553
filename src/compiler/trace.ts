/**
 * Packet trace (SPEC §6 "trace"): a described packet walked through Plexus' own
 * desired flows — the source host's, over the tunnel, the destination host's —
 * table by table (pipeline/flow-table-walk.ts over compiler/fabric.ts). Every
 * hop names its stage, its flow and the object that produced the flow (read
 * from the cookie, pipeline/cookies.ts); the verdict says what happened and why,
 * in words. Pure: the API gives it the model cache and the hosts' tunnel ports,
 * so any member can answer, not only the host's master.
 *
 * The explanations know the features that exist (port security, ARP, DHCP, L2
 * here; security groups, routers and floating IPs in trace-words.ts); a feature
 * added later is still named on every hop through its cookie (`FEATURE` names),
 * and a drop in its table is reported with its stage.
 *
 * The packet is the first of a new connection: each host's walk gets an empty
 * conntrack, so every `ct` finds +trk+new, as `ofproto/trace` assumes without
 * `--ct-next`.
 */
import { PlexusError } from '../../protocols/common/errors';
import type { Action } from '../../protocols/openflow/actions';
import { OFPR } from '../../protocols/openflow/actions';
import { OFPP } from '../../protocols/openflow/constants';
import type { Instruction } from '../../protocols/openflow/instructions';
import type { Match, OxmValue } from '../../protocols/openflow/match';
import { featureNameOf, OBJECT_ID_MASK, objectIdOf } from '../pipeline/cookies';
import { ARP_OP, DHCP_PORT, ETH_TYPE, IP_PROTO, REG } from '../pipeline/fields';
import { walkFabric, type FabricHop, type FabricHost, type FabricResult, type FabricSegment, type PacketFields, type Verdict } from '../pipeline/flow-table-walk';
import { CLASSIFY, L2, L3_NEIGHBOR, PIPELINE, PORT_SECURITY, type TableDef } from '../pipeline/tables';
import { Conntrack } from '../pipeline/walk-conntrack';
import type { Endpoint, Router } from '../store/model';
import { ipv4Of } from './addresses';
import { compileFabric, type FabricMember } from './fabric';
import { placementOf, type Placed, type Snapshot } from './snapshot';
import {
  admittingRules,
  describeRouting,
  describeRule,
  explainNoNeighbor,
  explainNoRoute,
  explainPolicyDrop,
  gatewayRouterOf,
  routersById,
  routingHops,
} from './trace-words';

/** The packet cannot be described (no such endpoint, not attached, no address). */
export class TraceError extends PlexusError {
  override readonly name = 'TraceError';
}

export type TraceProtocol = 'tcp' | 'udp' | 'icmp' | 'arp' | 'dhcp' | 'ip';

/** A packet described by its endpoints; any header may be overridden (a spoofed source, an unknown destination). */
export interface TraceRequest {
  /** Endpoint id the packet is sent from (on its port). */
  readonly from: string;
  /** Endpoint id it is addressed to (its MAC and first IPv4 address). */
  readonly to?: string;
  readonly protocol?: TraceProtocol;
  readonly srcPort?: number;
  readonly dstPort?: number;
  readonly srcMac?: string;
  readonly srcIp?: string;
  readonly dstMac?: string;
  readonly dstIp?: string;
  /** IPv4 TTL (default 64). */
  readonly ttl?: number;
}

/** The object a flow belongs to, from its cookie. */
export interface FlowOwner {
  readonly feature: string;
  /** `security-policy`: the conntrack flows every endpoint with groups shares (invalid, related). */
  readonly kind: 'endpoint' | 'network' | 'router' | 'security-group-rule' | 'security-policy' | 'floating-ip' | 'pipeline' | 'unknown';
  /** The object's id (a rule's id for `security-group-rule`). */
  readonly id?: string;
  /** Its name (for a rule: its group's name; for a floating IP: its address). */
  readonly name?: string;
  /** A security-group rule in words: `ingress tcp/5432 from 10.0.0.0/24`. */
  readonly rule?: string;
}

export interface TraceHop {
  readonly host: string;
  readonly tableId: number;
  readonly table: string;
  readonly stage: string;
  readonly depth: number;
  /** Absent: no flow matched (the packet is dropped there). */
  readonly flow?: { readonly priority: number; readonly match: string; readonly actions: string; readonly cookie: string };
  readonly owner?: FlowOwner;
  /** The hop in words: "port-security: source of endpoint web1". */
  readonly summary: string;
}

export interface TraceArrival {
  readonly host: string;
  readonly kind: 'port' | 'controller';
  readonly port?: number;
  /** The endpoint on that port, if any. */
  readonly endpoint?: { readonly id: string; readonly name: string };
}

/** What one host did with the packet: what `ofproto/trace` on that host must agree with. */
export interface TraceSegment {
  readonly host: string;
  /** The packet as it arrived on that host, in ofproto/trace flow syntax. */
  readonly flow: string;
  readonly verdict: Verdict;
  /** Outputs: `port:N`, `tunnel:N`, `controller:<cookie of the punting flow>`. */
  readonly outputs: readonly string[];
}

export interface TraceResult {
  readonly packet: Readonly<Record<string, string>>;
  readonly verdict: Verdict;
  /** Why, in words. */
  readonly reason: string;
  readonly hops: readonly TraceHop[];
  readonly arrivals: readonly TraceArrival[];
  readonly segments: readonly TraceSegment[];
}

const BROADCAST = 'ff:ff:ff:ff:ff:ff';

/** The packet a request describes, as the walk takes it (ovs-fields names). */
export function describePacket(snapshot: Snapshot, req: TraceRequest): { packet: PacketFields; source: Placed } {
  const source = placedOrThrow(snapshot, req.from, 'source');
  const dest = req.to !== undefined ? findEndpoint(snapshot, req.to) : undefined;
  if (req.to !== undefined && !dest) throw new TraceError(`no endpoint ${JSON.stringify(req.to)}`);
  const srcMac = req.srcMac ?? source.endpoint.mac;
  const srcIp = req.srcIp ?? ipv4Of(source.endpoint.ips)[0];
  const dstIp = req.dstIp ?? (dest ? ipv4Of(dest.ips)[0] : undefined);
  const protocol = req.protocol ?? 'udp';
  const base = { in_port: source.ofport, eth_src: srcMac };
  if (protocol === 'arp') {
    if (!dstIp) throw new TraceError('an ARP request needs a target address: give `to` or `dstIp`');
    return {
      source,
      packet: { ...base, eth_dst: req.dstMac ?? BROADCAST, eth_type: ETH_TYPE.ARP, arp_op: ARP_OP.REQUEST, arp_sha: srcMac, arp_spa: srcIp ?? '0.0.0.0', arp_tha: '00:00:00:00:00:00', arp_tpa: dstIp },
    };
  }
  if (protocol === 'dhcp') {
    return {
      source,
      packet: {
        ...base, eth_dst: req.dstMac ?? BROADCAST, eth_type: ETH_TYPE.IPV4, ip_src: req.srcIp ?? '0.0.0.0', ip_dst: req.dstIp ?? '255.255.255.255',
        ip_proto: IP_PROTO.UDP, nw_ttl: 64, udp_src: DHCP_PORT.CLIENT, udp_dst: DHCP_PORT.SERVER,
      },
    };
  }
  // Off-link destinations go to the gateway's MAC, as the workload's own stack would send them.
  const dstMac = req.dstMac ?? gatewayRouterOf(snapshot, source.endpoint, srcIp, dstIp)?.mac ?? dest?.mac;
  if (!dstMac) throw new TraceError('the packet needs a destination: give `to`, or `dstMac` (and `dstIp`)');
  if (!srcIp || !dstIp) throw new TraceError(`an IPv4 packet needs both addresses (source ${srcIp ?? 'none'}, destination ${dstIp ?? 'none'})`);
  const ip = { ...base, eth_dst: dstMac, eth_type: ETH_TYPE.IPV4, ip_src: srcIp, ip_dst: dstIp, nw_ttl: req.ttl ?? 64 };
  switch (protocol) {
    case 'tcp':
      return { source, packet: { ...ip, ip_proto: IP_PROTO.TCP, tcp_src: req.srcPort ?? 40000, tcp_dst: req.dstPort ?? 80 } };
    case 'udp':
      return { source, packet: { ...ip, ip_proto: IP_PROTO.UDP, udp_src: req.srcPort ?? 40000, udp_dst: req.dstPort ?? 9 } };
    case 'icmp':
      return { source, packet: { ...ip, ip_proto: IP_PROTO.ICMP, icmp_type: 8, icmp_code: 0 } };
    case 'ip':
      return { source, packet: ip };
  }
}

/** Walks the described packet across the hosts and explains every hop and the verdict. */
export function tracePacket(snapshot: Snapshot, members: readonly FabricMember[], req: TraceRequest): TraceResult {
  const { packet, source } = describePacket(snapshot, req);
  if (!members.some((m) => m.context.id === source.host)) throw new TraceError(`host ${source.host} of endpoint ${nameOf(source.endpoint)} is not known to this member (no encap IP yet?)`);
  const fabric = new Map<string, FabricHost>();
  for (const [id, h] of compileFabric(snapshot, members)) fabric.set(id, { ...h, conntrack: new Conntrack() });
  const r = walkFabric(fabric, source.host, packet);
  const owners = indexOwners(snapshot);
  const ports = indexPorts(snapshot);
  const arrivals: TraceArrival[] = r.arrivals.map((a) => {
    const e = a.kind === 'port' ? ports.get(`${a.host}/${a.port}`) : undefined;
    return { host: a.host, kind: a.kind, ...(a.kind === 'port' ? { port: a.port } : {}), ...(e ? { endpoint: { id: e.id, name: nameOf(e) } } : {}) };
  });
  return {
    packet: textOf(packet),
    verdict: r.verdict,
    reason: explainVerdict(snapshot, r, source, packet, owners, ports),
    hops: r.hops.map((h) => describeHop(h, owners)),
    arrivals,
    segments: r.segments.map(describeSegment),
  };
}

// ---------------------------------------------------------------------------
// Objects behind cookies and ports.

function nameOf(e: Endpoint): string {
  return e.name || e.id;
}

function findEndpoint(snapshot: Snapshot, id: string): Endpoint | undefined {
  return allEndpoints(snapshot).find((e) => e.id === id);
}

/** Every endpoint (the cache's per-network maps can only be asked by network). */
function allEndpoints(snapshot: Snapshot): Endpoint[] {
  const out: Endpoint[] = [];
  for (const id of snapshot.networks.keys()) out.push(...(snapshot.endpointsByNetwork.get(id) ?? []));
  return out;
}

function placedOrThrow(snapshot: Snapshot, id: string, role: string): Placed {
  const e = findEndpoint(snapshot, id);
  if (!e) throw new TraceError(`no ${role} endpoint ${JSON.stringify(id)}`);
  const p = placementOf(snapshot, e);
  if (!p) throw new TraceError(`${role} endpoint ${nameOf(e)} is not attached to any host (status ${snapshot.bindings.get(id)?.status ?? 'pending'}): nothing to trace from`);
  return p;
}

type Owners = ReadonlyMap<bigint, Omit<FlowOwner, 'feature'>>;

/**
 * objectId (48 bits) → owner; ARP/ND flows are owned by `<endpoint>/<ip>`,
 * rule flows by the rule id, the shared conntrack flows by `policy`
 * (compiler/policy.ts).
 */
function indexOwners(snapshot: Snapshot): Map<bigint, Omit<FlowOwner, 'feature'>> {
  const out = new Map<bigint, Omit<FlowOwner, 'feature'>>();
  for (const n of snapshot.networks.values()) out.set(objectIdOf(n.id), { kind: 'network', id: n.id, name: n.name || n.id });
  for (const e of allEndpoints(snapshot)) {
    const owner = { kind: 'endpoint' as const, id: e.id, name: nameOf(e) };
    out.set(objectIdOf(e.id), owner);
    for (const ip of e.ips) out.set(objectIdOf(`${e.id}/${ip}`), owner);
  }
  for (const r of routersById(snapshot).values()) out.set(objectIdOf(r.id), { kind: 'router', id: r.id, name: r.name || r.id });
  for (const g of snapshot.securityGroups?.values() ?? []) {
    for (const rule of g.rules) out.set(objectIdOf(rule.id), { kind: 'security-group-rule', id: rule.id, name: g.name || g.id, rule: describeRule(rule, snapshot.securityGroups) });
  }
  out.set(objectIdOf('policy'), { kind: 'security-policy' });
  for (const f of snapshot.floatingIps?.values() ?? []) out.set(objectIdOf(f.id), { kind: 'floating-ip', id: f.id, name: f.address });
  return out;
}

/** `<host>/<ofport>` → the endpoint attached there. */
function indexPorts(snapshot: Snapshot): Map<string, Endpoint> {
  const out = new Map<string, Endpoint>();
  for (const e of allEndpoints(snapshot)) {
    const p = placementOf(snapshot, e);
    if (p) out.set(`${p.host}/${p.ofport}`, e);
  }
  return out;
}

function ownerOf(cookie: bigint, owners: Owners): FlowOwner {
  const feature = featureNameOf(cookie);
  if (feature === 'pipeline') return { feature, kind: 'pipeline' };
  const o = owners.get(cookie & OBJECT_ID_MASK);
  return o ? { feature, ...o } : { feature, kind: 'unknown' };
}

// ---------------------------------------------------------------------------
// Hops.

function describeHop(h: FabricHop, owners: Owners): TraceHop {
  const table = h.table?.name ?? `table ${h.tableId}`;
  const stage = h.table?.stage ?? 'unknown';
  const base = { host: h.host, tableId: h.tableId, table, stage, depth: h.depth };
  if (!h.flow) return { ...base, summary: `${table}: no flow matched: dropped` };
  const owner = ownerOf(h.flow.cookie, owners);
  const flow = { priority: h.flow.priority, match: describeMatch(h.flow.match), actions: describeInstructions(h.flow.instructions), cookie: `0x${h.flow.cookie.toString(16)}` };
  return { ...base, flow, owner, summary: `${table}: ${byWhom(owner)}` };
}

function byWhom(owner: FlowOwner): string {
  switch (owner.kind) {
    case 'pipeline':
      return 'table-miss flow';
    case 'unknown':
      return `${owner.feature} flow`;
    case 'security-group-rule':
      return `rule "${owner.rule}" of group ${owner.name}`;
    case 'security-policy':
      return 'conntrack flow of the security policy';
    default:
      return `${owner.feature} flow of ${owner.kind} ${owner.name}`;
  }
}

function valueText(v: OxmValue, field: string): string {
  if (typeof v === 'number' || typeof v === 'bigint') return /^(reg\d+|tun_id|eth_type|metadata)$/.test(field) ? `0x${v.toString(16)}` : v.toString();
  if (Buffer.isBuffer(v)) return `0x${v.toString('hex')}`;
  return String(v);
}

function describeMatch(match: Match): string {
  return match.map((f) => `${f.field}=${valueText(f.value as OxmValue, f.field)}${f.mask === undefined ? '' : `/${valueText(f.mask as OxmValue, f.field)}`}`).join(',') || '(any)';
}

function describeAction(a: Action): string {
  switch (a.type) {
    case 'output':
      return a.port === OFPP.IN_PORT ? 'in_port' : a.port === OFPP.CONTROLLER ? 'controller' : `output:${a.port}`;
    case 'set_field':
      return `set_field:${valueText(a.value as OxmValue, a.field)}->${a.field}`;
    case 'reg_move':
      return `move:${a.src.field}->${a.dst.field}`;
    case 'resubmit':
      return `resubmit(,${a.table ?? ''})`;
    default:
      return a.type;
  }
}

function describeInstructions(instructions: readonly Instruction[]): string {
  const parts: string[] = [];
  for (const i of instructions) {
    if (i.type === 'apply_actions' || i.type === 'write_actions') parts.push(...i.actions.map(describeAction));
    else if (i.type === 'goto_table') parts.push(`goto_table:${i.tableId}`);
    else parts.push(i.type);
  }
  return parts.join(',') || 'drop';
}

function textOf(packet: PacketFields): Record<string, string> {
  return Object.fromEntries(Object.entries(packet).map(([k, v]) => [k, valueText(v, k === 'eth_type' ? 'eth_type' : k)]));
}

/** The packet in `ovs-appctl ofproto/trace` flow syntax (ovs-fields names are accepted as they are). */
export function ofprotoFlowOf(packet: PacketFields): string {
  return Object.entries(packet).map(([k, v]) => `${k}=${Buffer.isBuffer(v) ? `0x${v.toString('hex')}` : String(v)}`).join(',');
}

function describeSegment(s: FabricSegment): TraceSegment {
  const outputs = s.result.outputs.map((o) => (o.kind === 'controller' ? `controller:0x${o.cookie.toString(16)}` : o.kind === 'tunnel' ? `tunnel:${o.port}` : `port:${o.port}`));
  return { host: s.host, flow: ofprotoFlowOf(s.packet), verdict: s.result.verdict, outputs };
}

// ---------------------------------------------------------------------------
// The verdict in words.

function explainVerdict(
  snapshot: Snapshot,
  r: FabricResult,
  source: Placed,
  packet: PacketFields,
  owners: Owners,
  ports: ReadonlyMap<string, Endpoint>,
): string {
  const from = nameOf(source.endpoint);
  const routers = routersById(snapshot);
  const routerOf = (c: bigint): Router | undefined => {
    const o = ownerOf(c, owners);
    return o.kind === 'router' && o.id !== undefined ? routers.get(o.id) : undefined;
  };
  const routed = routingHops(r.hops, routerOf);
  const delivered = r.arrivals.filter((a) => a.kind === 'port');
  if (delivered.length) {
    const back = delivered.find((a) => a.host === source.host && a.port === source.ofport);
    if (back && packet.eth_type === ETH_TYPE.ARP && back.packet.arp_op === ARP_OP.REPLY) {
      const owner = ownerOf(back.cookie, owners);
      const by = owner.kind === 'router' ? ` (gateway of router ${owner.name})` : owner.kind === 'floating-ip' ? ' (floating IP)' : owner.name ? ` (endpoint ${owner.name})` : '';
      return `ARP request for ${String(packet.arp_tpa)} answered in the switch on ${source.host}: ${String(back.packet.arp_spa)} is at ${String(back.packet.arp_sha)}${by}; nothing crossed a tunnel`;
    }
    const names = delivered.map((a) => {
      const e = ports.get(`${a.host}/${a.port}`);
      return `${e ? `endpoint ${nameOf(e)}` : 'port'} on ${a.host} (port ${a.port})`;
    });
    const crossed = new Set(r.segments.map((s) => s.host)).size > 1;
    const routing = describeRouting(snapshot, routed.map((x) => x.router), packet);
    const rules = admittingRules(r.hops, (c) => {
      const o = ownerOf(c, owners);
      return o.kind === 'security-group-rule' ? `group ${o.name} (${o.rule})` : undefined;
    });
    return `delivered from ${from} to ${names.join(', ')}${routing ? `, ${routing}` : ''}${crossed ? ', over the tunnel' : ''}${rules.length ? `; allowed by ${rules.join(', ')}` : ''}`;
  }
  if (r.arrivals.length) {
    const a = r.arrivals[0]!;
    const owner = ownerOf(a.cookie, owners);
    if (a.kind === 'controller' && a.reason === OFPR.INVALID_TTL) {
      return `TTL expired at ${owner.kind === 'router' ? `router ${owner.name}` : 'a router'} on ${a.host} (ttl ${String(packet.nw_ttl)}): sent to the controller of ${a.host}`;
    }
    const feature = owner.feature;
    if (feature === 'dhcp') return `DHCP request from ${from} sent to the controller of ${a.host}, which answers it from IPAM`;
    if (feature === 'arp') return `neighbor solicitation from ${from} sent to the controller of ${a.host}, which answers it from the model`;
    if (feature === 'router') return `neighbor solicitation for a gateway of router ${owner.name} sent to the controller of ${a.host}, which answers it from the model`;
    if (feature === 'external') return `NATed on ${a.host}, but the external next hop's MAC is not learned yet: sent to the controller of ${a.host}, which sends an ARP request for it (this packet is dropped)`;
    return `sent to the controller of ${a.host} by a ${feature} flow`;
  }
  if (r.lost.length) return `dropped in the tunnel from ${r.lost[0]!.host}: ${r.lost[0]!.reason}`;
  // Dropped: where did the walk stop, on which host?
  const seg = r.segments.find((s) => s.result.verdict === 'dropped') ?? r.segments[0]!;
  const last = [...seg.result.hops].reverse()[0];
  const table = last ? PIPELINE.find((t) => t.id === last.tableId) : undefined;
  const lastRouter = [...routed].reverse().find((x) => x.hop.host === seg.host)?.router;
  const why = table ? explainDrop(snapshot, table, seg, source, packet, ports, lastRouter) : undefined;
  return why ?? `dropped on ${seg.host}${table ? ` in the ${table.stage} stage` : ''}: ${seg.result.reason}`;
}

function explainDrop(
  snapshot: Snapshot,
  table: TableDef,
  seg: FabricSegment,
  source: Placed,
  original: PacketFields,
  ports: ReadonlyMap<string, Endpoint>,
  router: Router | undefined,
): string | undefined {
  const p = seg.packet;
  const fromTunnel = p.tun_id !== undefined && seg.host !== source.host;
  if (table === CLASSIFY) {
    return fromTunnel
      ? `dropped on ${seg.host}: tun_id ${String(p.tun_id)} is no network present on ${seg.host}`
      : `dropped by classify on ${seg.host}: port ${String(p.in_port)} is no endpoint's port`;
  }
  if (table === PORT_SECURITY) {
    const e = ports.get(`${seg.host}/${String(p.in_port)}`) ?? source.endpoint;
    const name = nameOf(e);
    if (String(original.eth_src) !== e.mac) return `dropped by port security: source MAC ${String(original.eth_src)} is not endpoint ${name}'s (${e.mac})`;
    if (original.eth_type === ETH_TYPE.ARP) {
      if (String(original.arp_sha) !== e.mac) return `dropped by port security: ARP sender MAC ${String(original.arp_sha)} is not endpoint ${name}'s (${e.mac})`;
      if (!e.ips.includes(String(original.arp_spa))) return `dropped by port security: ARP sender address ${String(original.arp_spa)} is not endpoint ${name}'s (${e.ips.join(', ') || 'none'})`;
    }
    if (original.eth_type === ETH_TYPE.IPV4 && !e.ips.includes(String(original.ip_src))) {
      return `dropped by port security: source IP ${String(original.ip_src)} is not endpoint ${name}'s (${e.ips.join(', ') || 'none'})`;
    }
    return `dropped by port security: no source rule of endpoint ${name} admits this packet`;
  }
  const policy = explainPolicyDrop(snapshot, table, seg, original, ports);
  if (policy) return policy;
  if (table === L3_NEIGHBOR) return explainNoNeighbor(snapshot, router, seg, original);
  if (table === L2) {
    const vni = Number(p[REG.NETWORK] ?? 0) || undefined;
    const network = [...snapshot.networks.values()].find((n) => n.id === source.endpoint.network);
    const dst = String(original.eth_dst);
    const owner = allEndpoints(snapshot).find((e) => e.mac === dst);
    if (owner && owner.network !== source.endpoint.network) return `dropped by l2: ${dst} is endpoint ${nameOf(owner)}'s, in another network than ${nameOf(source.endpoint)}'s (${network?.name ?? vni})`;
    if (owner) return `dropped by l2: endpoint ${nameOf(owner)} (${dst}) is not attached where this host can reach it (status ${snapshot.bindings.get(owner.id)?.status ?? 'pending'})`;
    // Sent to a router's MAC but table l3 had no route for it (its miss continues in l2).
    const toRouter = router ? undefined : [...routersById(snapshot).values()].find((x) => x.mac === dst);
    if (toRouter) return explainNoRoute(snapshot, toRouter, source.endpoint.network, seg, original);
    if (fromTunnel) return `dropped by l2 on ${seg.host}: no endpoint here has MAC ${dst}`;
    return `unknown destination: no endpoint of network ${network?.name ?? String(vni)} has MAC ${dst}`;
  }
  return undefined;
}
