/**
 * The REST API (SPEC §6) on fastify: strictly validated requests (no type
 * coercion of bodies), bearer-token auth with tenant scoping, problem+json for
 * every error status, an audit line for every write, server-side timeouts, and
 * an OpenAPI document generated from the same schemas. Routes get their data
 * from the daemon through `ApiDeps`; nothing here talks to etcd or switches directly.
 */
import type { Socket } from 'node:net';
import swagger from '@fastify/swagger';
import Ajv from 'ajv';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Logger } from '../log';
import type { Versioned } from '../store/collection';
import type { EventFeed } from '../store/event-feed';
import type { HostRecord, MemberRecord } from '../store/model';
import type { ModelStore } from '../store/model-store';
import { authenticate, principalOf, setPrincipal, type ApiToken } from './auth';
import { registerClusterRoutes } from './cluster';
import { registerEndpointRoutes } from './endpoints';
import { registerEventRoutes } from './events';
import { registerHostRoutes } from './hosts';
import { registerNetworkRoutes } from './networks';
import { policySchemas } from './policy-schemas';
import { registerQosPolicyRoutes } from './qos-policies';
import { registerSecurityGroupRoutes } from './security-groups';
import { describeOpenApi } from './openapi';
import { ApiError, PROBLEM_TYPE, problemOf, toProblem } from './problems';
import { checkRequestStrings } from './strings';
import { hostSchema, modelSchemas, problemSchema, problemResponses } from './schemas';
import { registerSubnetRoutes } from './subnets';
import { registerRouterRoutes } from './routers';
import { registerTenantRoutes } from './tenants';
import { registerTraceRoutes, type TraceSource } from './trace';

export interface ReadyReport {
  readonly ready: boolean;
  readonly checks: Readonly<Record<string, string>>;
}

export interface ApiTls {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** Set: clients must present a certificate this CA signed. */
  readonly ca?: Buffer;
}

export interface ApiDeps {
  readonly metrics?: Registry;
  readonly memberId: string;
  readonly version: string;
  readonly log: Logger;
  /** Bearer tokens (SPEC §6); empty = no authentication (plexusd then binds loopback only). */
  readonly tokens?: readonly ApiToken[];
  readonly tls?: ApiTls;
  /** Overrides of HTTP_LIMITS (tests use short ones). */
  readonly limits?: Partial<HttpLimits>;
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
  /** The model cache and the hosts' tunnel ports, for POST /v1/trace. */
  readonly trace?: TraceSource;
  /** The change feed behind GET /v1/events. */
  readonly events?: EventFeed;
  /** Effective security rules, QoS and the flows each produced, for the drill-down (undefined: not known here). */
  readonly policyOf?: (endpointId: string) => unknown;
  readonly cluster?: {
    members(): readonly MemberRecord[];
    masters(): ReadonlyMap<string, { readonly member: string; readonly generation: bigint }>;
  };
}

/** Server-side limits against slow or stuck clients (slowloris): headers, whole request, idle keep-alive. */
export interface HttpLimits {
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly maxUrlLength: number;
  readonly maxHeaderBytes: number;
}

