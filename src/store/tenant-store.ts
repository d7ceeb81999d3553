/**
 * Tenants (SPEC §3). The default tenant always exists, implicitly until
 * written; a tenant is deleted only while it owns no network (no key under
 * network-names/<tenant>/).
 */
import { Collection, type Versioned } from './collection';
import { checkName, compareIds, isoNow, throwNotFound } from './model-checks';
import { ResourceConflictError, ResourceNotFoundError } from './model-errors';
import { DEFAULT_TENANT, type Tenant } from './model';
import { absent, del, emptyPrefix, modifyRecord, put, removeRecord, runTxn, type StoreContext } from './txn';

export interface CreateTenantInput {
  readonly name: string;
  /** Defaults to the name. */
  readonly id?: string;
}
export interface TenantPatch {
  readonly name?: string;
}

export class TenantStore {
  private readonly records: Collection<Tenant>;

  constructor(private readonly ctx: StoreContext) {
    this.records = new Collection<Tenant>(ctx.client, ctx.keys.tenants());
  }

  /** Every tenant, sorted by id; the default tenant is always there. */
  async list(): Promise<Versioned<Tenant>[]> {
    const list = await this.records.list();
    if (!list.some((t) => t.value.id === DEFAULT_TENANT)) list.unshift(implicitDefaultTenant());
    return list.sort((x, y) => compareIds(x.value.id, y.value.id));
  }

  async get(id: string): Promise<Versioned<Tenant>> {
    const t = await this.records.get(id);
    if (t) return t;
    if (id === DEFAULT_TENANT) return implicitDefaultTenant();
    throw new ResourceNotFoundError('tenant', id);
  }

  async create(input: CreateTenantInput): Promise<Versioned<Tenant>> {
    const name = checkName('tenant name', input.name);
    const id = checkName('tenant id', input.id ?? input.name);
    const tenant: Tenant = { id, name, createdAt: isoNow() };
    const key = this.ctx.keys.tenant(id);
    const res = await runTxn(this.ctx, [absent(key)], [put(key, tenant)]);
    if (!res.succeeded) throw new ResourceConflictError('duplicate', `tenant "${id}" already exists`, { tenant: id });
    return { value: tenant, revision: res.revision };
  }

  async update(id: string, patch: TenantPatch, ifMatch?: string): Promise<Versioned<Tenant>> {
    return modifyRecord(this.ctx, this.ctx.keys.tenant(id), () => this.load(id), ifMatch, async (cur) => ({
      value: { ...cur, ...(patch.name !== undefined ? { name: checkName('tenant name', patch.name) } : {}) },
    }));
  }

  /** Deletes a tenant that owns no network. */
  async delete(id: string, ifMatch?: string): Promise<void> {
    if (id === DEFAULT_TENANT) throw new ResourceConflictError('in-use', `the default tenant "${DEFAULT_TENANT}" cannot be deleted`);
    const key = this.ctx.keys.tenant(id);
    await removeRecord(this.ctx, key, () => this.load(id), ifMatch, async () => ({
      guards: [emptyPrefix(this.ctx.keys.networkNames(id))],
      ops: [del(key)],
      explain: (found) => {
        if (found[1]) throw new ResourceConflictError('in-use', `tenant "${id}" still has networks (delete them first)`, { tenant: id });
      },
    }));
  }

  private async load(id: string): Promise<Versioned<Tenant>> {
    return (await this.records.get(id)) ?? throwNotFound('tenant', id);
  }
}

function implicitDefaultTenant(): Versioned<Tenant> {
  return { value: { id: DEFAULT_TENANT, name: DEFAULT_TENANT, createdAt: new Date(0).toISOString() }, revision: '0' };
}
