/**
 * Interface write-back (SPEC §2), master only: what Plexus tells a host's
 * workload interfaces through their external_ids —
 *   plexus-endpoint  the endpoint it bound the interface to (the id it derived for an ovs-docker port)
 *   plexus-mac       the MAC it allocated, when the interface gave none
 *   plexus-error     why it cannot bind the interface (removed once bound)
 * and the removal of plexus-installed (+ -ts) once the endpoint is deleted or
 * moved to another host. The marks are planned by
 * southbound/host-plan.ts#planInterfaceMarks from the host's view, the model
 * cache and the attachment observer's refused claims; a host already marked
 * right plans nothing, so a restarted or new master writes nothing.
 */
import type { Mastery } from '../cluster/ownership';
import type { ClaimProblem } from './attachment-observer';
import type { Logger } from '../log';
import type { ModelCache, ModelChange } from '../store/model-cache';
import { readUnbindable, type Attachment } from '../southbound/attachments';
import type { HostLink } from '../southbound/host-link';
import { ENDPOINT_KEY, ERROR_KEY, INSTALLED_KEY, INSTALLED_TS_KEY, MAC_KEY, planInterfaceMarks, type DesiredInterfaceMarks } from '../southbound/host-plan';
import type { OvsView } from '../southbound/ovs-view';
import type { Operation } from '../../protocols/ovsdb/transact';

export interface InterfaceMarksDeps {
  readonly cache: ModelCache;
  readonly mastery: Mastery;
  /** The host's attachments as the observer read them. */
  readonly attachmentsOf: (hostId: string) => ReadonlyMap<string, Attachment>;
  /** Hosts whose view shows the endpoint attached (the observer's reverse index). */
  readonly hostsAttaching: (endpointId: string) => Iterable<string>;
  /** Why the observer could not bind a claim (attachment-observer.ts `problemOf`). */
  readonly problemOf: (hostId: string, endpointId: string) => ClaimProblem | undefined;
  /** plexus-installed was removed from the endpoint's interface: the installed marker may write it again later. */
  readonly unmarked: (hostId: string, endpointId: string) => void;
  readonly log: Logger;
  /** How long an interface naming an endpoint that does not exist waits before it gets plexus-error (default 3 s: the API may be creating it). */
  readonly missingEndpointGraceMs?: number;
  /**
   * How long a claim refused because another host holds the endpoint waits
   * before it gets plexus-error (default 1.5 s: a migration's source lets go
   * right after the target turns active).
   */
  readonly takenGraceMs?: number;
}

interface MarkedHost {
  link: HostLink;
  view: OvsView;
  /**
   * The attachments as the last plan saw them; a new view re-plans only those
   * that are not the same objects (attachments.ts keeps unchanged ones).
   * Undefined: the next plan covers every attachment (never planned, or not
   * master meanwhile).
   */
  planned: ReadonlyMap<string, Attachment> | undefined;
  /** The transaction in flight (its operations, as JSON), so the same one is not sent twice before the view shows it. */
  inFlight: string | undefined;
  /** When each attachment naming a missing endpoint was first seen. */
  readonly missingSince: Map<string, number>;
  timer: NodeJS.Timeout | undefined;
}

const RETRY_MS = 1000;

export class InterfaceMarks {
  private readonly hosts = new Map<string, MarkedHost>();
  private stopped = false;

  constructor(private readonly deps: InterfaceMarksDeps) {}

  /**
   * A new view of the host (after the attachment observer read it): plans the
   * attachments that changed since the last plan, and the unbindable
   * interfaces when any interface, port or bridge changed.
   */
  observe(hostId: string, view: OvsView, link: HostLink): void {
    const h = this.hosts.get(hostId);
    if (!h) {
      this.hosts.set(hostId, { link, view, planned: undefined, inFlight: undefined, missingSince: new Map(), timer: undefined });
      return this.write(hostId);
    }
    const was = h.view;
    Object.assign(h, { view, link });
    const interfacesMoved = view.root !== was.root || view.bridges !== was.bridges || view.ports !== was.ports || view.interfaces !== was.interfaces;
    this.writeSome(hostId, [], interfacesMoved);
  }

  /** Re-plans the hosts whose attachments the model change touches. */
  applyModelChange({ networks, endpoints, statuses }: ModelChange): void {
    if (networks.size > 0) {
      for (const hostId of this.hosts.keys()) this.write(hostId);
      return;
    }
    // Only the touched endpoints of the hosts showing them, not every host (or every attachment) per batch.
    const touched = new Map<string, string[]>();
    for (const id of [...endpoints.keys(), ...statuses]) {
      for (const hostId of this.deps.hostsAttaching(id)) {
        const ids = touched.get(hostId);
        if (ids) ids.push(id);
        else touched.set(hostId, [id]);
      }
    }
    for (const [hostId, ids] of touched) if (this.hosts.has(hostId)) this.writeSome(hostId, ids, false);
  }

  stop(): void {
    this.stopped = true;
    for (const h of this.hosts.values()) clearTimeout(h.timer);
  }

  /** Plans the host's marks and, as its master, writes what differs (one transaction). */
  write(hostId: string): void {
    this.writeSome(hostId, undefined, true);
  }