export const HTTP_LIMITS: HttpLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  /** Socket inactivity; long-lived responses (heartbeat) write more often than this. */
  idleTimeoutMs: 60_000,
  maxUrlLength: 8192,
  maxHeaderBytes: 16_384,
};

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export async function buildApi(deps: ApiDeps): Promise<FastifyInstance> {
  const tokens = deps.tokens ?? [];
  const limits: HttpLimits = { ...HTTP_LIMITS, ...deps.limits };
  const audit = deps.log.child({ module: 'audit' });
  const nodeHttp = {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
    maxHeaderSize: limits.maxHeaderBytes,
  };
  const app = Fastify({
    logger: false,
    bodyLimit: 1024 * 1024,
    // Peers hold heartbeat connections open; closing must not wait for them.
    forceCloseConnections: true,
    // Ids may be up to 253 characters; longer path parameters are a 404 from the router otherwise.
    routerOptions: { maxParamLength: 1024 },
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionTimeout: limits.idleTimeoutMs,
    http: nodeHttp,
    ...(deps.tls
      ? { https: { ...nodeHttp, cert: deps.tls.cert, key: deps.tls.key, ...(deps.tls.ca ? { ca: deps.tls.ca, requestCert: true, rejectUnauthorized: true } : {}) } }
      : {}),
    clientErrorHandler: (err: Error & { code?: string }, socket: Socket) => answerClientError(err, socket, limits),
  } as Parameters<typeof Fastify>[0]) as unknown as FastifyInstance;
  app.server.headersTimeout = limits.headersTimeoutMs;

  // Bodies are validated as sent: no coercion ({"name":5} is not the name "5"), every error reported.
  // Query strings and path parameters are text by nature: those are coerced ("?limit=10").
  const strict = new Ajv({ coerceTypes: false, useDefaults: true, removeAdditional: false, allErrors: true, verbose: true, strict: false });
  const lenient = new Ajv({ coerceTypes: 'array', useDefaults: true, removeAdditional: false, allErrors: true, verbose: true, strict: false });
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strict : lenient).compile(schema));

  app.addSchema(problemSchema);
  app.addSchema(hostSchema);
  for (const schema of modelSchemas) app.addSchema(schema);
  for (const schema of policySchemas) app.addSchema(schema);
  await app.register(swagger, describeOpenApi(deps.version, tokens.length > 0));

  // RFC 7386 merge patches are JSON too.
  app.addContentTypeParser('application/merge-patch+json', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));

  // Which methods each path pattern has, for 405 (PUT on a collection is not a missing resource).
  const routes: { readonly re: RegExp; readonly method: string }[] = [];
  app.addHook('onRoute', (r) => {
    const re = new RegExp(`^${r.url.replace(/:[^/]+/g, '[^/]+')}/?$`);
    for (const m of [r.method].flat()) routes.push({ re, method: m });
  });

  app.addHook('onRequest', async (req) => {
    if (req.url.length > limits.maxUrlLength) throw new ApiError(414, 'URI Too Long', `the request URL is longer than ${limits.maxUrlLength} characters`);
    if ((req.routeOptions.config as { public?: boolean } | undefined)?.public) return;
    setPrincipal(req, authenticate(tokens, req.headers.authorization));
  });
  // Every string a request carries must be printable, well-formed text: checked before any write.
  app.addHook('preValidation', async (req) => checkRequestStrings(req));
  app.addHook('onResponse', async (req, reply) => {
    if (!WRITE_METHODS.has(req.method) || (req.routeOptions.config as { public?: boolean } | undefined)?.public) return;
    const p = principalOf(req);
    const etag = reply.getHeader('etag');
    audit.info('api write', {
      who: p.name,
      ...(p.kind === 'tenant' ? { tenant: p.tenant } : {}),
      method: req.method,
      path: req.url.split('?')[0],
      status: reply.statusCode,
      ...(etag ? { revision: String(etag).replace(/"/g, '') } : {}),
      remote: req.ip,
    });
  });

  app.setErrorHandler((err, req, reply) => {
    const problem = toProblem(err, req.url);
    if (problem.status >= 500) deps.log.error('api request failed', { method: req.method, url: req.url, status: problem.status, error: (err as Error).message });
    else deps.log.debug('api request rejected', { method: req.method, url: req.url, status: problem.status, detail: problem.detail, cause: (err as Error).message });
    if (problem.status === 401) void reply.header('www-authenticate', 'Bearer realm="plexus"');
    if (problem.status === 503) void reply.header('retry-after', '2');
    void reply.status(problem.status).type(PROBLEM_TYPE).send(problem);
  });
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0]!;
    const allowed = [...new Set(routes.filter((r) => r.re.test(path)).map((r) => r.method))].filter((m) => m !== 'HEAD');
    if (allowed.length) {
      return reply
        .status(405)
        .header('allow', allowed.join(', '))
        .type(PROBLEM_TYPE)
        .send({ ...problemOf(405, `${req.method} is not allowed on ${path} (allowed: ${allowed.join(', ')})`), instance: req.url });
    }
    return reply.status(404).type(PROBLEM_TYPE).send({ ...problemOf(404, `no route ${req.method} ${path}`), instance: req.url });
  });

  app.get(
    '/v1/health',
    {
      config: { public: true },
      schema: { operationId: 'getHealth', summary: 'Liveness: the process answers', tags: ['status'], security: [], response: { 200: healthSchema, 414: problemResponses[414] } },
    },
    async () => ({ status: 'ok', member: deps.memberId, version: deps.version }),
  );
  app.get(
    '/v1/ready',
    {
      config: { public: true },
      schema: {
        operationId: 'getReady',
        summary: 'Readiness: etcd reachable and listeners up',
        tags: ['status'],
        security: [],
        response: { 200: readySchema, 414: problemResponses[414], 503: problemResponses[503] },
      },
    },
    async (_req, reply) => {
      const report = await deps.readiness();
      if (report.ready) return { status: 'ready', checks: report.checks };
      return reply.status(503).type(PROBLEM_TYPE).send({ ...problemOf(503, describeChecks(report.checks)), checks: report.checks });
    },
  );
  registerHostRoutes(app, deps);
  registerTenantRoutes(app, deps);
  registerNetworkRoutes(app, deps);
  registerSubnetRoutes(app, deps);
  registerEndpointRoutes(app, deps);
  registerSecurityGroupRoutes(app, deps);
  registerQosPolicyRoutes(app, deps);
  registerClusterRoutes(app, deps);
  registerTraceRoutes(app, deps);
  registerEventRoutes(app, deps);
  registerRouterRoutes(app, deps);
  app.get('/metrics', { config: { public: true }, schema: { hide: true } }, async (_req, reply) => {
    if (!deps.metrics) return reply.status(404).type(PROBLEM_TYPE).send(problemOf(404, 'metrics are not enabled'));
    return reply.type(deps.metrics.contentType).send(await deps.metrics.metrics());
  });
  app.get('/v1/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());
  return app;
}

