/**
 * Flow cookies identify the object that produced a flow. They are derived from
 * the object's id only — never from a restart counter — so every member, before
 * and after any restart or failover, computes the same cookie for the same flow
 * and a reconcile proves equality instead of rewriting.
 *
 *    63        56 55        48 47                                   0
 *   +------------+------------+--------------------------------------+
 *   |  feature   |  reserved  |  objectId: first 48 bits of SHA-256   |
 *   |  (8 bits)  |  (0)       |  of the owning object's id            |
 *   +------------+------------+--------------------------------------+
 */
import { createHash } from 'node:crypto';

export const FEATURE = {
  /** Table-miss flows of the pipeline skeleton. */
  PIPELINE: 0x01,
  /** Per local endpoint: classify, port security, output. */
  PORT: 0x02,
  /** Per network on a host: tunnel classify, flooding. */
  NETWORK: 0x03,
  /** Per endpoint address: in-switch ARP reply. */
  ARP: 0x04,
  /** Per endpoint: L2 forwarding to its port or its host's tunnel. */
  L2: 0x05,
  /** Per network: DHCP punted to the controller. */
  DHCP: 0x06,
  /** Per router: gateway ARP/ND, routes between its subnets, static routes. */
  ROUTER: 0x07,
  /** Per endpoint address in a routed network: destination IP → MAC. */
  L3_NEIGHBOR: 0x08,
  /** External networks: a patch port's classify, ARP for router gateway / floating addresses there. */
  EXTERNAL: 0x14,
  /** NAT, per router (SNAT, un-SNAT, routes back in) and per floating IP on its endpoint's host (DNAT in, SNAT out). */
  NAT: 0x15,
  /** Security policy, per local endpoint with groups: conntrack entry, neighbor discovery (object: the endpoint). */
  POLICY_PORT: 0x10,
  /** Security policy, per rule: allow, commit, established (object: the rule id, so a trace names the rule). */
  POLICY_RULE: 0x11,
  /** Security policy, per remote group member address (object: the member endpoint). */
  POLICY_MEMBER: 0x12,
  /** QoS, per endpoint: meters, DSCP (object: the endpoint). */
  QOS: 0x13,
} as const;

export type Feature = (typeof FEATURE)[keyof typeof FEATURE];

/** The feature of a cookie by name (`dhcp`, `port`...), or `feature-0x..` for one Plexus does not define. */
export function featureNameOf(cookie: bigint): string {
  const f = Number(cookie >> 56n);
  const name = Object.entries(FEATURE).find(([, v]) => v === f)?.[0];
  return name ? name.toLowerCase() : `feature-0x${f.toString(16)}`;
}

/** The objectId bits of a cookie. */
export const OBJECT_ID_MASK = (1n << 48n) - 1n;

const memo = new Map<string, bigint>();
const MEMO_LIMIT = 500_000;

/** First 48 bits of SHA-256 of the id (memoized: every compile asks again for the same objects). */
export function objectIdOf(id: string): bigint {
  let v = memo.get(id);
  if (v === undefined) {
    v = BigInt(createHash('sha256').update(id).digest().readUIntBE(0, 6));
    if (memo.size >= MEMO_LIMIT) memo.clear();
    memo.set(id, v);
  }
  return v;
}

export function cookie(feature: Feature, objectId: string): bigint {
  return (BigInt(feature) << 56n) | objectIdOf(objectId);
}
