/**
 * The forwarding pipeline (SPEC §4), declared as data in one place: each table's
 * name, number, stage and purpose, the match fields its flows may use and how
 * each may be masked, its named priorities, the tables its flows may continue
 * to (goto_table, resubmit), and what happens to a packet no flow matches.
 * Flows refer to tables by object, never by number; flow.ts checks every flow
 * against its table's declaration when the flow is built.
 *
 *   0 classify ─▶ 10 port-security ─▶ 20 arp-nd-dhcp ─▶ 30 egress-policy ─▶ 40 l3
 *        │ (from tunnel)                                                     │
 *        │                                          (routed) 45 l3-neighbor ◀─┤
 *        │              (external, compiler/nat.ts) 41 nat-out ─ct─▶ 43 external-out ─▶ patch port
 *        │                 patch port ─▶ 0 ─▶ 20 ─▶ 40 ─▶ 42 nat-in ─ct─▶ 44 nat-in-route ─▶ 45
 *        └──────────────────────────────────────────────▶ 50 l2 ◀───────────┘
 *                                         local ─▶ 60 ingress-policy ─▶ 70 output
 *                                        remote ─▶ plexus-vxlan (tun_id = VNI, tun_dst = host)
 *                                     broadcast ─▶ local ports + tunnels of the network
 *
 * Table names are part of the pipeline flows' cookies (compiler/pipeline.ts):
 * renaming a table changes its table-miss flow on every host.
 */
import { PlexusError } from '../../protocols/common/errors';
import { REG, type FieldName } from './fields';

const REG_ZONE = REG.ZONE;

/** A flow that breaks its table's declaration, or a pipeline declaration that breaks its own rules. */
export class PipelineError extends PlexusError {
  override readonly name = 'PipelineError';
}

/**
 * Where in the packet's journey a table sits (SPEC §4 "stage"): a stage may
 * hold several tables as features grow (conntrack, then rule evaluation).
 */
export const STAGE = {
  CLASSIFY: 'classify',
  PORT_SECURITY: 'port-security',
  NEIGHBOR: 'neighbor',
  EGRESS_POLICY: 'egress-policy',
  ROUTING: 'routing',
  NAT: 'nat',
  SWITCHING: 'switching',
  INGRESS_POLICY: 'ingress-policy',
  OUTPUT: 'output',
} as const;
export type Stage = (typeof STAGE)[keyof typeof STAGE];

/**
 * How a field may be matched in a table:
 * - `exact`: a value, no mask;
 * - `prefix`: a value, or a value under a mask of leading one bits (a CIDR);
 * - `mask`: a value under any mask (register bits, the multicast bit).
 * A field a table does not list may not be matched there at all. A mask that
 * is all ones or all zeros is refused under every policy: Open vSwitch stores
 * it as an exact match or no match, so the flow would never compare equal to
 * what the switch reports back.
 */
export type MaskPolicy = 'exact' | 'prefix' | 'mask';

/** Priority of every table's table-miss flow. */
export const MISS_PRIORITY = 0;

export type Miss = { readonly kind: 'drop' } | { readonly kind: 'goto'; readonly table: TableDef };

export interface TableDef<P extends string = string> {
  readonly name: string;
  readonly id: number;
  readonly stage: Stage;
  readonly purpose: string;
  /** Match fields flows of this table may use, with how each may be masked. */
  readonly matchFields: ReadonlyMap<FieldName, MaskPolicy>;
  /** Named priorities of this table's flows (the table-miss flow is MISS_PRIORITY). */
  readonly priorities: Readonly<Record<P, number>>;
  readonly miss: Miss;
  /** Tables a flow here may goto_table or resubmit to. */
  readonly next: readonly TableDef[];
  /** Ids of `next`, for the check made on every flow. */
  readonly nextIds: ReadonlySet<number>;
}

export interface TableSpec<P extends string> {
  readonly name: string;
  readonly id: number;
  readonly stage: Stage;
  readonly purpose: string;
  readonly matchFields: Readonly<Partial<Record<FieldName, MaskPolicy>>>;
  readonly priorities: Readonly<Record<P, number>>;
  /** 'drop', or the name of the table a missed packet continues in (one of `next`). */
  readonly miss: string;
  readonly next: readonly string[];
}

type Linkable = TableDef & { next: TableDef[]; nextIds: Set<number>; miss: Miss };

/** Declarations waiting for linkPipeline. */
const specs = new WeakMap<TableDef, TableSpec<string>>();

