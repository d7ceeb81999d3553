/**
 * QoS policies (SPEC §3): rate limits (egress, ingress) and a DSCP mark, a
 * name unique per tenant. A policy is deleted only while no endpoint and no
 * network uses it (409 in-use).
 */
import { randomUUID } from 'node:crypto';
import { Collection, type Versioned } from './collection';
import { checkId, checkName, compareIds, isoNow, ID_RE, NAME_RE, throwNotFound } from './model-checks';
import { InvalidRequestError, ResourceConflictError, ResourceNotFoundError } from './model-errors';
import { DEFAULT_TENANT, type Network, type QosPolicy, type RateLimit } from './model';
import { endpointCollection } from './stored-form';
import { absent, del, getString, modifyRecord, present, put, removeRecord, runTxn, type StoreContext } from './txn';

export interface RateLimitInput {
  readonly rateKbps: number;
  readonly burstKb?: number;
}
export interface CreateQosPolicyInput {
  readonly name: string;
  readonly tenant?: string;
  readonly id?: string;
  readonly egress?: RateLimitInput;
  readonly ingress?: RateLimitInput;
  readonly dscp?: number;
}
export interface QosPolicyPatch {
  readonly name?: string;
  readonly egress?: RateLimitInput | null;
  readonly ingress?: RateLimitInput | null;
  readonly dscp?: number | null;
}

/** Highest rate a meter band takes (kbit/s, 32 bits in OpenFlow; 100 Gbit/s is plenty). */
export const MAX_RATE_KBPS = 100_000_000;

/** A rate limit as stored: burst defaults to 100 ms at the rate (at least 16 kbit, a jumbo frame's worth twice). */
export function checkRateLimit(input: RateLimitInput, field: string): RateLimit {
  const { rateKbps } = input;
  if (!Number.isInteger(rateKbps) || rateKbps < 1 || rateKbps > MAX_RATE_KBPS) throw new InvalidRequestError(`${field}.rateKbps: ${rateKbps} is not 1..${MAX_RATE_KBPS}`);
  const burstKb = input.burstKb ?? Math.max(16, Math.ceil(rateKbps / 10));
  if (!Number.isInteger(burstKb) || burstKb < 1 || burstKb > MAX_RATE_KBPS) throw new InvalidRequestError(`${field}.burstKb: ${burstKb} is not 1..${MAX_RATE_KBPS}`);
  return { rateKbps, burstKb };
}

function checkDscp(dscp: number): number {
  if (!Number.isInteger(dscp) || dscp < 0 || dscp > 63) throw new InvalidRequestError(`dscp: ${dscp} is not 0..63`);
  return dscp;
}

export class QosPolicyStore {
  private readonly records: Collection<QosPolicy>;

  constructor(private readonly ctx: StoreContext) {
    this.records = new Collection<QosPolicy>(ctx.client, ctx.keys.qosPolicies());
  }

  async list(filter: { tenant?: string } = {}): Promise<Versioned<QosPolicy>[]> {
    const all = (await this.records.list()).sort((x, y) => compareIds(x.value.id, y.value.id));
    return filter.tenant === undefined ? all : all.filter((p) => p.value.tenant === filter.tenant);
  }

  async get(id: string): Promise<Versioned<QosPolicy>> {
    return (ID_RE.test(id) ? await this.records.get(id) : undefined) ?? throwNotFound('QoS policy', id);
  }

  async resolve(idOrName: string, tenant?: string): Promise<Versioned<QosPolicy>> {
    const byId = ID_RE.test(idOrName) ? await this.records.get(idOrName) : undefined;
    if (byId && (tenant === undefined || byId.value.tenant === tenant)) return byId;
    if (NAME_RE.test(idOrName)) {
      const id = await getString(this.ctx, this.ctx.keys.qosPolicyName(tenant ?? DEFAULT_TENANT, idOrName));
      const p = id === undefined ? undefined : await this.records.get(id);
      if (p) return p;
    }
    throw new ResourceNotFoundError('QoS policy', idOrName);
  }

