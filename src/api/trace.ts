/**
 * POST /v1/trace (SPEC §6): why can A reach B, or not? The packet is walked
 * through the desired flows this member compiles from its model cache
 * (compiler/trace.ts), so any member answers, whoever masters the hosts. The
 * endpoints are named by id or name within the token's view; a tenant's trace
 * sees only its own networks.
 *
 * `--live` (the real switch's `ofproto/trace`) is not done here: plexusd has no
 * shell on the hosts and OpenFlow has no trace message. Each segment carries the
 * packet in ofproto/trace syntax, and `plexusctl trace --live` runs it with
 * `ovs-appctl` on the host it runs on.
 */
import type { FastifyInstance } from 'fastify';
import type { FabricMember } from '../compiler/fabric';
import type { HostContext } from '../compiler/snapshot';
import { TraceError, tracePacket, type TraceRequest } from '../compiler/trace';

export type { TraceResult } from '../compiler/trace';
import type { ModelView } from '../store/model-view';
import { scopeOf } from './auth';
import { ApiError } from './problems';
import { findEndpoint } from './scope';
import { problemResponses, writeProblemResponses } from './schemas';
import type { ApiDeps } from './server';

/** What the trace needs from the daemon: the model cache and each host's compile context (tunnel port, peers' encap IPs). */
export interface TraceSource {
  readonly model: ModelView;
  contextOf(hostId: string): HostContext | undefined;
}

const MAC = '^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$';
const IPV4 = '^(\\d{1,3})(\\.\\d{1,3}){3}$';
const port = { type: 'integer', minimum: 0, maximum: 65535 } as const;

const traceBody = {
  type: 'object',
  properties: {
    from: { type: 'string', minLength: 1, maxLength: 253, description: 'source endpoint, id or name' },
    to: { type: 'string', minLength: 1, maxLength: 253, description: 'destination endpoint, id or name' },
    protocol: { type: 'string', enum: ['tcp', 'udp', 'icmp', 'arp', 'dhcp', 'ip'], default: 'udp' },
    srcPort: port,
    dstPort: port,
    srcMac: { type: 'string', pattern: MAC, description: 'override the source MAC (e.g. a spoofed one)' },
    srcIp: { type: 'string', pattern: IPV4 },
    dstMac: { type: 'string', pattern: MAC, description: 'destination MAC when no `to` endpoint is given' },
    dstIp: { type: 'string', pattern: IPV4 },
    ttl: { type: 'integer', minimum: 1, maximum: 255, description: 'IPv4 TTL (default 64): 1 shows where it expires' },
  },
  required: ['from'],
  additionalProperties: false,
} as const;

const hopSchema = {
  type: 'object',
  properties: {
    host: { type: 'string' },
    tableId: { type: 'integer' },
    table: { type: 'string' },
    stage: { type: 'string' },
    depth: { type: 'integer' },
    flow: {
      type: 'object',
      properties: { priority: { type: 'integer' }, match: { type: 'string' }, actions: { type: 'string' }, cookie: { type: 'string' } },
    },
    owner: {
      type: 'object',
      properties: { feature: { type: 'string' }, kind: { type: 'string' }, id: { type: 'string' }, name: { type: 'string' }, rule: { type: 'string', description: 'a security-group rule in words (kind security-group-rule; name is its group)' } },
    },
    summary: { type: 'string' },
  },
} as const;

const traceResponse = {
  type: 'object',
  properties: {
    packet: { type: 'object', additionalProperties: { type: 'string' } },
    verdict: { type: 'string', enum: ['delivered', 'dropped', 'to-controller'] },
    reason: { type: 'string' },
    hops: { type: 'array', items: hopSchema },
    arrivals: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          host: { type: 'string' },
          kind: { type: 'string' },
          port: { type: 'integer' },
          endpoint: { type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' } } },
        },
      },
    },
    segments: {
      type: 'array',
      description: 'per host crossed: the packet as it arrived there (ofproto/trace syntax) and its outputs',
      items: {
        type: 'object',
        properties: { host: { type: 'string' }, flow: { type: 'string' }, verdict: { type: 'string' }, outputs: { type: 'array', items: { type: 'string' } } },
      },
    },
  },
} as const;

/**
 * The model restricted to one tenant: its networks (its endpoints are only in
 * those), routers, security groups, QoS policies and floating IPs, so that a
 * tenant's trace names none of another tenant's objects.
 */
function viewOfTenant(model: ModelView, tenant: string): ModelView {
  const mine = <T extends { readonly tenant: string }>(m: ReadonlyMap<string, T> | undefined): Map<string, T> => new Map([...(m ?? [])].filter(([, v]) => v.tenant === tenant));
  const networks = mine(model.networks);
  const routersByNetwork = new Map([...(model.routersByNetwork ?? [])].filter(([id]) => networks.has(id)).map(([id, rs]) => [id, rs.filter((r) => r.tenant === tenant)] as const));
  return {
    networks,
    subnetsByNetwork: model.subnetsByNetwork,
    endpointsByNetwork: model.endpointsByNetwork,
    bindings: model.bindings,
    routers: mine(model.routers),
    routersByNetwork,
    floatingIps: mine(model.floatingIps),
    securityGroups: mine(model.securityGroups),
    qosPolicies: mine(model.qosPolicies),
  };
}

export function registerTraceRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.post<{ Body: Omit<TraceRequest, 'protocol'> & { protocol: NonNullable<TraceRequest['protocol']> } }>(
    '/v1/trace',
    {
      schema: {
        operationId: 'tracePacket',
        summary: 'Walk a described packet through the desired flows of its host, the tunnel and the destination host, and say why it arrives or not',
        tags: ['trace'],
        body: traceBody,
        response: { 200: traceResponse, ...problemResponses, 409: writeProblemResponses[409], 422: problemResponses[400] },
      },
    },
    async (req) => {
      const source = deps.trace;
      if (!source) throw new ApiError(503, 'Service Unavailable', 'trace is not available on this member');
      const from = await findEndpoint(req, deps.model, req.body.from);
      const to = req.body.to !== undefined ? await findEndpoint(req, deps.model, req.body.to) : undefined;
      const scope = scopeOf(req);
      const model = scope === undefined ? source.model : viewOfTenant(source.model, scope);
      const hosts = (await deps.hosts.list()).filter((h) => h.value.encapIp);
      const encapIps = new Map(hosts.map((h) => [h.value.id, h.value.encapIp!] as const));
      // A host this member does not program is compiled as if its plexus-vxlan had no port yet (no way out by tunnel).
      const members: FabricMember[] = hosts.map((h) => ({
        context: source.contextOf(h.value.id) ?? { id: h.value.id, tunnelPort: undefined, encapIps },
        encapIp: h.value.encapIp!,
      }));
      try {
        return tracePacket(model, members, { ...req.body, from: from.value.id, ...(to ? { to: to.value.id } : {}) });
      } catch (err) {
        if (err instanceof TraceError) throw new ApiError(422, 'Unprocessable Content', err.message);
        throw err;
      }
    },
  );
}
