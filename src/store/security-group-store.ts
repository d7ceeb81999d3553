/**
 * Security groups (SPEC §3): one record per group with its rules inside, a
 * name unique per tenant (security-group-names/<tenant>/<name>, claimed in
 * the create transaction). A rule's remote group must exist in the same
 * tenant. A group is deleted only while no endpoint and no other group's rule
 * names it (409 in-use).
 */
import { randomUUID } from 'node:crypto';
import { Collection, type Versioned } from './collection';
import { checkId, checkName, compareIds, isoNow, ID_RE, NAME_RE, throwNotFound } from './model-checks';
import { InvalidRequestError, ResourceConflictError, ResourceNotFoundError } from './model-errors';
import { DEFAULT_TENANT, type SecurityGroup, type SecurityGroupRule } from './model';
import { checkRule, defaultEgressRules, type RuleInput } from './security-rules';
import { endpointCollection } from './stored-form';
import { absent, del, getString, modifyRecord, present, put, removeRecord, runTxn, type StoreContext } from './txn';

export type { RuleInput } from './security-rules';

export interface CreateSecurityGroupInput {
  readonly name: string;
  readonly tenant?: string;
  readonly id?: string;
  readonly description?: string;
  /** Without an egress rule among them, the group also gets Neutron's default: all egress, IPv4 and IPv6. */
  readonly rules?: readonly RuleInput[];
}
export interface SecurityGroupPatch {
  readonly name?: string;
  readonly description?: string;
}

/** Most rules one group may hold (every rule costs flows on every host with a member). */
export const MAX_RULES = 200;

export class SecurityGroupStore {
  private readonly records: Collection<SecurityGroup>;

  constructor(private readonly ctx: StoreContext) {
    this.records = new Collection<SecurityGroup>(ctx.client, ctx.keys.securityGroups());
  }

  async list(filter: { tenant?: string } = {}): Promise<Versioned<SecurityGroup>[]> {
    const all = (await this.records.list()).sort((x, y) => compareIds(x.value.id, y.value.id));
    return filter.tenant === undefined ? all : all.filter((g) => g.value.tenant === filter.tenant);
  }

  async get(id: string): Promise<Versioned<SecurityGroup>> {
    return (ID_RE.test(id) ? await this.records.get(id) : undefined) ?? throwNotFound('security group', id);
  }

  /** A group by id, else by name in `tenant` (default tenant when not given). */
  async resolve(idOrName: string, tenant?: string): Promise<Versioned<SecurityGroup>> {
    const byId = ID_RE.test(idOrName) ? await this.records.get(idOrName) : undefined;
    if (byId && (tenant === undefined || byId.value.tenant === tenant)) return byId;
    if (NAME_RE.test(idOrName)) {
      const id = await getString(this.ctx, this.ctx.keys.securityGroupName(tenant ?? DEFAULT_TENANT, idOrName));
      const g = id === undefined ? undefined : await this.records.get(id);
      if (g) return g;
    }
    throw new ResourceNotFoundError('security group', idOrName);
  }

  async create(input: CreateSecurityGroupInput): Promise<Versioned<SecurityGroup>> {
    const { keys } = this.ctx;
    const name = checkName('security group name', input.name);
    const tenant = checkName('tenant', input.tenant ?? DEFAULT_TENANT);
    const id = input.id === undefined ? randomUUID() : checkId('security group id', input.id);
    const description = input.description ?? '';
    if (description.length > 1024) throw new InvalidRequestError('description: longer than 1024 characters');
    const given = input.rules ?? [];
    if (given.length > MAX_RULES) throw new InvalidRequestError(`rules: more than ${MAX_RULES} rules`);
    const rules: SecurityGroupRule[] = [];
    for (const [i, r] of given.entries()) {
      // A rule may name the group being created (members may reach each other).
      const self = r.remoteGroup === name || r.remoteGroup === id;
      const remoteGroup = r.remoteGroup === undefined ? undefined : self ? id : await this.resolveRemote(r.remoteGroup, tenant, `rules[${i}].remoteGroup`);
      rules.push(checkRule({ ...r, ...(remoteGroup !== undefined ? { remoteGroup } : {}) }, `rules[${i}]`));
    }
    if (!rules.some((r) => r.direction === 'egress')) rules.push(...defaultEgressRules());
    const at = isoNow();
    const group: SecurityGroup = { id, name, tenant, description, rules, createdAt: at, updatedAt: at };
    const nameKey = keys.securityGroupName(tenant, name);
    const tenantGuard = tenant === DEFAULT_TENANT ? [] : [present(keys.tenant(tenant))];
    const remoteGuards = [...new Set(rules.map((r) => r.remoteGroup).filter((g): g is string => g !== undefined && g !== id))].map((g) => present(keys.securityGroup(g)));
    const res = await runTxn(this.ctx, [absent(keys.securityGroup(id)), absent(nameKey), ...tenantGuard, ...remoteGuards], [put(keys.securityGroup(id), group), put(nameKey, id)]);
    if (res.succeeded) return { value: group, revision: res.revision };
    const [idTaken, nameTaken, ...rest] = res.found;
    if (idTaken) throw new ResourceConflictError('duplicate', `security group "${id}" already exists`, { securityGroup: id });
    if (nameTaken) throw new ResourceConflictError('duplicate', `security group "${name}" already exists in tenant "${tenant}" (id ${nameTaken.value.toString()})`, { securityGroup: nameTaken.value.toString() });
    if (tenantGuard.length && !rest[0]) throw new ResourceNotFoundError('tenant', tenant);
    throw new ResourceConflictError('in-use', 'a remote group named by a rule was deleted meanwhile: try again');
  }