  async create(input: CreateQosPolicyInput): Promise<Versioned<QosPolicy>> {
    const { keys } = this.ctx;
    const name = checkName('QoS policy name', input.name);
    const tenant = checkName('tenant', input.tenant ?? DEFAULT_TENANT);
    const id = input.id === undefined ? randomUUID() : checkId('QoS policy id', input.id);
    if (input.egress === undefined && input.ingress === undefined && input.dscp === undefined) throw new InvalidRequestError('egress: a QoS policy needs egress, ingress or dscp');
    const at = isoNow();
    const policy: QosPolicy = {
      id,
      name,
      tenant,
      ...(input.egress !== undefined ? { egress: checkRateLimit(input.egress, 'egress') } : {}),
      ...(input.ingress !== undefined ? { ingress: checkRateLimit(input.ingress, 'ingress') } : {}),
      ...(input.dscp !== undefined ? { dscp: checkDscp(input.dscp) } : {}),
      createdAt: at,
      updatedAt: at,
    };
    const nameKey = keys.qosPolicyName(tenant, name);
    const tenantGuard = tenant === DEFAULT_TENANT ? [] : [present(keys.tenant(tenant))];
    const res = await runTxn(this.ctx, [absent(keys.qosPolicy(id)), absent(nameKey), ...tenantGuard], [put(keys.qosPolicy(id), policy), put(nameKey, id)]);
    if (res.succeeded) return { value: policy, revision: res.revision };
    const [idTaken, nameTaken] = res.found;
    if (idTaken) throw new ResourceConflictError('duplicate', `QoS policy "${id}" already exists`, { qosPolicy: id });
    if (nameTaken) throw new ResourceConflictError('duplicate', `QoS policy "${name}" already exists in tenant "${tenant}" (id ${nameTaken.value.toString()})`, { qosPolicy: nameTaken.value.toString() });
    throw new ResourceNotFoundError('tenant', tenant);
  }

  async update(id: string, patch: QosPolicyPatch, ifMatch?: string): Promise<Versioned<QosPolicy>> {
    const { keys } = this.ctx;
    const newName = patch.name === undefined ? undefined : checkName('QoS policy name', patch.name);
    return modifyRecord(this.ctx, keys.qosPolicy(id), () => this.get(id), ifMatch, async (cur) => {
      const next: Record<string, unknown> = { ...cur, updatedAt: isoNow() };
      if (newName !== undefined) next['name'] = newName;
      for (const dir of ['egress', 'ingress'] as const) {
        const v = patch[dir];
        if (v === null) delete next[dir];
        else if (v !== undefined) next[dir] = checkRateLimit(v, dir);
      }
      if (patch.dscp === null) delete next['dscp'];
      else if (patch.dscp !== undefined) next['dscp'] = checkDscp(patch.dscp);
      const value = next as unknown as QosPolicy;
      if (value.egress === undefined && value.ingress === undefined && value.dscp === undefined) throw new InvalidRequestError('egress: a QoS policy needs egress, ingress or dscp');
      const renamed = newName !== undefined && newName !== cur.name;
      return {
        value,
        ...(renamed ? { guards: [absent(keys.qosPolicyName(cur.tenant, newName))], ops: [del(keys.qosPolicyName(cur.tenant, cur.name)), put(keys.qosPolicyName(cur.tenant, newName), id)] } : {}),
      };
    });
  }

  async delete(id: string, ifMatch?: string): Promise<void> {
    const { keys } = this.ctx;
    await removeRecord(this.ctx, keys.qosPolicy(id), () => this.get(id), ifMatch, async (cur) => {
      const endpoints = (await endpointCollection(this.ctx.client, keys).list()).filter((e) => e.value.qosPolicy === id).map((e) => e.value.id);
      const networks = (await new Collection<Network>(this.ctx.client, keys.networks()).list()).filter((n) => n.value.qosPolicy === id).map((n) => n.value.id);
      if (endpoints.length || networks.length) {
        throw new ResourceConflictError('in-use', `QoS policy "${cur.name}" is used by ${endpoints.length} endpoint(s) and ${networks.length} network(s)`, {
          endpoints: endpoints.slice(0, 100),
          networks: networks.slice(0, 100),
        });
      }
      return { guards: [], ops: [del(keys.qosPolicy(id)), del(keys.qosPolicyName(cur.tenant, cur.name))] };
    });
  }
}
