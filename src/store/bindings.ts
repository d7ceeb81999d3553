/**
 * Writes where endpoints are attached (the observed half of the model, kept
 * apart from the API's Endpoint records). Every write is compare-on-revision
 * and re-reads on conflict, and a host may only take down a binding that is
 * still its own: a VM that migrated to another host is never marked down by the
 * late removal of its old interface. Writes asked for in one turn share one
 * multi-key transaction (below).
 *
 * A binding is not taken from a host that still holds it (SPEC §2): while the
 * endpoint is bound there (not down) and that host's OVSDB is connected (its
 * host record, as watched), another host's interface with the same iface-id is
 * refused (`AttachmentTakenError`). The binding is compared on its revision, so
 * two members mastering the two claimants decide the same through etcd. The
 * holder lets go by marking the endpoint down (its interface removed or
 * `iface-status=inactive`) or by disconnecting.
 */
import type { Etcd3, IKeyValue } from 'etcd3';
import { PlexusError } from '../../protocols/common/errors';
import { ConflictError } from './collection';
import type { Keys } from './keys';
import type { Binding, EndpointStatus } from './model';
import { decodeBinding, encodeBinding } from './stored-form';
import { StoredFormGate } from './stored-form-gate';
import { absent, atRevision, put, runTxn, type Guard, type StoreContext } from './txn';

const HISTORY = 20;
const MAX_ATTEMPTS = 8;
/** Distinct keys per transaction: its compares, puts and read-backs each stay under etcd's --max-txn-ops (128). */
const BATCH_KEYS = 64;
/** Binding transactions in flight at most (the others wait their turn). */
const TXNS_IN_FLIGHT = 8;
/** Bindings remembered with their revision, so the next write of one needs no read; bounded. */
const KNOWN_LIMIT = 1024;

export interface BindRequest {
  readonly endpoint: string;
  readonly host: string;
  readonly ofport: number;
  readonly ifaceName: string;
}

/** The new binding, undefined for no change; throws to refuse this one update (AttachmentTakenError). */
type Change = (cur: Binding | undefined) => Binding | undefined;

/** Another connected host holds the endpoint's binding: this host's interface does not take it. */
export class AttachmentTakenError extends PlexusError {
  override readonly name = 'AttachmentTakenError';
  constructor(
    readonly endpoint: string,
    readonly holder: string,
  ) {
    super(`endpoint ${endpoint} is attached on host ${holder}, which is connected: this interface does not take it until ${holder} lets it go (removes it or marks it iface-status=inactive)`);
  }
}

interface Pending {
  readonly endpoint: string;
  readonly change: Change;
  readonly resolve: (b: Binding | undefined) => void;
  readonly reject: (err: Error) => void;
}

/** A binding as last read or written, with its mod revision ('0' = absent). */
interface Known {
  readonly value: Binding | undefined;
  readonly revision: string;
}

/**
 * Every update asked for in one event-loop turn goes to etcd together: one
 * multi-key transaction per up to BATCH_KEYS endpoints, each key compared on
 * the revision this writer last saw (or absent, for one it never saw). A
 * failed transaction reads back every key in the same round trip, and the
 * batch is recomputed from what etcd holds; so a burst of attaches costs one
 * write per turn, not one per endpoint.
 */
