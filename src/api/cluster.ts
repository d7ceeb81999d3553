/**
 * /v1/cluster: members, their leases and the datapaths each masters (SPEC §5, §6;
 * admin tokens only); /v1/cluster/heartbeat: the long-lived connection peers hold
 * to notice at once when this process dies (its socket closes). The heartbeat
 * is public: it says nothing but "alive".
 */
import type { FastifyInstance } from 'fastify';
import { requireAdmin } from './auth';
import { problemResponses } from './schemas';
import type { ApiDeps } from './server';

const clusterSchema = {
  type: 'object',
  properties: {
    member: { type: 'string', description: 'the member that answered' },
    members: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          id: { type: 'string' },
          api: { type: 'string' },
          openflow: { type: 'string' },
          ovsdb: { type: 'string' },
          advertise: { type: 'string' },
          datapaths: { type: 'array', items: { type: 'string' } },
        },
        additionalProperties: true,
      },
    },
    masters: {
      type: 'object',
      additionalProperties: { type: 'object', properties: { member: { type: 'string' }, generation: { type: 'string' } } },
    },
  },
  required: ['member', 'members', 'masters'],
} as const;

/** How often the heartbeat writes, so that no idle timeout on either side closes it. */
const HEARTBEAT_INTERVAL_MS = 10_000;

export function registerClusterRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get(
    '/v1/cluster',
    {
      schema: {
        operationId: 'getCluster',
        summary: 'Cluster members and datapath masters (admin token)',
        tags: ['cluster'],
        response: { 200: clusterSchema, ...problemResponses },
      },
    },
    async (req) => {
      requireAdmin(req, 'reading the cluster');
      const masters = deps.cluster?.masters() ?? new Map();
      const members = (deps.cluster?.members() ?? []).map((m) => ({
        ...m,
        datapaths: [...masters].filter(([, v]) => v.member === m.id).map(([host]) => host).sort(),
      }));
      return {
        member: deps.memberId,
        members,
        masters: Object.fromEntries([...masters].map(([host, v]) => [host, { member: v.member, generation: v.generation.toString() }])),
      };
    },
  );

  app.get('/v1/cluster/heartbeat', { config: { public: true }, schema: { hide: true } }, (_req, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-store' });
    res.write('alive\n');
    const timer = setInterval(() => res.write('.'), HEARTBEAT_INTERVAL_MS);
    // Ends the response when the server closes; removed again when the peer goes first (one listener per live heartbeat, not per request ever made).
    const endOnClose = (): void => void res.end();
    app.server.once('close', endOnClose);
    res.on('close', () => {
      clearInterval(timer);
      app.server.off('close', endOnClose);
    });
  });
}
