/**
 * The REST API (SPEC §6) on fastify: schema-validated requests, problem+json
 * errors, OpenAPI generated from the route schemas. Routes get their data from
 * the daemon through `ApiDeps`; nothing here talks to etcd or switches directly.
 */
import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Logger } from '../log';
import type { Versioned } from '../store/collection';
import type { HostRecord, MemberRecord } from '../store/model';
import type { ModelStore } from '../store/model-store';
import { registerClusterRoutes } from './cluster';
import { registerEndpointRoutes } from './endpoints';
import { registerHostRoutes } from './hosts';
import { registerNetworkRoutes } from './networks';
import { toProblem } from './problems';
import { hostSchema, modelSchemas, problemSchema } from './schemas';
import { registerSubnetRoutes } from './subnets';
import { registerTenantRoutes } from './tenants';

export interface ReadyReport {
  readonly ready: boolean;
  readonly checks: Readonly<Record<string, string>>;
}

export interface ApiDeps {
  readonly metrics?: Registry;
  readonly memberId: string;
  readonly version: string;
  readonly log: Logger;
  readonly hosts: {
    list(): Promise<Versioned<HostRecord>[]>;
    get(id: string): Promise<Versioned<HostRecord> | undefined>;
    /** Removes the host and its tunnels everywhere; false if unknown. */
    decommission(id: string): Promise<boolean>;
  };
  readiness(): Promise<ReadyReport>;
  /** Tenants, networks, subnets, endpoints (SPEC §3). */
  readonly model: ModelStore;
  /** Flows on its host that belong to an endpoint, for the drill-down (undefined: not known here). */
  readonly flowsOf?: (endpointId: string) => unknown;
  readonly cluster?: {
    members(): readonly MemberRecord[];
    masters(): ReadonlyMap<string, { readonly member: string; readonly generation: bigint }>;
  };
}

export async function buildApi(deps: ApiDeps): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    bodyLimit: 1024 * 1024,
    // Peers hold heartbeat connections open; closing must not wait for them.
    forceCloseConnections: true,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } },
  });
  app.addSchema(problemSchema);
  app.addSchema(hostSchema);
  for (const schema of modelSchemas) app.addSchema(schema);
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Plexus API', version: deps.version, description: 'Plexus SDN controller REST API (v1)' },
    },
  });

  app.setErrorHandler((err, req, reply) => {
    const problem = toProblem(err, req.url);
    if (problem.status >= 500) deps.log.error('api request failed', { method: req.method, url: req.url, error: (err as Error).message });
    else deps.log.debug('api request rejected', { method: req.method, url: req.url, status: problem.status, detail: problem.detail });
    void reply.status(problem.status).type('application/problem+json').send(problem);
  });
  app.setNotFoundHandler((req, reply) => {
    void reply
      .status(404)
      .type('application/problem+json')
      .send({ type: 'about:blank', title: 'Not Found', status: 404, detail: `no route ${req.method} ${req.url.split('?')[0]}`, instance: req.url });
  });

  app.get('/v1/health', { schema: { summary: 'Liveness: the process answers' } }, async () => ({
    status: 'ok',
    member: deps.memberId,
    version: deps.version,
  }));
  app.get('/v1/ready', { schema: { summary: 'Readiness: etcd reachable and listeners up' } }, async (_req, reply) => {
    const report = await deps.readiness();
    if (report.ready) return { status: 'ready', checks: report.checks };
    return reply
      .status(503)
      .type('application/problem+json')
      .send({ type: 'about:blank', title: 'Service Unavailable', status: 503, detail: describeChecks(report.checks), checks: report.checks });
  });
  registerHostRoutes(app, deps);
  registerTenantRoutes(app, deps);
  registerNetworkRoutes(app, deps);
  registerSubnetRoutes(app, deps);
  registerEndpointRoutes(app, deps);
  registerClusterRoutes(app, deps);
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    if (!deps.metrics) return reply.status(404).send();
    return reply.type(deps.metrics.contentType).send(await deps.metrics.metrics());
  });
  app.get('/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}

function describeChecks(checks: Readonly<Record<string, string>>): string {
  const failing = Object.entries(checks).filter(([, v]) => v !== 'ok');
  return failing.length ? `not ready: ${failing.map(([k, v]) => `${k} ${v}`).join(', ')}` : 'not ready';
}