const healthSchema = {
  type: 'object',
  properties: { status: { type: 'string', enum: ['ok'] }, member: { type: 'string' }, version: { type: 'string' } },
  required: ['status', 'member', 'version'],
} as const;

const readySchema = {
  type: 'object',
  properties: { status: { type: 'string', enum: ['ready'] }, checks: { type: 'object', additionalProperties: { type: 'string' } } },
  required: ['status', 'checks'],
} as const;

function describeChecks(checks: Readonly<Record<string, string>>): string {
  const failing = Object.entries(checks).filter(([, v]) => v !== 'ok');
  return failing.length ? `not ready: ${failing.map(([k, v]) => `${k} ${v}`).join(', ')}` : 'not ready';
}

/**
 * Errors Node's HTTP parser raises before fastify sees a request (headers too
 * large, a malformed request line, a timeout): answered as problem+json too.
 */
function answerClientError(err: Error & { code?: string }, socket: Socket, limits: HttpLimits): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const status =
    err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : err.code === 'HPE_URI_TOO_LONG' ? 414 : 400;
  const detail =
    status === 431
      ? `the request headers are larger than ${limits.maxHeaderBytes} bytes`
      : status === 408
        ? 'the request did not arrive in time'
        : status === 414
          ? 'the request URL is too long'
          : `malformed HTTP request (${err.code ?? err.message})`;
  const body = JSON.stringify(problemOf(status, detail));
  socket.end(
    `HTTP/1.1 ${status} ${problemOf(status, '').title}\r\nContent-Type: ${PROBLEM_TYPE}; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