/** A table from its declaration; `linkPipeline` resolves its `next` and `miss`. */
export function declareTable<const P extends string>(spec: TableSpec<P>): TableDef<P> {
  const def = {
    name: spec.name,
    id: spec.id,
    stage: spec.stage,
    purpose: spec.purpose,
    matchFields: new Map(Object.entries(spec.matchFields) as [FieldName, MaskPolicy][]),
    priorities: spec.priorities,
    miss: { kind: 'drop' } as Miss,
    next: [] as TableDef[],
    nextIds: new Set<number>(),
  };
  specs.set(def, spec);
  return def;
}

// Each declaration reads as one row: where the table sits and where its packets
// go (name, id, stage, miss, next), what its flows may match, their priorities,
// and what it is for.

// next arp-nd-dhcp: traffic from an external network's patch port (compiler/nat.ts).
export const CLASSIFY = declareTable({
  name: 'classify', id: 0, stage: STAGE.CLASSIFY, miss: 'drop', next: ['port-security', 'arp-nd-dhcp', 'l2'],
  matchFields: { in_port: 'exact', tun_src: 'exact', tun_id: 'exact' },
  priorities: { port: 100, tunnel: 90 },
  purpose: 'local port → network and flags; tunnel tun_src + tun_id (which host, which network) → network, mark from-tunnel',
});

export const PORT_SECURITY = declareTable({
  name: 'port-security', id: 10, stage: STAGE.PORT_SECURITY, miss: 'drop', next: ['arp-nd-dhcp'],
  matchFields: {
    in_port: 'exact', eth_src: 'exact', eth_type: 'exact', ip_src: 'exact', ipv6_src: 'exact', arp_sha: 'exact', arp_spa: 'exact',
    ip_proto: 'exact', udp_src: 'exact', udp_dst: 'exact', icmpv6_type: 'exact',
  },
  priorities: { 'endpoint-source': 100 },
  purpose: 'drop frames whose source MAC / IP / ARP sender do not belong to the endpoint',
});

// neighbor-learn: an external next hop's ARP reply, punted so its MAC is learned (compiler/nat.ts).
export const ARP_ND = declareTable({
  name: 'arp-nd-dhcp', id: 20, stage: STAGE.NEIGHBOR, miss: 'egress-policy', next: ['egress-policy'],
  matchFields: {
    reg0: 'exact', eth_type: 'exact', arp_op: 'exact', arp_tpa: 'exact', ip_proto: 'exact', udp_src: 'exact', udp_dst: 'exact',
    icmpv6_type: 'exact', nd_target: 'exact', arp_spa: 'exact',
  },
  priorities: { 'arp-reply': 100, 'nd-punt': 100, 'dhcp-punt': 100, 'neighbor-learn': 100 },
  purpose: 'answer ARP for known addresses in the switch; punt ND and DHCP to the controller',
});

/**
 * Rule evaluation after conntrack (compiler/policy.ts): invalid dropped;
 * established and related pass while the rule that admitted the connection
 * (its id in ct_mark) still applies; new connections pass, committed with the
 * rule's mark, when a rule allows them (remote groups as conjunctive matches);
 * everything else is dropped.
 */
const POLICY_EVAL_PRIORITIES = { invalid: 200, established: 190, related: 180, 'remote-group': 100, rule: 90 } as const;

/** What tells the egress policy tables from the ingress ones. */
interface PolicyDirection {
  readonly direction: 'egress' | 'ingress';
  /** The first table's id; its rule-evaluation table is the next id. */
  readonly id: number;
  readonly stage: Stage;
  /** The field naming the local endpoint: the port a packet came in on (egress), the port l2 chose (ingress). */
  readonly endpoint: 'in_port' | 'reg2';
  /** The remote side a rule names by address: the destination (egress), the source (ingress). */
  readonly remote: 'dst' | 'src';
  /** The table packets go on to when the policy lets them through. */
  readonly then: string;
}

/**
 * Security groups take two tables in each direction, the same but for the
 * fields of `PolicyDirection`: `<direction>-policy` sends IP of a local
 * endpoint with groups to conntrack in its zone (ND passes, packets of other
 * endpoints go on), `<direction>-policy-eval` applies the rules to what comes back.
 */
