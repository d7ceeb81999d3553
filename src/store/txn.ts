/**
 * The one transaction helper of the model stores (tenant, network, subnet and
 * endpoint stores): a write is one etcd transaction whose compares (guards)
 * state what the write assumed, and a failed transaction reads back the first
 * key at each guard so the caller can say why. `modifyRecord` and
 * `removeRecord` are the read-modify-write of one record, compared on its mod
 * revision (If-Match, or the revision just read) and retried while it changes.
 * A record with its own stored form (stored-form.ts) passes its encoder.
 *
 * "Absent" is `version == 0`; over a key range a compare holds only if it holds
 * for every key in it (an empty range compares as an absent key).
 */
import { CompareResult, CompareTarget, type Etcd3, type ICompare, type IKeyValue, type IRequestOp } from 'etcd3';
import { ConflictError, prefixEnd, type Versioned } from './collection';
import type { Keys } from './keys';

/** Attempts of one write before giving up on a key that keeps changing or candidates that keep colliding. */
export const MAX_ATTEMPTS = 32;

/** What every per-resource store works with. */
export interface StoreContext {
  readonly client: Etcd3;
  readonly keys: Keys;
}

/** A compare plus the key to read back when the transaction fails, to tell why. */
export interface Guard {
  readonly compare: ICompare;
  readonly key: string;
  readonly rangeEnd?: string;
}

export interface TxnOutcome {
  readonly succeeded: boolean;
  readonly revision: string;
  /** For a failed transaction: the first key found at each guard's key or range (undefined = absent). */
  readonly found: readonly (IKeyValue | undefined)[];
}

const b = (s: string): Buffer => Buffer.from(s);

export function absent(key: string): Guard {
  return { key, compare: { key: b(key), target: CompareTarget.Version, result: CompareResult.Equal, version: 0 } };
}

export function present(key: string): Guard {
  return { key, compare: { key: b(key), target: CompareTarget.Version, result: CompareResult.Greater, version: 0 } };
}

/** The key holds exactly `value`. */
export function holds(key: string, value: string): Guard {
  return { key, compare: { key: b(key), target: CompareTarget.Value, result: CompareResult.Equal, value: b(value) } };
}

export function atRevision(key: string, revision: string): Guard {
  return { key, compare: { key: b(key), target: CompareTarget.Mod, result: CompareResult.Equal, mod_revision: revision } };
}

/** No key under `prefix`. */
export function emptyPrefix(prefix: string): Guard {
  const end = prefixEnd(prefix);
  return { key: prefix, rangeEnd: end, compare: { key: b(prefix), range_end: b(end), target: CompareTarget.Version, result: CompareResult.Equal, version: 0 } };
}

/** No key under `prefix` created after `revision`. */
export function noneCreatedSince(prefix: string, revision: string): Guard {
  const end = prefixEnd(prefix);
  return {
    key: prefix,
    rangeEnd: end,
    compare: { key: b(prefix), range_end: b(end), target: CompareTarget.Create, result: CompareResult.Less, create_revision: String(BigInt(revision) + 1n) },
  };
}

export function put(key: string, value: unknown): IRequestOp {
  return { request_put: { key: b(key), value: b(typeof value === 'string' ? value : JSON.stringify(value)) } };
}

export function del(key: string): IRequestOp {
  return { request_delete_range: { key: b(key) } };
}

export function delPrefix(prefix: string): IRequestOp {
  return { request_delete_range: { key: b(prefix), range_end: b(prefixEnd(prefix)) } };
}

/** One etcd transaction; when it fails, reads back the first key at each guard to say why. */
export async function runTxn(ctx: StoreContext, guards: readonly Guard[], success: readonly IRequestOp[]): Promise<TxnOutcome> {
  const failure: IRequestOp[] = guards.map((g) => ({
    request_range: { key: b(g.key), ...(g.rangeEnd ? { range_end: b(g.rangeEnd), limit: 1 } : {}) },
  }));
  const res = await ctx.client.kv.txn({ compare: guards.map((g) => g.compare), success: [...success], failure });
  const found = res.succeeded ? [] : res.responses.map((r) => r.response_range?.kvs[0]);
  return { succeeded: res.succeeded, revision: res.header.revision, found };
}

/**
 * Read-modify-write of one record, retried while it changes under us; with
 * `ifMatch`, a record at another revision fails at once (ConflictError → 412).
 */
export async function modifyRecord<T>(
  ctx: StoreContext,
  key: string,
  load: () => Promise<Versioned<T>>,
  ifMatch: string | undefined,
  change: (cur: T) => Promise<{ value: T; guards?: Guard[]; ops?: IRequestOp[] }>,
  encode: (value: T) => unknown = (value) => value,
): Promise<Versioned<T>> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const cur = await load();
    if (ifMatch !== undefined && cur.revision !== ifMatch) throw revisionMismatch(key, ifMatch, cur.revision);
    const plan = await change(cur.value);
    const res = await runTxn(ctx, [atRevision(key, cur.revision), ...(plan.guards ?? [])], [put(key, encode(plan.value)), ...(plan.ops ?? [])]);
    if (res.succeeded) return { value: plan.value, revision: res.revision };
  }
  throw new ConflictError(`${key} kept changing during ${MAX_ATTEMPTS} attempts`, { recoverable: true });
}

/** Delete of one record (plus what `plan` adds), guarded like modifyRecord(); `explain` turns a failed guard into an error. */
export async function removeRecord<T>(
  ctx: StoreContext,
  key: string,
  load: () => Promise<Versioned<T>>,
  ifMatch: string | undefined,
  plan: (cur: T) => Promise<{ guards: Guard[]; ops: IRequestOp[]; explain?: (found: readonly (IKeyValue | undefined)[]) => void | Promise<void> }>,
): Promise<void> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const cur = await load();
    if (ifMatch !== undefined && cur.revision !== ifMatch) throw revisionMismatch(key, ifMatch, cur.revision);
    const p = await plan(cur.value);
    const res = await runTxn(ctx, [atRevision(key, cur.revision), ...p.guards], p.ops);
    if (res.succeeded) return;
    await p.explain?.(res.found);
  }
  throw new ConflictError(`${key} kept changing during ${MAX_ATTEMPTS} attempts`, { recoverable: true });
}

export async function getString(ctx: StoreContext, key: string): Promise<string | undefined> {
  const v = await ctx.client.get(key).string();
  return v ?? undefined;
}

/** Every key (and value unless keysOnly) under a prefix, read in pages. */
export async function rangeKvs(ctx: StoreContext, prefix: string, keysOnly: boolean): Promise<IKeyValue[]> {
  const out: IKeyValue[] = [];
  const end = b(prefixEnd(prefix));
  let from = b(prefix);
  for (;;) {
    const res = await ctx.client.kv.range({ key: from, range_end: end, limit: 1000, keys_only: keysOnly });
    out.push(...res.kvs);
    if (!res.more || res.kvs.length === 0) return out;
    from = Buffer.concat([res.kvs[res.kvs.length - 1]!.key, Buffer.from([0])]);
  }
}

/** Every key-value under a prefix and the store revision they were read at (one request). */
export async function rangeAt(ctx: StoreContext, prefix: string): Promise<{ kvs: IKeyValue[]; revision: string }> {
  const res = await ctx.client.kv.range({ key: b(prefix), range_end: b(prefixEnd(prefix)) });
  return { kvs: res.kvs, revision: res.header.revision };
}

function revisionMismatch(key: string, expected: string, actual: string): ConflictError {
  return new ConflictError(`${key} is at revision ${actual}, not ${expected} (If-Match): read it again`);
}
