/**
 * Installed marker: once a host's switch has every flow of an endpoint bound
 * there, the master marks the Interface `plexus-installed=true` (+ timestamp;
 * planned by southbound/host-plan.ts like any host configuration) — the mark
 * integrations such as CNI plugins and libvirt hooks wait for (cf.
 * ovn-installed) — and then records the binding `installed` in etcd. Failed
 * writes are retried with the shared backoff. Also observes the attach latency
 * metric: from the interface first seen to its mark.
 */
import { Backoff, type BackoffPolicy } from '../../protocols/common/backoff';
import type { Mastery } from '../cluster/ownership';
import { RetryLog, type Logger } from '../log';
import type { Metrics } from '../metrics';
import type { HostFlows } from '../reconciler/host-flows';
import type { BindingWriter } from '../store/bindings';
import type { ModelCache, ModelChange } from '../store/model-cache';
import type { Attachment } from '../southbound/attachments';
import type { HostLink } from '../southbound/host-link';
import { planInstalledMark } from '../southbound/host-plan';

export interface InstalledMarkerDeps {
  readonly cache: ModelCache;
  readonly bindings: BindingWriter;
  readonly mastery: Mastery;
  /** The reconciler of a host (host-programmer.ts). */
  readonly flowsOf: (hostId: string) => HostFlows | undefined;
  /** What the host's view shows attached (attachment-observer.ts). */
  readonly attachmentOf: (hostId: string, endpointId: string) => Attachment | undefined;
  readonly log: Logger;
  readonly metrics?: Metrics;
  /** Delays between attempts of a mark that failed (default 250 ms, 500 ms, then every 1 s). */
  readonly retryBackoff?: BackoffPolicy;
}

interface MarkedHost {
  link: HostLink | undefined;
  /** plexus-installed marks written in this session (endpoint@ofport), so each is written once. */
  readonly marked: Set<string>;
  /** When each attachment was first seen, until its endpoint is installed (for the latency metric). */
  readonly seenAt: Map<string, number>;
  readonly retries: Map<string, Backoff>;
}

const RETRY_DELAYS_MS = [250, 500, 1000];

export class InstalledMarker {
  private readonly hosts = new Map<string, MarkedHost>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  /** Marks failing (host or etcd away): a warn line per burst, not per endpoint. */
  private readonly retryLog: RetryLog;

  constructor(private readonly deps: InstalledMarkerDeps) {
    this.retryLog = new RetryLog(deps.log);
  }

  /** The host's OVSDB link, from its latest view. */
  observeLink(hostId: string, link: HostLink): void {
    this.host(hostId).link = link;
  }

  /** An interface appeared on a host (attachment-observer.ts `seen`). */
  noteSeen(hostId: string, endpointId: string, atMs: number): void {
    this.host(hostId).seenAt.set(endpointId, atMs);
  }

  /** Marks every endpoint of the batch whose binding is `bound` on a host this member programs. */
  applyModelChange({ endpoints, statuses }: ModelChange): void {
    for (const id of [...endpoints.keys(), ...statuses]) {
      const b = this.deps.cache.bindings.get(id);
      if (b?.host && b.status === 'bound' && this.hosts.has(b.host)) void this.mark(b.host, id);
    }
  }

  /** Once the host has every flow of the endpoint: the Interface mark, then the binding `installed`. */
  async mark(hostId: string, endpointId: string): Promise<void> {
    const { cache, mastery } = this.deps;
    const flows = this.deps.flowsOf(hostId);
    if (!flows || !mastery.isMaster(hostId)) return;
    await flows.flushed();
    if (!mastery.isMaster(hostId) || this.stopped) return;
    const h = this.host(hostId);
    const b = cache.bindings.get(endpointId);
    const a = this.deps.attachmentOf(hostId, endpointId);
    if (!b || b.host !== hostId || b.ofport === null || !a || a.ofport !== b.ofport || !cache.endpoint(endpointId)) return;
    const mark = `${endpointId}@${a.ofport}`;
    try {
      // The host's own mark first: integrations wait for it; the status in etcd follows.
      const ops = planInstalledMark(a, Date.now());
      if (ops.length && h.link && !h.marked.has(mark)) {
        h.marked.add(mark);
        await h.link.transact(ops);
      }
      const seen = h.seenAt.get(endpointId);
      if (seen !== undefined) {
        h.seenAt.delete(endpointId);
        this.deps.metrics?.attachInstalledSeconds.observe({ host: hostId }, (Date.now() - seen) / 1000);
      }
      if (b.status === 'bound') await this.deps.bindings.installed(endpointId, hostId, b.ofport);
      h.retries.delete(endpointId);
      this.retryLog.succeeded();
    } catch (err) {
      h.marked.delete(mark);
      this.retryLater(hostId, h, endpointId, err as Error);
    }
  }

  /** plexus-installed was removed from the endpoint's interface (interface-marks.ts): write it again if the endpoint is installed there later. */
  unmarked(hostId: string, endpointId: string): void {
    const marked = this.hosts.get(hostId)?.marked;
    for (const m of [...(marked ?? [])]) if (m.startsWith(`${endpointId}@`)) marked!.delete(m);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private host(hostId: string): MarkedHost {
    let h = this.hosts.get(hostId);
    if (!h) this.hosts.set(hostId, (h = { link: undefined, marked: new Set(), seenAt: new Map(), retries: new Map() }));
    return h;
  }

  private retryLater(hostId: string, h: MarkedHost, endpointId: string, err: Error): void {
    if (this.stopped) return;
    let backoff = h.retries.get(endpointId);
    if (!backoff) h.retries.set(endpointId, (backoff = new Backoff({ delaysMs: RETRY_DELAYS_MS, ...this.deps.retryBackoff })));
    const delayMs = backoff.nextDelayMs();
    this.retryLog.failed('cannot mark endpoint installed; will retry', err.message, { host: hostId, endpoint: endpointId, attempt: backoff.attempt, delayMs });
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.mark(hostId, endpointId);
    }, delayMs);
    timer.unref();
    this.timers.add(timer);
  }
}
