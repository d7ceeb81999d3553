/**
 * OpenFlow connections that completed FEATURES but that the OVSDB view does not
 * vouch for yet (switch-server.ts, issue 18): held, announced to no one and sent
 * nothing, accepted once the view vouches for them, closed if nothing does
 * within `waitMs`.
 */
import { ConnectionError } from '../../protocols/common/errors';
import type { OpenFlowConnection } from '../../protocols/openflow/connection';
import type { Logger } from '../log';
import type { SwitchVoucher } from './switch-server';

interface Held {
  readonly dpid: string;
  readonly conn: OpenFlowConnection;
  readonly address: string | undefined;
  readonly log: Logger;
  readonly timer: NodeJS.Timeout;
  readonly accept: () => void;
  /** Why the view does not vouch for it, as of the last check (for the refusal). */
  reason: string;
}

export class HeldSessions {
  private readonly held = new Set<Held>();

  constructor(private readonly waitMs: number) {}

  /** Datapath ids of the connections held (for tests and logs). */
  get dpids(): string[] {
    return [...this.held].map((h) => h.dpid);
  }

  /** Holds `conn`, claiming `dpid` from `address`; `accept` runs once the view vouches for it. */
  hold(dpid: string, conn: OpenFlowConnection, address: string | undefined, log: Logger, reason: string, accept: () => void): void {
    log.info('holding an OpenFlow connection the OVSDB view does not vouch for', { dpid, reason, waitMs: this.waitMs });
    const h: Held = {
      dpid, conn, address, log, accept, reason,
      timer: setTimeout(() => {
        this.held.delete(h);
        log.warn('refusing an OpenFlow connection the OVSDB view does not vouch for', { dpid, refused: conn.remote, reason: h.reason });
        conn.close(new ConnectionError(`no connected host vouches for datapath ${dpid} from ${conn.remote}: ${h.reason}`));
      }, this.waitMs),
    };
    this.held.add(h);
  }

  /**
   * Asks `voucher` again about the held connections (only those claiming
   * `dpid` when it is given, so a fleet joining at once costs one check per
   * pass, not one per held connection) and accepts those it now vouches for.
   */
  recheck(voucher: SwitchVoucher, dpid?: string): void {
    for (const h of [...this.held]) {
      if (dpid !== undefined && h.dpid !== dpid) continue;
      const why = voucher(h.dpid, h.address);
      if (why !== undefined) {
        h.reason = why;
        continue;
      }
      this.forget(h);
      h.log.info('OVSDB now vouches for the held OpenFlow connection', { dpid: h.dpid });
      h.accept();
    }
  }

  /** `conn` closed: it is no longer held. */
  release(conn: OpenFlowConnection): void {
    for (const h of this.held) if (h.conn === conn) this.forget(h);
  }

  /** Closes every connection held. */
  close(): void {
    for (const h of [...this.held]) {
      this.forget(h);
      h.conn.close();
    }
  }

  private forget(h: Held): void {
    this.held.delete(h);
    clearTimeout(h.timer);
  }
}
