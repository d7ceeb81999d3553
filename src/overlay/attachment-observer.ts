/**
 * Attachment observer: host views (OVSDB) → bindings (etcd). For every host it
 * remembers the workload interfaces on br-int (southbound/attachments.ts); on
 * the hosts this member masters it writes what changed — `bound` at host/ofport,
 * or `down` — with compare-on-revision (store/bindings.ts), retrying with the
 * shared backoff while etcd refuses. As master its own observation is
 * authoritative, so a new binding is also applied to the model cache at once
 * (provisionally): the host's flows do not wait for the etcd round trip.
 *
 * Standbys remember the attachments too (to take over at once, and to name the
 * endpoint behind a packet-in's port) but write nothing.
 *
 * A claim that cannot be bound — its endpoint cannot be created (unknown
 * network, address taken, bad plexus-ip) or another connected host holds it
 * (store/bindings.ts `AttachmentTakenError`) — is a problem of that interface
 * (`problemOf`, written back as plexus-error by interface-marks.ts), tried
 * again when the model changes, and cleared once bound.
 */
import { EventEmitter } from 'node:events';
import { Backoff, type BackoffPolicy } from '../../protocols/common/backoff';
import type { Mastery } from '../cluster/ownership';
import { RetryLog, type Logger } from '../log';
import { PlexusError } from '../../protocols/common/errors';
import { AttachmentTakenError, BindingWriter } from '../store/bindings';
import type { EndpointKind } from '../store/model';
import type { ModelCache, ModelChange } from '../store/model-cache';
import { AddressError } from '../store/ipam';
import { InvalidRequestError, ResourceConflictError, ResourceNotFoundError } from '../store/model-errors';
import { readAttachments, type Attachment } from '../southbound/attachments';
import type { OvsView } from '../southbound/ovs-view';
import { sameEntries } from '../../protocols/common/maps';

/** An interface with external_ids:plexus-network whose endpoint does not exist yet (SPEC §2). */
export interface AutoCreateRequest {
  readonly id: string;
  readonly network: string;
  readonly mac: string | null;
  readonly ip: string | null;
  readonly kind: EndpointKind;
}

export interface AttachmentObserverOptions {
  /** Creates the endpoint of an interface with external_ids:plexus-network. */
  readonly autoCreate?: (req: AutoCreateRequest) => Promise<void>;
  /** Delays between attempts of a binding write etcd refused (default 250 ms, 500 ms, then every 1 s). */
  readonly retryBackoff?: BackoffPolicy;
}

export interface AttachmentObserverEvents {
  /** An active interface appeared (or moved port) on a host this member masters and is not marked installed yet. */
  seen: [{ readonly hostId: string; readonly endpointId: string; readonly atMs: number }];
  /** The problems of a host's claims changed (problemOf). */
  problems: [hostId: string];
}

/** Why a claim is not bound. */
export interface ClaimProblem {
  readonly reason: string;
  /** Refused because another connected host holds the binding (it may let go at any moment: a migration). */
  readonly taken: boolean;
  readonly sinceMs: number;
}

/** How often claims refused because another host holds them are tried again (the holder may have disconnected). */
const TAKEN_RETRY_MS = 2000;

interface HostAttachments {
  byEndpoint: ReadonlyMap<string, Attachment>;
  /** The same attachments by OpenFlow port (packet-ins name the port). */
  byOfport: ReadonlyMap<number, Attachment>;
}

const RETRY_DELAYS_MS = [250, 500, 1000];

export class AttachmentObserver extends EventEmitter<AttachmentObserverEvents> {
  private readonly hosts = new Map<string, HostAttachments>();
  /** The hosts whose latest view shows each endpoint attached (a model change re-plans only those). */
  private readonly hostsByEndpoint = new Map<string, Set<string>>();
  private readonly autoCreating = new Set<string>();
  /** Pending retries of failed binding writes, by `host/endpoint`. */
  private readonly retries = new Map<string, { readonly backoff: Backoff; timer: NodeJS.Timeout | undefined }>();
  private stopped = false;
  /** Why a claim (`host/endpoint`) of a mastered host is not bound; cleared once it is. */
  private readonly problems = new Map<string, { readonly hostId: string; readonly endpointId: string } & ClaimProblem>();
  private takenSweep: NodeJS.Timeout | undefined;
  /** Binding writes failing (etcd away): a warn line per burst, not per endpoint. */
  private readonly retryLog: RetryLog;

