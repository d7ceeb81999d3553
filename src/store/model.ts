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
}
