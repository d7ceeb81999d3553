/**
 * Switch roles: mastership (cluster/ownership.ts) → OpenFlow ROLE_REQUEST.
 * Each host's switch session is made to match who masters the host: the
 * master claims MASTER with the generation id of its master key (etcd mod
 * revision; the switch refuses a smaller one, so a stale master is fenced off
 * by the switch itself) and only then programs flows; every other member is
 * SLAVE and programs nothing. Role changes of one switch are applied one at a
 * time, in order.
 *
 * Per host:  no-switch ──conn──▶ claiming ──reply──▶ master
 *                 ▲                  └──(not master)──▶ slave ◀──▶ claiming
 *                 └───────── switch down / replaced ─────────┘
 */
import { EventEmitter } from 'node:events';
import type { OpenFlowConnection } from '../../protocols/openflow/connection';
import { OFPCR_ROLE } from '../../protocols/openflow/constants';
import type { Mastery } from '../cluster/ownership';
import type { Logger } from '../log';
import type { SwitchEvent, SwitchServer } from '../southbound/switch-server';

export type SwitchRoleState = 'no-switch' | 'claiming' | 'master' | 'slave';

export interface SwitchRolesEvents {
  /** The switch accepted this member as MASTER: program it now. */
  master: [hostId: string, conn: OpenFlowConnection];
  /** Stop programming through `conn` (this member became SLAVE, or the switch left or reconnected). */
  detached: [hostId: string, conn: OpenFlowConnection];
}

interface HostSwitch {
  state: SwitchRoleState;
  dpid: string | null;
  /** The switch's current ready connection to this member, whatever its role. */
  conn: OpenFlowConnection | undefined;
  /** Role changes are applied one at a time, in order. */
  chain: Promise<void>;
  /** Highest generation id sent to this switch (a slave must not send less than the master did). */
  generation: bigint;
  /** The connection `master` was emitted for and not yet `detached`: a repeated claim (a new generation) programs nothing again. */
  programming: OpenFlowConnection | undefined;
}

export class SwitchRoles extends EventEmitter<SwitchRolesEvents> {
  private readonly hosts = new Map<string, HostSwitch>();
  private readonly byDpid = new Map<string, string>();

  constructor(
    private readonly switches: SwitchServer,
    private readonly mastery: Mastery,
    private readonly log: Logger,
  ) {
    super();
    mastery.on('changed', (hostId) => {
      const h = this.hosts.get(hostId);
      if (h) this.applyRole(hostId, h);
    });
    switches.on('switch', (e) => this.onSwitch(e));
  }

  /** The host behind a datapath and its current connection (packet-ins name the datapath). */
  switchOf(dpid: string): { readonly hostId: string; readonly conn: OpenFlowConnection | undefined } | undefined {
    const hostId = this.byDpid.get(dpid);
    return hostId === undefined ? undefined : { hostId, conn: this.hosts.get(hostId)?.conn };
  }

  stateOf(hostId: string): SwitchRoleState {
    return this.hosts.get(hostId)?.state ?? 'no-switch';
  }

  /** The datapath id of a host's br-int, from its OVSDB view. */
  observeDatapath(hostId: string, dpid: string | null): void {
    let h = this.hosts.get(hostId);
    if (!h) this.hosts.set(hostId, (h = { state: 'no-switch', dpid: null, conn: undefined, chain: Promise.resolve(), generation: 0n, programming: undefined }));
    if (dpid === h.dpid) return;
    if (h.dpid) this.byDpid.delete(h.dpid);
    h.dpid = dpid;
    if (dpid) this.byDpid.set(dpid, hostId);
    const conn = dpid ? this.switches.connection(dpid) : undefined;
    if (conn && conn.currentState === 'ready') this.attachSwitch(hostId, h, conn);
  }

  private onSwitch(e: SwitchEvent): void {
    if (e.kind === 'message') return;
    for (const [hostId, h] of this.hosts) {
      if (h.dpid !== e.dpid) continue;
      if (e.kind === 'up') this.attachSwitch(hostId, h, e.conn);
      else if (h.conn) {
        const conn = h.conn;
        h.conn = undefined;
        this.setState(hostId, h, 'no-switch', { reason: e.reason });
        this.detach(hostId, h, conn);
      }
    }
  }

  private attachSwitch(hostId: string, h: HostSwitch, conn: OpenFlowConnection): void {
    if (h.conn === conn) return;
    const previous = h.conn;
    h.conn = conn;
    if (previous) this.detach(hostId, h, previous);
    this.applyRole(hostId, h);
  }

  private detach(hostId: string, h: HostSwitch, conn: OpenFlowConnection): void {
    if (h.programming === conn) h.programming = undefined;
    this.emit('detached', hostId, conn);
  }

  private setState(hostId: string, h: HostSwitch, next: SwitchRoleState, fields: Record<string, unknown> = {}): void {
    if (h.state === next) return;
    const level = next === 'master' ? 'info' : 'debug';
    if (level === 'debug' && !this.log.isDebugEnabled()) {
      h.state = next;
      return;
    }
    this.log[level](next === 'master' ? 'master of switch' : 'switch role state', { host: hostId, from: h.state, to: next, generation: h.generation.toString(), ...fields });
    h.state = next;
  }

  /**
   * Makes the switch session match mastership: the master claims the MASTER role
   * with its generation id (the switch refuses a stale one) and only then
   * programs flows; everyone else is SLAVE and programs nothing.
   */
  private applyRole(hostId: string, h: HostSwitch): void {
    h.chain = h.chain.then(async () => {
      const conn = h.conn;
      if (!conn || !conn.isOpen) return;
      const isMaster = this.mastery.isMaster(hostId);
      const known = this.mastery.masterOf(hostId)?.generation;
      if (known !== undefined && known > h.generation) h.generation = known;
      try {
        if (isMaster) {
          this.setState(hostId, h, 'claiming');
          await conn.request({ type: 'role_request', role: OFPCR_ROLE.MASTER, generationId: h.generation });
          if (h.conn !== conn || !this.mastery.isMaster(hostId)) return;
          this.setState(hostId, h, 'master');
          // Still master on the same connection (only the generation moved): the switch kept
          // every flow, nothing to read back or rebind.
          if (h.programming === conn) return;
          h.programming = conn;
          this.emit('master', hostId, conn);
        } else {
          this.detach(hostId, h, conn);
          this.setState(hostId, h, 'slave');
          await conn.request({ type: 'role_request', role: OFPCR_ROLE.SLAVE, generationId: h.generation });
        }
      } catch (err) {
        this.log.warn('switch refused the role change', { host: hostId, master: isMaster, generation: h.generation.toString(), error: (err as Error).message });
      }
    });
  }
}
