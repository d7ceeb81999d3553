/**
 * The forwarding pipeline (SPEC §4), declared as data in one place: each table's
 * name, number, purpose, the match fields its flows may use, and what happens to
 * a packet no flow matches. Flows refer to tables by object, never by number.
 *
 *   0 classify ─▶ 10 port-security ─▶ 20 arp-nd-dhcp ─▶ 30 egress-policy ─▶ 40 l3
 *        │ (from tunnel)                                                     │
 *        └──────────────────────────────────────────────▶ 50 l2 ◀───────────┘
 *                                         local ─▶ 60 ingress-policy ─▶ 70 output
 *                                        remote ─▶ tunnel port (tun_id = VNI)
 *                                     broadcast ─▶ local ports + tunnels of the network
 */

export type Miss = { readonly kind: 'drop' } | { readonly kind: 'goto'; readonly table: string };

export interface TableDef {
  readonly name: string;
  readonly id: number;
  readonly purpose: string;
  /** Match fields flows of this table may use (checked when a flow is built). */
  readonly matchFields: ReadonlySet<string>;
  readonly miss: Miss;
}

function table(name: string, id: number, purpose: string, matchFields: readonly string[], miss: Miss): TableDef {
  return { name, id, purpose, matchFields: new Set(matchFields), miss };
}

const drop: Miss = { kind: 'drop' };
const goto = (t: string): Miss => ({ kind: 'goto', table: t });

export const CLASSIFY = table('classify', 0, 'local port → network and flags; tunnel tun_id → network, mark from-tunnel', ['in_port', 'tun_id'], drop);
export const PORT_SECURITY = table(
  'port-security',
  10,
  'drop frames whose source MAC / IP / ARP sender do not belong to the endpoint',
  ['in_port', 'eth_src', 'eth_type', 'ip_src', 'ipv6_src', 'arp_sha', 'arp_spa', 'ip_proto', 'udp_src', 'udp_dst', 'icmpv6_type'],
  drop,
);
export const ARP_ND = table(
  'arp-nd-dhcp',
  20,
  'answer ARP for known addresses in the switch; punt DHCP to the controller',
  ['reg0', 'eth_type', 'arp_op', 'arp_tpa', 'ip_proto', 'udp_src', 'udp_dst', 'icmpv6_type', 'nd_target'],
  goto('egress-policy'),
);
export const EGRESS_POLICY = table('egress-policy', 30, 'security groups, egress direction (conntrack)', ['reg0'], goto('l3'));
export const L3 = table('l3', 40, 'route between subnets at the router gateway MAC (distributed)', ['reg0', 'eth_dst'], goto('l2'));
export const L2 = table(
  'l2',
  50,
  'known local MAC → out port; known remote MAC → tunnel; broadcast → flood in the network',
  ['reg0', 'reg1', 'eth_dst'],
  drop,
);
export const INGRESS_POLICY = table('ingress-policy', 60, 'security groups, ingress direction (conntrack)', ['reg0', 'reg2'], goto('output'));
export const OUTPUT = table('output', 70, 'deliver to the local port chosen in l2', ['reg2'], drop);

/** Every table, in pipeline order. */
export const PIPELINE: readonly TableDef[] = [CLASSIFY, PORT_SECURITY, ARP_ND, EGRESS_POLICY, L3, L2, INGRESS_POLICY, OUTPUT];

export function tableByName(name: string): TableDef {
  const t = PIPELINE.find((x) => x.name === name);
  if (!t) throw new Error(`no pipeline table named ${name}`);
  return t;
}

export function tableById(id: number): TableDef | undefined {
  return PIPELINE.find((x) => x.id === id);
}