  async update(id: string, patch: SecurityGroupPatch, ifMatch?: string): Promise<Versioned<SecurityGroup>> {
    const { keys } = this.ctx;
    if (patch.description !== undefined && patch.description.length > 1024) throw new InvalidRequestError('description: longer than 1024 characters');
    const newName = patch.name === undefined ? undefined : checkName('security group name', patch.name);
    return modifyRecord(this.ctx, keys.securityGroup(id), () => this.get(id), ifMatch, async (cur) => {
      const renamed = newName !== undefined && newName !== cur.name;
      if (renamed) {
        const holder = await getString(this.ctx, keys.securityGroupName(cur.tenant, newName));
        if (holder !== undefined) throw new ResourceConflictError('duplicate', `security group "${newName}" already exists in tenant "${cur.tenant}" (id ${holder})`, { securityGroup: holder });
      }
      return {
        value: { ...cur, ...(newName !== undefined ? { name: newName } : {}), ...(patch.description !== undefined ? { description: patch.description } : {}), updatedAt: isoNow() },
        ...(renamed ? { guards: [absent(keys.securityGroupName(cur.tenant, newName))], ops: [del(keys.securityGroupName(cur.tenant, cur.name)), put(keys.securityGroupName(cur.tenant, newName), id)] } : {}),
      };
    });
  }

  /** Adds one rule; returns the group and the stored rule. */
  async addRule(id: string, input: RuleInput, ifMatch?: string): Promise<{ group: Versioned<SecurityGroup>; rule: SecurityGroupRule }> {
    const { keys } = this.ctx;
    let rule: SecurityGroupRule | undefined;
    const group = await modifyRecord(this.ctx, keys.securityGroup(id), () => this.get(id), ifMatch, async (cur) => {
      if (cur.rules.length >= MAX_RULES) throw new ResourceConflictError('exhausted', `security group "${cur.name}" already has ${MAX_RULES} rules`);
      const remoteGroup =
        input.remoteGroup === undefined ? undefined : input.remoteGroup === cur.id || input.remoteGroup === cur.name ? cur.id : await this.resolveRemote(input.remoteGroup, cur.tenant, 'remoteGroup');
      rule = checkRule({ ...input, ...(remoteGroup !== undefined ? { remoteGroup } : {}) }, 'rule');
      if (cur.rules.some((r) => r.id === rule!.id)) throw new ResourceConflictError('duplicate', `rule "${rule.id}" already exists in security group "${cur.name}"`);
      return {
        value: { ...cur, rules: [...cur.rules, rule], updatedAt: isoNow() },
        ...(remoteGroup !== undefined && remoteGroup !== cur.id ? { guards: [present(keys.securityGroup(remoteGroup))] } : {}),
      };
    });
    return { group, rule: rule! };
  }

  async deleteRule(id: string, ruleId: string, ifMatch?: string): Promise<Versioned<SecurityGroup>> {
    return modifyRecord(this.ctx, this.ctx.keys.securityGroup(id), () => this.get(id), ifMatch, async (cur) => {
      if (!cur.rules.some((r) => r.id === ruleId)) throw new ResourceNotFoundError('security group rule', ruleId);
      return { value: { ...cur, rules: cur.rules.filter((r) => r.id !== ruleId), updatedAt: isoNow() } };
    });
  }

  /** Deletes a group no endpoint and no other group's rule names (409 in-use otherwise). */
  async delete(id: string, ifMatch?: string): Promise<void> {
    const { keys } = this.ctx;
    await removeRecord(this.ctx, keys.securityGroup(id), () => this.get(id), ifMatch, async (cur) => {
      const endpoints = (await endpointCollection(this.ctx.client, keys).list()).filter((e) => e.value.securityGroups.includes(id));
      if (endpoints.length) {
        const ids = endpoints.map((e) => e.value.id).sort();
        throw new ResourceConflictError('in-use', `security group "${cur.name}" is used by ${ids.length} endpoint(s): ${ids.slice(0, 10).join(', ')}${ids.length > 10 ? ', ...' : ''}`, { endpoints: ids.slice(0, 100) });
      }
      const naming = (await this.records.list()).filter((g) => g.value.id !== id && g.value.rules.some((r) => r.remoteGroup === id));
      if (naming.length) {
        const ids = naming.map((g) => g.value.id).sort();
        throw new ResourceConflictError('in-use', `security group "${cur.name}" is the remote group of rules in ${ids.join(', ')}`, { securityGroups: ids });
      }
      return { guards: [], ops: [del(keys.securityGroup(id)), del(keys.securityGroupName(cur.tenant, cur.name))] };
    });
  }

  /** A remote group named by a rule: must exist in the rule's tenant (another tenant's group is not found there). */
  private async resolveRemote(ref: string, tenant: string, field: string): Promise<string> {
    try {
      return (await this.resolve(ref, tenant)).value.id;
    } catch (err) {
      if (!(err instanceof ResourceNotFoundError)) throw err;
      const notFound = new ResourceNotFoundError('security group', ref);
      notFound.message = `${field}: security group "${ref}" does not exist in tenant "${tenant}"`;
      throw notFound;
    }
  }

  /** The ids of the given groups (ids or names), each required to exist in `tenant`. */
  async resolveAll(refs: readonly string[], tenant: string, field = 'securityGroups'): Promise<string[]> {
    const out: string[] = [];
    for (const [i, ref] of refs.entries()) out.push(await this.resolveRemote(ref, tenant, `${field}[${i}]`));
    return [...new Set(out)];
  }
}