  /**
   * {@link write} of the attachments `only` names and those that are not the
   * objects the last plan saw (every one when `only` is undefined, or when the
   * host was not planned as master since), with the unbindable interfaces if
   * `unbindable`. The marks of one attachment depend on it, its endpoint,
   * binding and problem alone, so planning those that changed gives what
   * planning all would.
   */
  private writeSome(hostId: string, only: readonly string[] | undefined, unbindable: boolean): void {
    const h = this.hosts.get(hostId);
    if (!h) return;
    if (this.stopped || !this.deps.mastery.isMaster(hostId)) {
      h.planned = undefined;
      return;
    }
    const full = only === undefined || h.planned === undefined;
    const ops = this.plan(hostId, h, Date.now(), full ? undefined : [...only!, ...changedSince(h.planned!, this.deps.attachmentsOf(hostId))], full || unbindable);
    if (!ops.length) return;
    const key = JSON.stringify(ops);
    if (h.inFlight === key) return;
    h.inFlight = key;
    h.link.transact(ops).then(
      () => {
        if (h.inFlight === key) h.inFlight = undefined;
        if (this.deps.log.isDebugEnabled()) this.deps.log.debug('interface marks written', { host: hostId, operations: ops.length });
      },
      (err: Error) => {
        this.deps.log.warn('cannot write interface marks; will retry', { host: hostId, error: err.message, delayMs: RETRY_MS });
        if (h.inFlight === key) h.inFlight = undefined;
        this.later(hostId, h, RETRY_MS);
      },
    );
  }

  private plan(hostId: string, h: MarkedHost, nowMs: number, only: readonly string[] | undefined, unbindable: boolean): Operation[] {
    const attached = this.deps.attachmentsOf(hostId);
    const ops: Operation[] = [];
    if (only === undefined) for (const a of attached.values()) ops.push(...planInterfaceMarks(a, this.marksOf(hostId, h, a, nowMs)));
    else {
      for (const id of only.length > 1 ? new Set(only) : only) {
        const a = attached.get(id);
        if (a) ops.push(...planInterfaceMarks(a, this.marksOf(hostId, h, a, nowMs)));
      }
    }
    if (unbindable) for (const u of readUnbindable(h.view, attached)) ops.push(...planInterfaceMarks(u, { [ERROR_KEY]: u.reason }));
    for (const id of h.missingSince.keys()) if (!attached.has(id)) h.missingSince.delete(id);
    h.planned = attached;
    return ops;
  }

  /** What one attachment's interface should carry. */
  private marksOf(hostId: string, h: MarkedHost, a: Attachment, nowMs: number): DesiredInterfaceMarks {
    const { cache } = this.deps;
    const endpoint = cache.endpoint(a.endpointId);
    const binding = cache.bindings.get(a.endpointId);
    const unmark = (): DesiredInterfaceMarks => {
      if (!a.installedMark) return {};
      this.deps.unmarked(hostId, a.endpointId);
      return { [INSTALLED_KEY]: null, [INSTALLED_TS_KEY]: null };
    };
    if (!a.active) return { [ERROR_KEY]: null };
    const problem = this.problemShown(hostId, h, a.endpointId, nowMs);
    if (!endpoint) {
      if (problem) return { ...unmark(), [ERROR_KEY]: problem };
      if (a.network) return unmark(); // being created from plexus-network
      const since = h.missingSince.get(a.endpointId) ?? nowMs;
      h.missingSince.set(a.endpointId, since);
      const graceMs = this.deps.missingEndpointGraceMs ?? 3000;
      if (nowMs - since < graceMs) {
        this.later(hostId, h, graceMs - (nowMs - since));
        return unmark();
      }
      return { ...unmark(), [ERROR_KEY]: `endpoint ${a.endpointId} does not exist: create it through the API, or set external_ids:plexus-network to have it created` };
    }
    h.missingSince.delete(a.endpointId);
    if (problem) return { [ERROR_KEY]: problem };
    if (binding?.host !== hostId || binding.status === 'down') return binding?.host && binding.host !== hostId ? unmark() : {};
    return { [ERROR_KEY]: null, [ENDPOINT_KEY]: a.endpointId, ...(a.mac ? {} : { [MAC_KEY]: endpoint.mac }) };
  }

  /** The observer's reason, once it is worth showing (a taken claim after its grace). */
  private problemShown(hostId: string, h: MarkedHost, endpointId: string, nowMs: number): string | undefined {
    const p = this.deps.problemOf(hostId, endpointId);
    if (!p?.taken) return p?.reason;
    const graceMs = this.deps.takenGraceMs ?? 1500;
    if (nowMs - p.sinceMs >= graceMs) return p.reason;
    this.later(hostId, h, graceMs - (nowMs - p.sinceMs));
    return undefined;
  }

  private later(hostId: string, h: MarkedHost, delayMs: number): void {
    if (h.timer || this.stopped) return;
    h.timer = setTimeout(() => {
      h.timer = undefined;
      this.write(hostId);
    }, delayMs);
    h.timer.unref();
  }
}

/** Endpoints whose attachment is not the object `planned` holds (new or changed; gone ones need no marks). */
function changedSince(planned: ReadonlyMap<string, Attachment>, attached: ReadonlyMap<string, Attachment>): string[] {
  const out: string[] = [];
  if (attached !== planned) for (const [id, a] of attached) if (planned.get(id) !== a) out.push(id);
  return out;
}