function declarePolicyTables({ direction, id, stage, endpoint, remote, then }: PolicyDirection) {
  const name = `${direction}-policy`;
  const side = direction === 'egress' ? 'from' : 'to';
  return [
    declareTable({
      name, id, stage, miss: then, next: [`${name}-eval`, then],
      matchFields: { [endpoint]: 'exact', eth_type: 'exact', ip_proto: 'exact', icmpv6_type: 'exact' },
      priorities: { nd: 110, track: 100 },
      purpose: `security groups, ${direction}: IP ${side} a local endpoint with groups → conntrack in its zone; ND passes; others go on`,
    }),
    declareTable({
      name: `${name}-eval`, id: id + 1, stage, miss: 'drop', next: [then],
      matchFields: {
        reg0: 'exact', [REG_ZONE]: 'exact', ct_state: 'mask', ct_mark: 'exact', conj_id: 'exact', eth_type: 'exact', ip_proto: 'exact',
        [`ip_${remote}`]: 'prefix', [`ipv6_${remote}`]: 'prefix', tcp_dst: 'mask', udp_dst: 'mask',
        icmp_type: 'exact', icmp_code: 'exact', icmpv6_type: 'exact', icmpv6_code: 'exact',
      },
      priorities: POLICY_EVAL_PRIORITIES,
      purpose: `security group ${direction} rules on tracked packets of the endpoint in reg6`,
    }),
  ] as const;
}

export const [EGRESS_POLICY, EGRESS_POLICY_EVAL] = declarePolicyTables({
  direction: 'egress', id: 30, stage: STAGE.EGRESS_POLICY, endpoint: 'in_port', remote: 'dst', then: 'l3',
});

/**
 * Routing priorities: longest prefix first, and a router's own subnet before
 * a static route of the same length: `connected-<len>` = 1000 + 2·len + 1,
 * `static-<len>` = 1000 + 2·len (len 0..128); `external` (999) = what no route
 * takes, to the router's external gateway (and what comes in at its external MAC).
 */
function routePriorities(): Record<string, number> {
  // external: to and from a router's external gateway (compiler/nat.ts), below every route.
  const out: Record<string, number> = { external: 999 };
  for (let len = 0; len <= 128; len++) {
    out[`connected-${len}`] = 1000 + 2 * len + 1;
    out[`static-${len}`] = 1000 + 2 * len;
  }
  return out;
}

export const L3 = declareTable({
  name: 'l3', id: 40, stage: STAGE.ROUTING, miss: 'l2', next: ['nat-out', 'nat-in', 'l3-neighbor', 'l2'],
  matchFields: { reg0: 'exact', eth_dst: 'exact', eth_type: 'exact', ip_dst: 'prefix', ipv6_dst: 'prefix' },
  priorities: routePriorities(),
  purpose: 'route between subnets at the router gateway MAC (distributed): TTL, source MAC, destination network',
});

/**
 * NAT on the endpoint's host (compiler/nat.ts), IPv4: each router with an
 * external gateway has one conntrack zone there (natZoneOf: 0xff00..0xffff,
 * above every OpenFlow port number, so never a security-group zone).
 */
export const NAT_OUT = declareTable({
  name: 'nat-out', id: 41, stage: STAGE.NAT, miss: 'drop', next: ['external-out'],
  matchFields: { reg0: 'exact', eth_type: 'exact', ip_src: 'prefix' },
  priorities: { 'floating-ip': 200, snat: 100 },
  purpose: 'to the outside: source NAT to the floating IP of the source, or to the router\'s gateway address (conntrack commit in the router\'s zone)',
});

export const NAT_IN = declareTable({
  name: 'nat-in', id: 42, stage: STAGE.NAT, miss: 'drop', next: ['nat-in-route'],
  matchFields: { reg0: 'exact', eth_type: 'exact', ip_dst: 'exact' },
  priorities: { 'floating-ip': 200, 'snat-reply': 100 },
  purpose: 'from the outside at a router\'s external MAC: a floating IP → its fixed IP (DNAT), replies to the gateway address un-NATed (conntrack)',
});

export const EXTERNAL_OUT = declareTable({
  name: 'external-out', id: 43, stage: STAGE.NAT, miss: 'drop', next: [],
  matchFields: { reg0: 'exact' },
  priorities: { 'next-hop': 100 },
  purpose: 'NATed packets to the external network\'s next hop (its subnet\'s gateway): its learned MAC, out the patch port; MAC not learned yet → controller (ARP)',
});