  constructor(
    private readonly cache: ModelCache,
    private readonly bindings: BindingWriter,
    private readonly mastery: Mastery,
    private readonly log: Logger,
    private readonly options: AttachmentObserverOptions = {},
  ) {
    super();
    this.retryLog = new RetryLog(log);
  }

  attachment(hostId: string, endpointId: string): Attachment | undefined {
    return this.hosts.get(hostId)?.byEndpoint.get(endpointId);
  }

  /** Every attachment the host's latest view shows, by endpoint id. */
  attachmentsOf(hostId: string): ReadonlyMap<string, Attachment> {
    return this.hosts.get(hostId)?.byEndpoint ?? new Map();
  }

  /** Hosts whose latest view shows the endpoint attached. */
  hostsAttaching(endpointId: string): Iterable<string> {
    return this.hostsByEndpoint.get(endpointId) ?? [];
  }

  attachmentAt(hostId: string, ofport: number): Attachment | undefined {
    return this.hosts.get(hostId)?.byOfport.get(ofport);
  }

  /**
   * Reads the host's attachments from its view; as master, binds what appeared
   * or moved and takes down what left. An interface whose row did not change
   * gives the same Attachment object (attachments.ts), which is skipped at once.
   */
  observe(hostId: string, view: OvsView): void {
    const now = readAttachments(view);
    const before = this.hosts.get(hostId)?.byEndpoint ?? new Map<string, Attachment>();
    const same = sameEntries(before, now);
    if (!same) this.remember(hostId, before, now);
    if (!this.mastery.isMaster(hostId)) return;
    if (!same) {
      for (const [id, a] of now) {
        const was = before.get(id);
        if (was === a) continue;
        if (was && was.ofport === a.ofport && was.active === a.active && was.ifaceName === a.ifaceName && !this.claimEdited(hostId, was, a)) continue;
        if (a.active) {
          if (!a.installedMark) this.emit('seen', { hostId, endpointId: id, atMs: Date.now() });
          void this.bind(hostId, a);
        } else if (was?.active) void this.down(hostId, id);
      }
      for (const [id, a] of before) if (!now.has(id) && a.active) void this.down(hostId, id);
    }
    if (this.problems.size > 0) this.forgetProblems(hostId, now);
  }

  private remember(hostId: string, before: ReadonlyMap<string, Attachment>, now: ReadonlyMap<string, Attachment>): void {
    this.hosts.set(hostId, { byEndpoint: now, byOfport: new Map([...now.values()].map((a) => [a.ofport, a])) });
    for (const id of before.keys()) {
      if (now.has(id)) continue;
      const on = this.hostsByEndpoint.get(id);
      on?.delete(hostId);
      if (on?.size === 0) this.hostsByEndpoint.delete(id);
    }
    for (const id of now.keys()) {
      if (before.has(id)) continue;
      let on = this.hostsByEndpoint.get(id);
      if (!on) this.hostsByEndpoint.set(id, (on = new Set()));
      on.add(hostId);
    }
  }

