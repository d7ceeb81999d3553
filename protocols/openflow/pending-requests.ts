/**
 * Transaction-id correlation for one OpenFlow session (OpenFlow 1.3.5 §6.1.1:
 * a reply carries its request's xid): requests waiting for their reply, each
 * with a time limit; multipart replies reassembled until the part without
 * OFPMPF_REPLY_MORE (§7.3.5), bounded in bytes; and batches closed by a
 * barrier, which collect the errors the switch sends for any xid in them.
 */
import { ConnectionError, PlexusError, TimeoutError } from '../common/errors';
import { OFPMPF } from './constants';
import { OpenFlowError } from './errors';
import type { Decoded } from './messages';

/** Default bound of one reassembled multipart reply: a dump of about a million flows. */
export const DEFAULT_MAX_MULTIPART_BYTES = 256 * 1024 * 1024;

/** Highest xid handed out before wrapping to 1 (0 is left to unsolicited messages). */
const MAX_XID = 0xfffffff0;

interface Pending {
  readonly resolve: (msgs: Decoded[]) => void;
  readonly reject: (err: PlexusError) => void;
  readonly parts: Decoded[];
  /** Bytes of the parts so far (a multipart reply is bounded by maxMultipartBytes). */
  partBytes: number;
  readonly timer: NodeJS.Timeout;
}

/** What `take` did with a message: it answered a request, it is not a reply to one, or a multipart reply grew past its bound. */
export type TakeResult = 'taken' | 'unsolicited' | 'overflow';

export class PendingRequests {
  private nextXid = 1;
  private readonly pending = new Map<number, Pending>();
  /** Errors for xids of an open batch, keyed by the batch's barrier xid. */
  private readonly batchErrors = new Map<number, { readonly first: number; readonly errors: OpenFlowError[] }>();

  constructor(private readonly maxMultipartBytes = DEFAULT_MAX_MULTIPART_BYTES) {}

  allocXid(): number {
    const xid = this.nextXid;
    this.nextXid = this.nextXid >= MAX_XID ? 1 : this.nextXid + 1;
    return xid;
  }

  /** The xid the next `allocXid` returns (the first of a batch). */
  get peekXid(): number {
    return this.nextXid;
  }

  has(xid: number): boolean {
    return this.pending.has(xid);
  }

  /** Waits for the reply to `xid`; rejects with TimeoutError after `timeoutMs` (`what` names the request). */
  wait(xid: number, timeoutMs: number, what: string): Promise<Decoded[]> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(xid);
        reject(new TimeoutError(`${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(xid, { resolve, reject, parts: [], partBytes: 0, timer });
    });
  }

  /** Collects the errors for xids from `first` up to the barrier `barrierXid` while `body` runs. */
  async collectErrors(first: number, barrierXid: number, body: () => Promise<unknown>): Promise<OpenFlowError[]> {
    const entry = { first, errors: [] as OpenFlowError[] };
    this.batchErrors.set(barrierXid, entry);
    try {
      await body();
    } finally {
      this.batchErrors.delete(barrierXid);
    }
    return entry.errors;
  }

  /**
   * Offers a received message: an error for a batch's xid is kept for the batch;
   * an error for a waiting request rejects it; a reply resolves it (a multipart
   * part is kept until the last). Anything else is 'unsolicited'.
   */
  take(msg: Decoded, bytes: number): TakeResult {
    if (msg.type === 'error') {
      const err = OpenFlowError.fromMessage(msg);
      for (const [closingXid, batch] of this.batchErrors) {
        if (msg.xid >= batch.first && msg.xid < closingXid) {
          batch.errors.push(err);
          return 'taken';
        }
      }
      const p = this.settle(msg.xid);
      if (!p) return 'unsolicited';
      p.reject(err);
      return 'taken';
    }
    if (msg.type === 'hello' || msg.type === 'echo_request') return 'unsolicited';
    const p = this.pending.get(msg.xid);
    if (!p) return 'unsolicited';
    p.parts.push(msg);
    if (msg.type === 'multipart_reply' && ((msg.flags ?? 0) & OFPMPF.REPLY_MORE) !== 0) {
      p.partBytes += bytes;
      return p.partBytes > this.maxMultipartBytes ? 'overflow' : 'taken';
    }
    this.settle(msg.xid);
    p.resolve(p.parts);
    return 'taken';
  }

  /** Rejects the request waiting for `xid` (its message could not be sent). */
  abandon(xid: number, reason: PlexusError): void {
    this.settle(xid)?.reject(reason);
  }

  /** Rejects every waiting request with `reason`. */
  rejectAll(reason: PlexusError = new ConnectionError('connection closed')): void {
    for (const [xid, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(xid);
      p.reject(reason);
    }
  }

  private settle(xid: number): Pending | undefined {
    const p = this.pending.get(xid);
    if (!p) return undefined;
    clearTimeout(p.timer);
    this.pending.delete(xid);
    return p;
  }
}

/** Joins multipart reply parts: list-valued bodies concatenate their `entries`. */
export function mergeMultipart(parts: Decoded[]): Decoded {
  const first = parts[0] as Decoded & { body?: { entries?: unknown[] } };
  if (first.type !== 'multipart_reply' || !Array.isArray(first.body?.entries)) return parts[parts.length - 1]!;
  const entries = parts.flatMap((p) => ((p as typeof first).body?.entries ?? []) as unknown[]);
  return { ...first, flags: 0, body: { ...first.body, entries } } as unknown as Decoded;
}
