/**
 * Endpoint names, unique per tenant (SPEC §11), kept by one etcd key per
 * name: endpoint-names/<tenant>/<name> → endpoint id. The endpoint's create,
 * rename and delete transactions claim (absent → put) and release (holds its
 * id → delete) the key with the endpoint record, so of two concurrent creates
 * or renames to one name exactly one succeeds, on any members, and a create
 * reads one key instead of every endpoint of the tenant.
 *
 * Upgrade: endpoints written before the index existed have no key. The first
 * time a member needs the index it checks endpoint-names-indexed; when that is
 * absent it reads every endpoint once, claims each named one's key (the first
 * of two old endpoints sharing a name keeps it) and then writes the marker,
 * so names given before the upgrade stay enforced (a key whose endpoint a
 * member of the previous version deleted meanwhile is dropped when the name
 * is next asked for). Members doing it at once
 * claim the same keys, each claim guarded; a member that stops half way
 * leaves no marker and the next one starts over.
 */
import { endpointCollection } from './stored-form';
import { ResourceConflictError } from './model-errors';
import { Collection } from './collection';
import type { Network } from './model';
import { absent, del, getString, holds, present, put, runTxn, type Guard, type StoreContext } from './txn';
import type { IRequestOp } from 'etcd3';

/** Claims in flight while indexing the names of older endpoints. */
const BACKFILL_CONCURRENCY = 16;

export class EndpointNameIndex {
  private indexed: Promise<void> | undefined;

  constructor(private readonly ctx: StoreContext) {}

  /** Resolves once every named endpoint has its key (indexing older endpoints the first time). */
  ready(): Promise<void> {
    this.indexed ??= this.backfill().catch((err: unknown) => {
      this.indexed = undefined;
      throw err;
    });
    return this.indexed;
  }

  /** The endpoint holding `name` in `tenant`, if any. */
  async holder(tenant: string, name: string): Promise<string | undefined> {
    if (!name) return undefined;
    await this.ready();
    return getString(this.ctx, this.ctx.keys.endpointName(tenant, name));
  }

  /** The endpoints named `name` in any of `tenants`, with their tenant (one read per tenant, 64 to a request). */
  async named(name: string, tenants: readonly string[]): Promise<{ readonly tenant: string; readonly id: string }[]> {
    if (!name || tenants.length === 0) return [];
    await this.ready();
    const out: { tenant: string; id: string }[] = [];
    for (let i = 0; i < tenants.length; i += 64) {
      const chunk = tenants.slice(i, i + 64);
      const res = await this.ctx.client.kv.txn({ compare: [], success: chunk.map((t) => ({ request_range: { key: Buffer.from(this.ctx.keys.endpointName(t, name)) } })), failure: [] });
      res.responses.forEach((r, k) => {
        for (const kv of r.response_range?.kvs ?? []) out.push({ tenant: chunk[k]!, id: kv.value.toString() });
      });
    }
    return out;
  }

  /** Guard (the key absent) and write of `name` for endpoint `id`; nothing for no name. */
  claim(tenant: string, name: string, id: string): { guards: Guard[]; ops: IRequestOp[] } {
    if (!name) return { guards: [], ops: [] };
    const key = this.ctx.keys.endpointName(tenant, name);
    return { guards: [absent(key)], ops: [put(key, id)] };
  }

  /** Guard and delete of `name` if endpoint `id` holds it (an older duplicate does not: then nothing). */
  async release(tenant: string, name: string, id: string): Promise<{ guards: Guard[]; ops: IRequestOp[] }> {
    if (!name) return { guards: [], ops: [] };
    const key = this.ctx.keys.endpointName(tenant, name);
    if ((await getString(this.ctx, key)) !== id) return { guards: [], ops: [] };
    return { guards: [holds(key, id)], ops: [del(key)] };
  }

  /** Refuses `name` in `tenant` when another endpoint than `self` holds it (409 duplicate). */
  async checkFree(tenant: string, name: string, self?: string): Promise<void> {
    const holder = await this.holder(tenant, name);
    if (holder !== undefined && holder !== self && !(await this.freeIfStale(tenant, name, holder))) throw nameTaken(tenant, name, holder);
  }

  /**
   * Drops the name key if its holder no longer exists (a member of the
   * previous version deleted the endpoint without knowing the key); whether
   * it did. Guarded on both, so a holder created meanwhile keeps it.
   */
  async freeIfStale(tenant: string, name: string, holder: string): Promise<boolean> {
    const key = this.ctx.keys.endpointName(tenant, name);
    const res = await runTxn(this.ctx, [holds(key, holder), absent(this.ctx.keys.endpointNetwork(holder))], [del(key)]);
    return res.succeeded;
  }

  private async backfill(): Promise<void> {
    const { keys } = this.ctx;
    if ((await getString(this.ctx, keys.endpointNamesIndexed())) !== undefined) return;
    const tenantOf = new Map((await new Collection<Network>(this.ctx.client, keys.networks()).list()).map((n) => [n.value.id, n.value.tenant]));
    const named = (await endpointCollection(this.ctx.client, keys).list()).map((e) => e.value).filter((e) => e.name !== '' && tenantOf.has(e.network));
    let next = 0;
    const claimNext = async (): Promise<void> => {
      while (next < named.length) {
        const e = named[next++]!;
        const key = keys.endpointName(tenantOf.get(e.network)!, e.name);
        // Only while the endpoint still exists; a key already there (another member's claim, or an older duplicate) stays.
        await runTxn(this.ctx, [absent(key), present(keys.endpoint(e.network, e.id))], [put(key, e.id)]);
      }
    };
    await Promise.all(Array.from({ length: BACKFILL_CONCURRENCY }, claimNext));
    await this.ctx.client.put(keys.endpointNamesIndexed()).value(new Date().toISOString()).exec();
  }
}

export function nameTaken(tenant: string, name: string, holder: string): ResourceConflictError {
  return new ResourceConflictError('duplicate', `endpoint name "${name}" is already used in tenant "${tenant}" (endpoint ${holder})`, { endpoint: holder });
}