  /**
   * Binds every active attachment of a host again — a new master cannot know
   * what the previous one wrote — and resolves, once each write was tried, with
   * their endpoint ids.
   */
  async rebindAll(hostId: string): Promise<string[]> {
    const active = [...(this.hosts.get(hostId)?.byEndpoint.values() ?? [])].filter((a) => a.active);
    await Promise.all(active.map((a) => this.bind(hostId, a)));
    return active.map((a) => a.endpointId);
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.takenSweep);
    for (const r of this.retries.values()) clearTimeout(r.timer);
    this.retries.clear();
  }

  private async bind(hostId: string, a: Attachment): Promise<void> {
    if (!this.mastery.isMaster(hostId)) return;
    try {
      await this.autoCreate(hostId, a);
      const req = { endpoint: a.endpointId, host: hostId, ofport: a.ofport, ifaceName: a.ifaceName };
      // This member masters the host: its own view is authoritative, so flows need not wait for etcd.
      const cur = this.cache.bindings.get(a.endpointId);
      const provisional = BindingWriter.bound(cur, req);
      // Never provisionally over another host's binding: etcd decides who holds it.
      const heldElsewhere = cur?.host && cur.host !== hostId && cur.status !== 'down';
      if (provisional && !heldElsewhere && this.cache.endpoint(a.endpointId)) this.cache.applyLocalBinding(provisional);
      await this.bindings.bind(req);
      this.succeeded(hostId, a.endpointId);
      this.setProblem(hostId, a.endpointId, undefined);
      if (this.log.isDebugEnabled()) this.log.debug('endpoint bound', { host: hostId, endpoint: a.endpointId, ofport: a.ofport });
    } catch (err) {
      if (isClaimRefusal(err)) this.refused(hostId, a.endpointId, err as PlexusError);
      else this.retryLater(hostId, a.endpointId, 'cannot bind endpoint; will retry', err as Error);
    }
  }

  private async autoCreate(hostId: string, a: Attachment): Promise<void> {
    const create = this.options.autoCreate;
    if (this.cache.endpoint(a.endpointId) || !a.network || !create || this.autoCreating.has(a.endpointId)) return;
    this.autoCreating.add(a.endpointId);
    try {
      await create({ id: a.endpointId, network: a.network, mac: a.mac, ip: a.ip, kind: a.kind });
      this.log.info('endpoint created from interface', { host: hostId, endpoint: a.endpointId, network: a.network });
    } catch (err) {
      if (!isCreatedMeanwhile(err, a.endpointId)) throw err;
    } finally {
      this.autoCreating.delete(a.endpointId);
    }
  }

  private async down(hostId: string, endpointId: string): Promise<void> {
    if (!this.mastery.isMaster(hostId)) return;
    try {
      if (await this.bindings.down(endpointId, hostId)) this.log.info('endpoint down', { host: hostId, endpoint: endpointId });
      this.succeeded(hostId, endpointId);
    } catch (err) {
      this.retryLater(hostId, endpointId, 'cannot mark endpoint down; will retry', err as Error);
    }
  }

  /** Why the endpoint's interface on the host is not bound, if this member knows a reason. */
  problemOf(hostId: string, endpointId: string): ClaimProblem | undefined {
    return this.problems.get(`${hostId}/${endpointId}`);
  }

  /** Tries refused claims again when what refused them may have changed (a binding let go, a network or address appeared). */
  applyModelChange({ networks, endpoints, statuses }: ModelChange): void {
    for (const p of [...this.problems.values()]) {
      const touched = statuses.has(p.endpointId) || endpoints.has(p.endpointId) || (!p.taken && (networks.size > 0 || endpoints.size > 0));
      if (touched) this.retryClaim(p.hostId, p.endpointId);
    }
  }

  /** A refused claim whose interface now says something else (plexus-network, plexus-ip, MAC): worth trying again. */
  private claimEdited(hostId: string, was: Attachment, a: Attachment): boolean {
    return this.problems.has(`${hostId}/${a.endpointId}`) && (was.network !== a.network || was.ip !== a.ip || was.mac !== a.mac);
  }

  private retryClaim(hostId: string, endpointId: string): void {
    const a = this.attachment(hostId, endpointId);
    if (a?.active && this.mastery.isMaster(hostId)) void this.bind(hostId, a);
    else this.setProblem(hostId, endpointId, undefined);
  }

  /** A claim the model refuses (not etcd being away): remembered with the reason, tried again on model changes. */
  private refused(hostId: string, endpointId: string, err: PlexusError): void {
    const known = this.problemOf(hostId, endpointId)?.reason;
    if (known !== err.message) this.log.warn('cannot bind interface', { host: hostId, endpoint: endpointId, reason: err.message });
    this.setProblem(hostId, endpointId, { reason: err.message, taken: err instanceof AttachmentTakenError });
    this.retries.delete(`${hostId}/${endpointId}`);
  }

  private setProblem(hostId: string, endpointId: string, p: Omit<ClaimProblem, 'sinceMs'> | undefined): void {
    const key = `${hostId}/${endpointId}`;
    const was = this.problems.get(key);
    if (!p && !was) return;
    if (p && was?.reason === p.reason) return;
    if (p) this.problems.set(key, { hostId, endpointId, ...p, sinceMs: Date.now() });
    else this.problems.delete(key);
    this.sweepTakenClaims();
    this.emit('problems', hostId);
  }

  private forgetProblems(hostId: string, now: ReadonlyMap<string, Attachment>): void {
    for (const p of [...this.problems.values()]) {
      if (p.hostId === hostId && (!now.get(p.endpointId)?.active || !this.mastery.isMaster(hostId))) this.setProblem(hostId, p.endpointId, undefined);
    }
  }

  /** While some claim is refused because another host holds it, try those again every TAKEN_RETRY_MS (the holder may have disconnected). */
  private sweepTakenClaims(): void {
    const any = [...this.problems.values()].some((p) => p.taken);
    if (!any || this.stopped) {
      clearInterval(this.takenSweep);
      this.takenSweep = undefined;
    } else if (!this.takenSweep) {
      this.takenSweep = setInterval(() => {
        for (const p of [...this.problems.values()]) if (p.taken) this.retryClaim(p.hostId, p.endpointId);
      }, TAKEN_RETRY_MS);
      this.takenSweep.unref();
    }
  }

  private succeeded(hostId: string, endpointId: string): void {
    this.retryLog.succeeded();
    const r = this.retries.get(`${hostId}/${endpointId}`);
    if (r && r.timer === undefined) this.retries.delete(`${hostId}/${endpointId}`);
  }

  /**
   * A binding write failed (etcd unreachable): try again after the backoff
   * until it succeeds or no longer applies, so attachments seen during an
   * outage are applied when etcd returns and nothing is lost.
   */
  private retryLater(hostId: string, endpointId: string, message: string, err: Error): void {
    if (this.stopped) return;
    const id = `${hostId}/${endpointId}`;
    let r = this.retries.get(id);
    if (!r) this.retries.set(id, (r = { backoff: new Backoff({ delaysMs: RETRY_DELAYS_MS, ...this.options.retryBackoff }), timer: undefined }));
    if (r.timer !== undefined) return; // one retry at a time; it re-reads the current attachment
    const delayMs = r.backoff.nextDelayMs();
    this.retryLog.failed(message, err.message, { host: hostId, endpoint: endpointId, attempt: r.backoff.attempt, delayMs });
    const retry = r;
    retry.timer = setTimeout(() => {
      retry.timer = undefined;
      if (!this.mastery.isMaster(hostId)) return void this.retries.delete(id);
      const a = this.attachment(hostId, endpointId);
      if (a?.active) void this.bind(hostId, a);
      else if (!a) void this.down(hostId, endpointId);
      else this.retries.delete(id);
    }, delayMs);
    retry.timer.unref();
  }
}

/** Whether two readings of a host hold the very same attachments (unchanged interfaces keep their Attachment objects). */
/** Errors that say the claim itself cannot be bound as it stands (written back as plexus-error), not that etcd is away. */
function isClaimRefusal(err: unknown): boolean {
  return (
    err instanceof AttachmentTakenError ||
    err instanceof ResourceNotFoundError ||
    err instanceof ResourceConflictError ||
    err instanceof InvalidRequestError ||
    err instanceof AddressError
  );
}

/** The endpoint was created by someone else meanwhile (another member, the API): binding it is all that is left. */
function isCreatedMeanwhile(err: unknown, endpointId: string): boolean {
  return err instanceof ResourceConflictError && err.reason === 'duplicate' && err.details['endpoint'] === endpointId && Object.keys(err.details).length === 1;
}