export class BindingWriter {
  private readonly ctx: StoreContext;
  private queue: Pending[] = [];
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];
  private flushScheduled = false;
  private readonly known = new Map<string, Known>();
  /** Whether bindings may be written in the short form yet. */
  private readonly form: StoredFormGate;

  /** With `hostConnected` (from the watched host records), a binding held by another connected host is never taken. */
  constructor(
    client: Etcd3,
    private readonly keys: Keys,
    private readonly hostConnected?: (hostId: string) => boolean,
  ) {
    this.ctx = { client, keys };
    this.form = new StoredFormGate(this.ctx);
  }

  /** The binding `bind(req)` would write on top of `cur`, or undefined when nothing changes. */
  static bound(cur: Binding | undefined, req: BindRequest): Binding | undefined {
    if (cur && cur.host === req.host && cur.ofport === req.ofport && cur.ifaceName === req.ifaceName && cur.status !== 'down') return undefined;
    return next(cur, req.endpoint, { host: req.host, ofport: req.ofport, ifaceName: req.ifaceName }, 'bound');
  }

  /** Records the endpoint as attached at host/ofport (status bound). No write if already so. */
  bind(req: BindRequest): Promise<Binding | undefined> {
    return this.update(req.endpoint, (cur) => {
      if (this.hostConnected && BindingWriter.heldElsewhere(cur, req.host, this.hostConnected)) throw new AttachmentTakenError(req.endpoint, cur!.host!);
      return BindingWriter.bound(cur, req);
    });
  }

  /** Whether a claim of `host` must leave `cur` alone: it is held, not down, by another host whose OVSDB is connected. */
  static heldElsewhere(cur: Binding | undefined, host: string, holderConnected: (holder: string) => boolean): boolean {
    return cur !== undefined && cur.host !== null && cur.host !== host && cur.status !== 'down' && holderConnected(cur.host);
  }

  /** Marks the endpoint down if, and only if, it is still bound on `host`. */
  down(endpoint: string, host: string): Promise<Binding | undefined> {
    return this.update(endpoint, (cur) => (cur && cur.host === host && cur.status !== 'down' ? next(cur, endpoint, {}, 'down') : undefined));
  }

  /** Marks the endpoint installed if it is still bound on `host` at `ofport`. */
  installed(endpoint: string, host: string, ofport: number): Promise<Binding | undefined> {
    return this.update(endpoint, (cur) =>
      cur && cur.host === host && cur.ofport === ofport && cur.status === 'bound' ? next(cur, endpoint, {}, 'installed') : undefined,
    );
  }

  private update(endpoint: string, change: Change): Promise<Binding | undefined> {
    return new Promise((resolve, reject) => {
      this.queue.push({ endpoint, change, resolve, reject });
      if (this.flushScheduled) return;
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        const batch = this.queue;
        this.queue = [];
        const byEndpoint = new Map<string, Pending[]>();
        for (const p of batch) byEndpoint.set(p.endpoint, [...(byEndpoint.get(p.endpoint) ?? []), p]);
        const groups = [...byEndpoint.values()];
        for (let i = 0; i < groups.length; i += BATCH_KEYS) void this.limited(() => this.write(groups.slice(i, i + BATCH_KEYS)));
      });
    });
  }

  /**
   * At most TXNS_IN_FLIGHT binding transactions at a time: a burst of 20,000
   * attaches is ~300 transactions, which sent at once outlast etcd's deadline
   * (DEADLINE_EXCEEDED) and come back as retries on top of the next ones.
   */
  private async limited(run: () => Promise<void>): Promise<void> {
    if (this.inFlight >= TXNS_IN_FLIGHT) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.inFlight++;
    try {
      await run();
    } finally {
      this.inFlight--;
      this.waiting.shift()?.();
    }
  }

  /** One transaction for these endpoints (each with its updates in order), retried on the values etcd returns. */
  private async write(groups: readonly (readonly Pending[])[]): Promise<void> {
    try {
      const short = await this.form.isShort();
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        const guards: Guard[] = [];
        const puts = [];
        const results: (Binding | Error | undefined)[][] = [];
        const finals: (Binding | undefined)[] = [];
        for (const group of groups) {
          const endpoint = group[0]!.endpoint;
          const key = this.keys.binding(endpoint);
          const known = this.known.get(endpoint) ?? { value: undefined, revision: '0' };
          guards.push(known.revision === '0' ? absent(key) : atRevision(key, known.revision));
          let cur = known.value;
          let wrote = false;
          const out: (Binding | Error | undefined)[] = [];
          for (const p of group) {
            let updated: Binding | undefined;
            try {
              updated = p.change(cur);
            } catch (err) {
              out.push(err as Error); // this update alone is refused
              continue;
            }
            out.push(updated);
            if (updated) {
              cur = updated;
              wrote = true;
            }
          }
          results.push(out);
          finals.push(wrote ? cur : undefined);
          if (wrote) puts.push(put(key, short ? encodeBinding(cur!) : cur));
        }
        const outcome = await runTxn(this.ctx, guards, puts);
        if (outcome.succeeded) {
          groups.forEach((group, i) => {
            const f = finals[i];
            if (f) this.remember(group[0]!.endpoint, { value: f, revision: outcome.revision });
            group.forEach((p, k) => {
              const r = results[i]![k];
              if (r instanceof Error) p.reject(r);
              else p.resolve(r);
            });
          });
          return;
        }
        groups.forEach((group, i) => this.remember(group[0]!.endpoint, knownOf(group[0]!.endpoint, outcome.found[i])));
      }
      throw new ConflictError(`bindings of ${groups.map((g) => g[0]!.endpoint).join(', ')} kept changing under ${MAX_ATTEMPTS} attempts`);
    } catch (err) {
      for (const group of groups) {
        this.known.delete(group[0]!.endpoint);
        for (const p of group) p.reject(err as Error);
      }
    }
  }

  private remember(endpoint: string, known: Known): void {
    if (this.known.size >= KNOWN_LIMIT && !this.known.has(endpoint)) this.known.delete(this.known.keys().next().value!);
    this.known.set(endpoint, known);
  }
}

function knownOf(endpoint: string, kv: IKeyValue | undefined): Known {
  if (!kv) return { value: undefined, revision: '0' };
  try {
    return { value: decodeBinding(endpoint, kv.value.toString()), revision: kv.mod_revision };
  } catch {
    return { value: undefined, revision: kv.mod_revision };
  }
}

function next(cur: Binding | undefined, endpoint: string, fields: Partial<Binding>, status: EndpointStatus): Binding {
  const at = new Date().toISOString();
  const host = fields.host ?? cur?.host ?? null;
  return {
    endpoint,
    host,
    ofport: fields.ofport ?? cur?.ofport ?? null,
    ifaceName: fields.ifaceName ?? cur?.ifaceName ?? null,
    status,
    history: [...(cur?.history ?? []), { status, at, host }].slice(-HISTORY),
    updatedAt: at,
  };
}
