/**
 * Model records stored in etcd (SPEC §3). Values are small JSON objects.
 */

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
}

/** A cluster member (SPEC §5), kept under its lease. */
export interface MemberRecord {
  readonly id: string;
  readonly api: string;
  readonly openflow: string;
  readonly ovsdb: string;
  readonly advertise: string;
  readonly startedAt: string;
}
