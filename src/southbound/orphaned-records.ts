/**
 * Records of hosts that say connected although no live member holds their
 * OVSDB session: when this member becomes master of such a host — the member
 * that held it died before it could record the disconnect, or the host went
 * with it — the record is corrected after a grace period (a session of this
 * member may still be identifying itself). Otherwise the host's attachment
 * claims would hold forever (store/bindings.ts refuses others while the holder
 * is connected), and an endpoint would stay down while its port exists
 * elsewhere.
 */
import type { Mastery } from '../cluster/ownership';
import type { Logger } from '../log';
import type { HostRecords } from './host-records';
import type { HostSessions } from './host-sessions';

export class OrphanedRecords {
  private readonly checks = new Map<string, NodeJS.Timeout>();
  private stopped = false;

  constructor(
    private readonly records: HostRecords,
    private readonly sessions: HostSessions,
    private readonly mastery: Mastery,
    private readonly log: Logger,
    private readonly graceMs: number,
  ) {}

  /** Mastery of `hostId` changed: check its record once the grace period is over. */
  check(hostId: string): void {
    if (this.stopped || this.checks.has(hostId) || !this.mastery.isMaster(hostId)) return;
    const timer = setTimeout(() => {
      this.checks.delete(hostId);
      void this.release(hostId).catch((err: Error) => this.log.warn('could not record host disconnect', { host: hostId, error: err.message }));
    }, this.graceMs);
    timer.unref();
    this.checks.set(hostId, timer);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.checks.values()) clearTimeout(t);
    this.checks.clear();
  }

  private async release(hostId: string): Promise<void> {
    const record = this.records.get(hostId);
    if (this.stopped || !record?.ovsdbConnected || !this.mastery.isMaster(hostId)) return;
    // Held here, or a session here has not identified itself yet: not orphaned.
    if ([...this.sessions.of(hostId)].some((s) => !s.closed)) return;
    for (const s of this.sessions) if (!s.closed && s.hostId === undefined && !s.refused) return;
    this.log.warn('host record says connected but no live member holds its OVSDB session: recording it disconnected', { host: hostId, lastMaster: record.master });
    await this.records.write({
      ...record, ovsdbConnected: false, ofConnected: false, status: 'disconnected',
      reason: `OVSDB connected to no live member (last recorded by ${record.master ?? 'none'})`, master: this.mastery.memberId, updatedAt: new Date().toISOString(),
    }, this.mastery.heldKey(hostId));
  }
}
