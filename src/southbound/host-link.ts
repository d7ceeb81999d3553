/**
 * What the host manager needs from one host's OVSDB connection: the replicated
 * rows, a change signal, transactions, and close. The OVSDB session library
 * provides it (see ovsdb-listener.ts); tests may provide it over a real
 * ovsdb-server too. Keeping this narrow keeps the planner logic independent of
 * the wire library.
 */
import type { Operation } from '../../protocols/ovsdb/transact';
import type { TableRows } from './ovs-view';

export interface HostLink {
  /** Peer address, for logs and for naming a host that has no system-id yet. */
  readonly remote: string;
  /** The peer's IP address (undefined over a unix socket): an OpenFlow session of this host must come from it (switch-server.ts). */
  readonly remoteAddress?: string;
  /** The replicated rows as they are now (the replica's own maps: read them before the next update, do not keep them). */
  rows(): TableRows;
  /** Called after every replica change (coalesce freely). */
  onChange(listener: () => void): void;
  /** Called once when the connection is gone for good. */
  onClose(listener: (reason: string) => void): void;
  /** Runs one transaction on Open_vSwitch; rejects with a typed error if any operation failed. */
  transact(ops: readonly Operation[]): Promise<void>;
  close(): void;
}
