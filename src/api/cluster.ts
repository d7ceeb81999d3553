/**
 * /v1/cluster: members, their leases and the datapaths each masters (SPEC §5, §6);
 * /v1/cluster/heartbeat: the long-lived connection peers hold to notice at once
 * when this process dies (its socket closes).
 */
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from './server';

export function registerClusterRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get('/v1/cluster', { schema: { summary: 'Cluster members and datapath masters' } }, async () => {
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
  });

  app.get('/v1/cluster/heartbeat', { schema: { hide: true } }, (_req, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-store' });
    res.write('alive\n');
    // Keep the connection busy enough that idle timeouts on either side never close it.
    const timer = setInterval(() => res.write('.'), 10_000);
    res.on('close', () => clearInterval(timer));
    app.server.once('close', () => res.end());
  });
}
