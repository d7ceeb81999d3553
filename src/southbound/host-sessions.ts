/**
 * The OVSDB sessions of the host manager (host-manager.ts), indexed by the
 * host id each one holds, the id it was refused, and its br-int's datapath id.
 * A pass over one host, a switch connecting or a mastership change looks up
 * that host's sessions here instead of walking every session of the fleet
 * (at 1,000 hosts a walk per pass made every attach cost the fleet).
 */
import type { Backoff } from '../../protocols/common/backoff';
import type { HostLink } from './host-link';
import type { OvsView } from './ovs-view';

/** One OVSDB session and what the host manager knows of it. */
export interface HostSession {
  readonly link: HostLink;
  /** The system-id it holds (set through HostSessions.setHostId). */
  readonly hostId: string | undefined;
  view: OvsView | undefined;
  /** Its br-int's datapath id (set through HostSessions.setDpid). */
  readonly dpid: string | null;
  running: boolean;
  dirty: boolean;
  closed: boolean;
  retry: NodeJS.Timeout | undefined;
  /** Set by the overlay once no flow outputs to per-peer ports of an earlier version. */
  retireLegacyTunnels: boolean;
  /** The Open_vSwitch row _uuid of the database behind this session, once identified. */
  ovsdbUuid: string | undefined;
  /** A system-id this session claims but another connected database holds, and why it was refused (set through setRefused). */
  readonly refused: { readonly hostId: string; readonly reason: string } | undefined;
  /** Failed passes in a row; reset by one that succeeds. */
  readonly backoff: Backoff;
  /** External networks: the last bridge-mapping problems logged (logged again only when they change). */
  mappingProblems?: string;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const NONE: ReadonlySet<HostSession> = new Set();

export class HostSessions {
  private readonly all = new Set<HostSession>();
  private readonly byHost = new Map<string, Set<HostSession>>();
  private readonly byRefused = new Map<string, Set<HostSession>>();
  private readonly byDpid = new Map<string, Set<HostSession>>();

  add(s: HostSession): void {
    this.all.add(s);
    if (s.hostId !== undefined) index(this.byHost, s.hostId, s);
    if (s.refused) index(this.byRefused, s.refused.hostId, s);
    if (s.dpid) index(this.byDpid, s.dpid, s);
  }

  delete(s: HostSession): void {
    this.all.delete(s);
    if (s.hostId !== undefined) unindex(this.byHost, s.hostId, s);
    if (s.refused) unindex(this.byRefused, s.refused.hostId, s);
    if (s.dpid) unindex(this.byDpid, s.dpid, s);
  }

  clear(): void {
    this.all.clear();
    this.byHost.clear();
    this.byRefused.clear();
    this.byDpid.clear();
  }

  [Symbol.iterator](): IterableIterator<HostSession> {
    return this.all.values();
  }

  /** Host ids held by some session: the hosts connected to this member. */
  get hostCount(): number {
    return this.byHost.size;
  }

  /** Sessions holding `hostId`. */
  of(hostId: string): ReadonlySet<HostSession> {
    return this.byHost.get(hostId) ?? NONE;
  }

  /** Sessions refused `hostId`. */
  refusedOf(hostId: string): ReadonlySet<HostSession> {
    return this.byRefused.get(hostId) ?? NONE;
  }

  /** Sessions whose br-int has datapath id `dpid`. */
  onDpid(dpid: string): ReadonlySet<HostSession> {
    return this.byDpid.get(dpid) ?? NONE;
  }

  setHostId(s: HostSession, hostId: string | undefined): void {
    if (s.hostId === hostId) return;
    if (this.all.has(s) && s.hostId !== undefined) unindex(this.byHost, s.hostId, s);
    (s as Mutable<HostSession>).hostId = hostId;
    if (this.all.has(s) && hostId !== undefined) index(this.byHost, hostId, s);
  }

  setRefused(s: HostSession, refused: HostSession['refused']): void {
    if (this.all.has(s) && s.refused) unindex(this.byRefused, s.refused.hostId, s);
    (s as Mutable<HostSession>).refused = refused;
    if (this.all.has(s) && refused) index(this.byRefused, refused.hostId, s);
  }

  setDpid(s: HostSession, dpid: string | null): void {
    if (s.dpid === dpid) return;
    if (this.all.has(s) && s.dpid) unindex(this.byDpid, s.dpid, s);
    (s as Mutable<HostSession>).dpid = dpid;
    if (this.all.has(s) && dpid) index(this.byDpid, dpid, s);
  }
}

function index(map: Map<string, Set<HostSession>>, key: string, s: HostSession): void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(s);
}

function unindex(map: Map<string, Set<HostSession>>, key: string, s: HostSession): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(s);
  if (set.size === 0) map.delete(key);
}
