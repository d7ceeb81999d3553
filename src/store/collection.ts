/**
 * A typed view of one etcd prefix holding JSON records: list, get, put,
 * compare-on-revision put, delete and watch. Values that do not parse are
 * reported, not thrown into the caller's event loop.
 */
import type { Etcd3, Lease, Watcher } from 'etcd3';
import { PlexusError } from '../../protocols/common/errors';
import type { Guard } from './txn';

export class StoreError extends PlexusError {
  override readonly name: string = 'StoreError';
}

/** The compared revision no longer matches: someone else wrote first (HTTP 412/409). */
export class ConflictError extends StoreError {
  override readonly name = 'ConflictError';
}

export interface Versioned<T> {
  readonly value: T;
  /** etcd mod_revision of the key: the record's version for If-Match. */
  readonly revision: string;
}

export type CollectionEvent<T> =
  | { readonly kind: 'put'; readonly id: string; readonly value: T; readonly revision: string }
  | { readonly kind: 'delete'; readonly id: string; readonly revision: string };

/** How one kind of record is stored when it is not plain JSON (stored-form.ts); the key may carry part of it. */
export interface RecordCodec<T> {
  encode(value: T): string;
  decode(key: string, text: string): T;
}

export class Collection<T> {
  constructor(
    private readonly client: Etcd3,
    readonly prefix: string,
    private readonly codec?: RecordCodec<T>,
  ) {}

  key(id: string): string {
    return this.prefix + id;
  }

  async get(id: string): Promise<Versioned<T> | undefined> {
    const res = await this.client.get(this.key(id)).exec();
    const kv = res.kvs[0];
    return kv ? { value: this.parse(kv.key.toString(), kv.value.toString()), revision: kv.mod_revision } : undefined;
  }

  /** Every record, sorted by id. Paginates etcd reads so a large prefix never arrives in one response. */
  async list(): Promise<Versioned<T>[]> {
    const out: Versioned<T>[] = [];
    let from = this.prefix;
    const end = prefixEnd(this.prefix);
    for (;;) {
      const res = await this.client.getAll().inRange({ start: from, end }).limit(1000).exec();
      for (const kv of res.kvs) {
        out.push({ value: this.parse(kv.key.toString(), kv.value.toString()), revision: kv.mod_revision });
      }
      if (!res.more || res.kvs.length === 0) break;
      from = res.kvs[res.kvs.length - 1]!.key.toString() + '\0';
    }
    return out;
  }

  /** Unconditional write; returns the new revision. */
  async put(id: string, value: T, lease?: Lease): Promise<string> {
    const builder = lease ? lease.put(this.key(id)) : this.client.put(this.key(id));
    const res = await builder.value(this.encode(value)).exec();
    return res.header.revision;
  }

  /**
   * Writes only if the key's revision is still `revision` ('0' = must not exist).
   * Throws ConflictError otherwise.
   */
  async putIfRevision(id: string, value: T, revision: string): Promise<string> {
    const key = this.key(id);
    const res = await this.client
      .if(key, 'Mod', '==', revision)
      .then(this.client.put(key).value(this.encode(value)))
      .commit();
    if (!res.succeeded) throw new ConflictError(`${key} changed since revision ${revision}`);
    return res.header.revision;
  }

  /** Writes only while `guard` (store/txn.ts) holds; returns whether it wrote. */
  async putWhile(id: string, value: T, guard: Guard): Promise<boolean> {
    const request_put = { key: Buffer.from(this.key(id)), value: Buffer.from(this.encode(value)) };
    const res = await this.client.kv.txn({ compare: [guard.compare], success: [{ request_put }], failure: [] });
    return res.succeeded;
  }

  /** Deletes; returns whether the key existed. */
  async delete(id: string): Promise<boolean> {
    const res = await this.client.delete().key(this.key(id)).exec();
    return Number(res.deleted) > 0;
  }

  /** Watches the prefix from `fromRevision` (exclusive) or now. */
  async watch(onEvent: (event: CollectionEvent<T>) => void, fromRevision?: string): Promise<Watcher> {
    let builder = this.client.watch().prefix(this.prefix);
    if (fromRevision) builder = builder.startRevision(String(BigInt(fromRevision) + 1n));
    const watcher = await builder.create();
    watcher.on('put', (kv) => {
      const key = kv.key.toString();
      try {
        onEvent({ kind: 'put', id: key.slice(this.prefix.length), value: this.parse(key, kv.value.toString()), revision: kv.mod_revision });
      } catch {
        /* a malformed value is skipped; parse() already names it in get/list */
      }
    });
    watcher.on('delete', (kv) => {
      onEvent({ kind: 'delete', id: kv.key.toString().slice(this.prefix.length), revision: kv.mod_revision });
    });
    return watcher;
  }

  private encode(value: T): string {
    return this.codec ? this.codec.encode(value) : JSON.stringify(value);
  }

  private parse(key: string, text: string): T {
    try {
      return this.codec ? this.codec.decode(key, text) : (JSON.parse(text) as T);
    } catch (err) {
      throw new StoreError(`etcd key ${key} does not hold a record (JSON): ${(err as Error).message}`, { cause: err });
    }
  }
}

/** The smallest key greater than every key starting with `prefix`. */
export function prefixEnd(prefix: string): string {
  const buf = Buffer.from(prefix);
  for (let i = buf.length - 1; i >= 0; i--) {
    if (buf[i]! < 0xff) {
      buf[i]!++;
      return buf.subarray(0, i + 1).toString();
    }
  }
  return '\0';
}
