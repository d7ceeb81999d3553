/**
 * /v1/security-groups (SPEC §3, §6, §11): stateful security groups of a
 * tenant, with rules as sub-resources. Another tenant's groups answer 404;
 * a group still used by an endpoint or named by another group's rule cannot
 * be deleted (409).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Versioned } from '../store/collection';
import { DEFAULT_TENANT, type SecurityGroup } from '../store/model';
import { ResourceNotFoundError } from '../store/model-errors';
import type { CreateSecurityGroupInput, RuleInput, SecurityGroupPatch } from '../store/security-group-store';
import { isVisible, requireTenant, scopeOf } from './auth';
import { byNameThenId, paginate } from './pagination';
import { createSecurityGroupBody, patchSecurityGroupBody, ruleBody, ruleParams } from './policy-schemas';
import { ifMatchOf, setEtag } from './preconditions';
import { idParams, listOf, problemResponses, tenantFilterQuery, writeProblemResponses } from './schemas';
import type { ApiDeps } from './server';

const view = (g: Versioned<SecurityGroup>) => ({ ...g.value, revision: g.revision });

/** A group by id or name, visible to the caller (names within the caller's tenant, else the default tenant). */
export async function findSecurityGroup(req: FastifyRequest, deps: ApiDeps, ref: string, tenant?: string): Promise<Versioned<SecurityGroup>> {
  const g = await deps.model.securityGroups.resolve(ref, tenant ?? scopeOf(req)).catch((err: unknown) => {
    if (err instanceof ResourceNotFoundError) throw new ResourceNotFoundError('security group', ref);
    throw err;
  });
  if (!isVisible(req, g.value.tenant)) throw new ResourceNotFoundError('security group', ref);
  return g;
}

export function registerSecurityGroupRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const groups = deps.model.securityGroups;

  app.get<{ Querystring: { limit: number; next?: string; tenant?: string } }>(
    '/v1/security-groups',
    {
      schema: {
        operationId: 'listSecurityGroups',
        summary: 'List security groups with their rules, sorted by name (?tenant= filters)',
        tags: ['security-groups'],
        querystring: tenantFilterQuery,
        response: { 200: listOf('SecurityGroup'), ...problemResponses },
      },
    },
    async (req) => {
      const scope = scopeOf(req);
      const tenant = req.query.tenant ?? scope;
      const items = (await groups.list(tenant === undefined ? {} : { tenant })).filter((g) => isVisible(req, g.value.tenant)).map(view);
      return paginate(items, req.query.limit, req.query.next, byNameThenId);
    },
  );

  app.post<{ Body: CreateSecurityGroupInput }>(
    '/v1/security-groups',
    {
      schema: {
        operationId: 'createSecurityGroup',
        summary: 'Create a security group (rules optional; without an egress rule it allows all egress, as Neutron)',
        tags: ['security-groups'],
        body: createSecurityGroupBody,
        response: { 201: { $ref: 'SecurityGroup#' }, ...writeProblemResponses },
      },
    },
    async (req, reply) => {
      const tenant = req.body.tenant ?? scopeOf(req) ?? DEFAULT_TENANT;
      requireTenant(req, tenant);
      const g = await groups.create({ ...req.body, tenant });
      setEtag(reply, g.revision);
      return reply.status(201).header('location', `/v1/security-groups/${encodeURIComponent(g.value.id)}`).send(view(g));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/security-groups/:id',
    {
      schema: {
        operationId: 'getSecurityGroup',
        summary: 'Show one security group (by id or name) with its rules',
        tags: ['security-groups'],
        params: idParams,
        response: { 200: { $ref: 'SecurityGroup#' }, ...problemResponses },
      },
    },
    async (req, reply) => {
      const g = await findSecurityGroup(req, deps, req.params.id);
      setEtag(reply, g.revision);
      return view(g);
    },
  );

  app.patch<{ Params: { id: string }; Body: SecurityGroupPatch }>(
    '/v1/security-groups/:id',
    {
      schema: {
        operationId: 'updateSecurityGroup',
        summary: 'Rename a security group or change its description (If-Match: revision)',
        tags: ['security-groups'],
        params: idParams,
        body: { content: { 'application/json': { schema: patchSecurityGroupBody }, 'application/merge-patch+json': { schema: patchSecurityGroupBody } } },
        response: { 200: { $ref: 'SecurityGroup#' }, ...writeProblemResponses },
      },
    },
    async (req, reply) => {
      const cur = await findSecurityGroup(req, deps, req.params.id);
      const g = await groups.update(cur.value.id, req.body, ifMatchOf(req));
      setEtag(reply, g.revision);
      return view(g);
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/security-groups/:id',
    {
      schema: {
        operationId: 'deleteSecurityGroup',
        summary: 'Delete a security group no endpoint uses and no rule names (409 otherwise; If-Match: revision)',
        tags: ['security-groups'],
        params: idParams,
        response: { 204: { description: 'deleted', type: 'null' }, ...writeProblemResponses },
      },
    },
    async (req, reply) => {
      const cur = await findSecurityGroup(req, deps, req.params.id);
      await groups.delete(cur.value.id, ifMatchOf(req));
      return reply.status(204).send();
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/security-groups/:id/rules',
    {
      schema: {
        operationId: 'listSecurityGroupRules',
        summary: "A security group's rules",
        tags: ['security-groups'],
        params: idParams,
        response: { 200: { type: 'object', properties: { items: { type: 'array', items: { $ref: 'SecurityGroupRule#' } } }, required: ['items'] }, ...problemResponses },
      },
    },
    async (req) => ({ items: (await findSecurityGroup(req, deps, req.params.id)).value.rules }),
  );

  app.post<{ Params: { id: string }; Body: RuleInput }>(
    '/v1/security-groups/:id/rules',
    {
      schema: {
        operationId: 'createSecurityGroupRule',
        summary: 'Add a rule; new connections it allows pass at once',
        tags: ['security-groups'],
        params: idParams,
        body: ruleBody,
        response: { 201: { $ref: 'SecurityGroupRule#' }, ...writeProblemResponses },
      },
    },
    async (req, reply) => {
      const cur = await findSecurityGroup(req, deps, req.params.id);
      const { group, rule } = await groups.addRule(cur.value.id, req.body, ifMatchOf(req));
      setEtag(reply, group.revision);
      return reply.status(201).header('location', `/v1/security-groups/${encodeURIComponent(group.value.id)}/rules/${encodeURIComponent(rule.id)}`).send(rule);
    },
  );

  app.delete<{ Params: { id: string; rule: string } }>(
    '/v1/security-groups/:id/rules/:rule',
    {
      schema: {
        operationId: 'deleteSecurityGroupRule',
        summary: 'Remove a rule; connections it admitted are cut at once',
        tags: ['security-groups'],
        params: ruleParams,
        response: { 204: { description: 'deleted', type: 'null' }, ...writeProblemResponses },
      },
    },
    async (req, reply) => {
      const cur = await findSecurityGroup(req, deps, req.params.id);
      await groups.deleteRule(cur.value.id, req.params.rule, ifMatchOf(req));
      return reply.status(204).send();
    },
  );
}
