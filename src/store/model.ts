/**
 * Model records stored in etcd (SPEC §3). Values are small JSON objects; ids are
 * strings chosen by the client or generated (UUID v4). Timestamps are ISO 8601.
 */

export interface Tenant {
  readonly id: string;
  readonly name: string;
  readonly createdAt: string;
}

/** The tenant that owns resources created without one. */
export const DEFAULT_TENANT = 'default';

/** One L2 segment spanning hosts; `vni` is its VXLAN id (1..16777215), unique. */
export interface Network {
  readonly id: string;
  readonly name: string;
  readonly tenant: string;
  readonly vni: number;
  /** MTU the workloads should use (default 1450: 1500 minus 50 bytes of VXLAN). */
  readonly mtu: number;
  /** External network (SPEC §3): reaches hosts' bridges through `plexus-bridge-mappings`, not VXLAN. */
  readonly external?: boolean;
  /** The physical network name hosts map to a bridge (`physnet1` in `physnet1:br-ex`); only when external. */
  readonly physicalNetwork?: string;
  /** QoS policy id for endpoints without their own; absent or null: none. */
  readonly qosPolicy?: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface AllocationPool {
  readonly start: string;
  readonly end: string;
}

export interface Route {
  readonly destination: string;
  readonly nexthop: string;
}

export interface Subnet {
  readonly id: string;
  readonly network: string;
  /** Canonical CIDR (network address, e.g. 192.168.200.0/24 or 2001:db8::/64). */
  readonly cidr: string;
  readonly ipVersion: 4 | 6;
  /** Gateway address, reserved; null for a subnet without a router. */
  readonly gateway: string | null;
  readonly allocationPools: readonly AllocationPool[];
  readonly dhcp: boolean;
  readonly dnsServers: readonly string[];
  readonly routes: readonly Route[];
  readonly createdAt: string;
  readonly updatedAt: string;
}

export type EndpointKind = 'vm' | 'container' | 'other';

/** What the API was told about a workload's NIC (intent). */
export interface Endpoint {
  readonly id: string;
  readonly name: string;
  readonly network: string;
  /** Lower-case colon form; generated locally administered unicast when not given. */
  readonly mac: string;
  /** Addresses (no prefix length), one per subnet at most. */
  readonly ips: readonly string[];
  readonly kind: EndpointKind;
  readonly labels: Readonly<Record<string, string>>;
  readonly securityGroups: readonly string[];
  /** QoS policy id; absent or null: the network's, if any. */
  readonly qosPolicy?: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export type EndpointStatus = 'pending' | 'bound' | 'installed' | 'down';

export interface StatusChange {
  readonly status: EndpointStatus;
  readonly at: string;
  readonly host: string | null;
}

/**
 * Where an endpoint is attached, as observed on the hosts (written by the master
 * of the host the interface is on). Kept apart from Endpoint so API writes and
 * southbound writes never conflict.
 */
export interface Binding {
  readonly endpoint: string;
  readonly host: string | null;
  readonly ofport: number | null;
  readonly ifaceName: string | null;
  readonly status: EndpointStatus;
  /** Most recent last; bounded (the last 20 changes). */
  readonly history: readonly StatusChange[];
  readonly updatedAt: string;
}

/** Host readiness: `not-ready` carries the reason (a missing key...); nothing is guessed. */
export type HostStatus = 'ready' | 'configuring' | 'not-ready' | 'disconnected';

/** A host learned over OVSDB (SPEC §2, §3). Keyed by `system-id`. */
export interface HostRecord {
  readonly id: string;
  readonly encapIp: string | null;
  /** br-int's datapath id, 16 hex digits, once OVS reports it. */
  readonly datapathId: string | null;
  readonly datapathType: string;
  readonly ovsVersion: string | null;
  readonly ovsdbConnected: boolean;
  readonly ofConnected: boolean;
  /** Member that masters this host's datapath. */
  readonly master: string | null;
  readonly status: HostStatus;
  readonly reason: string | null;
  /** When the host first connected and when the record last changed (ISO 8601). */
  readonly joinedAt: string;
  readonly updatedAt: string;
  /** The _uuid of the host's Open_vSwitch row: which database holds this identity (absent in records of older versions). */
  readonly ovsdbUuid?: string | null;
  /** Another Open vSwitch claiming this system-id while this one is connected, refused: why (null when none). */
  readonly conflict?: string | null;
}

/** A cluster member (SPEC §5), kept under its lease. */
export interface MemberRecord {
  readonly id: string;
  /** host:port of its REST API (peers hold a heartbeat connection to it). */
  readonly api: string;
  /** OpenFlow controller target hosts should use, e.g. tcp:10.0.0.5:6653. */
  readonly openflow: string;
  readonly ovsdb: string;
  readonly advertise: string;
  /** etcd lease (decimal) its keys live under: peers revoke it when the process is plainly gone. */
  readonly leaseId: string;
  readonly startedAt: string;
  /** The stored form this member reads (stored-form.ts STORED_FORM); absent in records of the previous version. */
  readonly storedForm?: number;
}

// ---------------------------------------------------------------------------
// Routing (SPEC §3 router): kept in one block, apart from the other features.

/** A router's leg on one subnet: the subnet's gateway address is the router's there. */
export interface RouterInterface {
  readonly subnet: string;
  /** The subnet's network (so the compiler needs no subnet lookup to find the VNI). */
  readonly network: string;
  /** The subnet's CIDR (subnets never change it). */
  readonly cidr: string;
  /** Gateway address of the router on this subnet (no prefix length). */
  readonly ip: string;
}

/**
 * A distributed router (SPEC §3, §4 table 40): every host where one of its
 * networks is present routes between its subnets locally, answering for its
 * gateway addresses with `mac` (derived from the id, locally administered).
 */
export interface Router {
  readonly id: string;
  readonly name: string;
  readonly tenant: string;
  readonly mac: string;
  readonly interfaces: readonly RouterInterface[];
  /** Static routes: destination CIDR → next hop inside one of the router's subnets. */
  readonly routes: readonly Route[];
  /** The way out (SPEC §3): an external network; SNAT for the router's subnets unless `snat` is false. */
  readonly externalGateway?: ExternalGateway;
  readonly createdAt: string;
  readonly updatedAt: string;
}

// ---------------------------------------------------------------------------
// External networks (SPEC §3): kept in one block.

export interface ExternalGateway {
  readonly network: string;
  readonly snat: boolean;
  /** The router's address on the external network (claimed in IPAM as router:<id>): the SNAT source. */
  readonly ip: string;
  readonly subnet: string;
}

/** A 1:1 address on an external network for one endpoint's fixed IP (SPEC §3 floating-ip). */
export interface FloatingIp {
  readonly id: string;
  readonly tenant: string;
  /** The external network the address is from. */
  readonly network: string;
  readonly subnet: string;
  readonly address: string;
  /** The endpoint it is assigned to, and which of its IPs, or null when unassigned. */
  readonly endpoint: string | null;
  readonly fixedIp: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/**
 * A neighbour learned on an external network (cf. OVN's MAC_Binding): the MAC
 * an address answered ARP with, seen by the master of `host` through its patch
 * port. The NAT flows send to the external subnet's gateway with this MAC; it
 * is kept in etcd so a restarted or new master compiles the same flows.
 */
export interface MacBinding {
  readonly network: string;
  readonly ip: string;
  readonly mac: string;
  readonly host: string;
  readonly updatedAt: string;
}

// Security policy (SPEC §3): security groups with stateful rules, QoS policies.

export type RuleDirection = 'ingress' | 'egress';
export type RuleEthertype = 'IPv4' | 'IPv6';
/** A protocol by name, or an IP protocol number (0..255); absent = any. */
export type RuleProtocol = 'tcp' | 'udp' | 'icmp' | 'icmpv6' | number;

/**
 * One rule of a security group. Rules only allow; what no rule allows is
 * dropped (ingress) — connections are tracked, so replies and related
 * traffic of an allowed connection pass in both directions.
 */
export interface SecurityGroupRule {
  readonly id: string;
  readonly direction: RuleDirection;
  readonly ethertype: RuleEthertype;
  readonly protocol?: RuleProtocol;
  /** TCP/UDP destination port range (inclusive); absent = every port. */
  readonly portMin?: number;
  readonly portMax?: number;
  /** ICMP/ICMPv6 type and code; absent = any. */
  readonly icmpType?: number;
  readonly icmpCode?: number;
  /** The peer: a CIDR of the rule's family, or the members of a group of the same tenant; neither = anywhere. */
  readonly remoteCidr?: string;
  readonly remoteGroup?: string;
}

export interface SecurityGroup {
  readonly id: string;
  readonly name: string;
  readonly tenant: string;
  readonly description: string;
  readonly rules: readonly SecurityGroupRule[];
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** A rate limit: kbit/s and a burst in kbit (default: a tenth of a second at the rate). */
export interface RateLimit {
  readonly rateKbps: number;
  readonly burstKb: number;
}

/** QoS of an endpoint (or of every endpoint of a network without its own): rate limits and DSCP marking. */
export interface QosPolicy {
  readonly id: string;
  readonly name: string;
  readonly tenant: string;
  /** What the endpoint sends. */
  readonly egress?: RateLimit;
  /** What the endpoint receives. */
  readonly ingress?: RateLimit;
  /** DSCP (0..63) written into the IP header of what the endpoint sends. */
  readonly dscp?: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}