export const NAT_IN_ROUTE = declareTable({
  name: 'nat-in-route', id: 44, stage: STAGE.NAT, miss: 'drop', next: ['l3-neighbor'],
  matchFields: { [REG.ROUTER]: 'exact', eth_type: 'exact', ip_dst: 'prefix' },
  priorities: { connected: 100 },
  purpose: 'un-NATed packets from the outside: the router (reg3) and the subnet of the fixed IP → TTL, router MAC, destination network',
});

export const L3_NEIGHBOR = declareTable({
  name: 'l3-neighbor', id: 45, stage: STAGE.ROUTING, miss: 'drop', next: ['l2'],
  matchFields: { reg0: 'exact', eth_type: 'exact', ip_dst: 'exact', ipv6_dst: 'exact' },
  priorities: { 'endpoint-ip': 100 },
  purpose: 'routed packets: destination IP → the endpoint\'s MAC in the destination network (no ARP from the router)',
});

export const L2 = declareTable({
  name: 'l2', id: 50, stage: STAGE.SWITCHING, miss: 'drop', next: ['ingress-policy'],
  matchFields: { reg0: 'exact', reg1: 'mask', eth_dst: 'mask' },
  priorities: { 'endpoint-mac': 100, 'flood-from-tunnel': 60, 'flood-local': 50 },
  purpose: 'known local MAC → out port; known remote MAC → tunnel; broadcast → flood in the network',
});

export const [INGRESS_POLICY, INGRESS_POLICY_EVAL] = declarePolicyTables({
  direction: 'ingress', id: 60, stage: STAGE.INGRESS_POLICY, endpoint: 'reg2', remote: 'src', then: 'output',
});

export const OUTPUT = declareTable({
  name: 'output', id: 70, stage: STAGE.OUTPUT, miss: 'drop', next: [],
  matchFields: { reg2: 'exact' },
  priorities: { port: 100 },
  purpose: 'deliver to the local port chosen in l2',
});

/**
 * Resolves `next` and `miss` to table objects and checks the declaration: ids
 * 0..253, unique and ascending, names unique, every named table declared,
 * continuing only forward (OpenFlow 1.3.5 §5.9: goto_table must name a later
 * table; resubmits obey the same rule, so no packet can loop), the miss target
 * among `next`, priorities above the miss priority.
 */
export function linkPipeline(tables: readonly TableDef[]): readonly TableDef[] {
  const byName = new Map<string, TableDef>();
  tables.forEach((def, i) => {
    if (byName.has(def.name)) throw new PipelineError(`pipeline declares table ${def.name} twice`);
    if (!Number.isInteger(def.id) || def.id < 0 || def.id > 253) throw new PipelineError(`table ${def.name}: id ${def.id} is not 0..253`);
    const previous = tables[i - 1];
    if (previous && def.id <= previous.id) throw new PipelineError(`table ${def.name} (${def.id}) must come after ${previous.name} (${previous.id})`);
    byName.set(def.name, def);
  });
  for (const t of tables) {
    const def = t as Linkable;
    const spec = specs.get(t);
    if (!spec) throw new PipelineError(`table ${t.name} was not made by declareTable, or is already in a pipeline`);
    specs.delete(t);
    for (const name of spec.next) {
      const target = byName.get(name);
      if (!target) throw new PipelineError(`table ${def.name} continues to ${name}, which the pipeline does not declare`);
      if (target.id <= def.id) throw new PipelineError(`table ${def.name} continues to ${name}: a table may only continue to a later one`);
      def.next.push(target);
      def.nextIds.add(target.id);
    }
    if (spec.miss !== 'drop') {
      const target = byName.get(spec.miss);
      if (!target || !def.nextIds.has(target.id)) throw new PipelineError(`table ${def.name} misses to ${spec.miss}, which is not one of its next tables`);
      def.miss = { kind: 'goto', table: target };
    }
    for (const [name, priority] of Object.entries(def.priorities)) {
      if (!Number.isInteger(priority) || priority <= MISS_PRIORITY || priority > 0xffff) {
        throw new PipelineError(`table ${def.name}: priority ${name} = ${priority} must be in ${MISS_PRIORITY + 1}..65535`);
      }
    }
  }
  return tables;
}

/** Every table, in pipeline order. */
export const PIPELINE: readonly TableDef[] = linkPipeline([CLASSIFY, PORT_SECURITY, ARP_ND, EGRESS_POLICY, EGRESS_POLICY_EVAL, L3, NAT_OUT, NAT_IN, EXTERNAL_OUT, NAT_IN_ROUTE, L3_NEIGHBOR, L2, INGRESS_POLICY, INGRESS_POLICY_EVAL, OUTPUT]);
