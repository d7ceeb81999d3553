/**
 * GET /v1/events (SPEC §6): Server-Sent Events of endpoint, endpoint status,
 * network, subnet, host and member changes, from this member's event feed
 * (store/event-feed.ts). Resumable: a client that reconnects with
 * `Last-Event-ID` (or `?lastEventId=`, for clients that cannot set headers)
 * first gets every event it missed, in order, or a `reset` event when they are
 * no longer held (re-list, then keep following). Tenant tokens see only their
 * tenant's events; hosts and members are for admins. A client that does not
 * read is disconnected (it resumes from its last id) rather than buffered without bound.
 */
import type { FastifyInstance } from 'fastify';
import type { EventFeed, FeedEvent, FeedResource } from '../store/event-feed';
import { scopeOf } from './auth';
import { ApiError } from './problems';
import { problemResponses } from './schemas';
import type { ApiDeps } from './server';

/** A comment line this often keeps proxies and the idle timeout from closing a quiet stream. */
const KEEPALIVE_MS = 15_000;
/** Unsent bytes beyond which a client is cut off (it resumes with Last-Event-ID). */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

const RESOURCES: readonly FeedResource[] = ['network', 'subnet', 'endpoint', 'endpoint-status', 'host', 'member'];

const eventsQuery = {
  type: 'object',
  properties: {
    resources: { type: 'string', pattern: `^(${RESOURCES.join('|')})(,(${RESOURCES.join('|')}))*$`, description: 'comma-separated: only these resources' },
    lastEventId: { type: 'string', maxLength: 40, description: 'as the Last-Event-ID header' },
  },
  additionalProperties: false,
} as const;

function frameOf(e: FeedEvent): string {
  const data = { revision: e.revision, resource: e.resource, kind: e.kind, id: e.object, ...(e.tenant !== null ? { tenant: e.tenant } : {}), ...(e.value !== undefined ? { value: e.value } : {}) };
  return `id: ${e.id}\nevent: ${e.resource}\ndata: ${JSON.stringify(data)}\n\n`;
}

export function registerEventRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get<{ Querystring: { resources?: string; lastEventId?: string } }>(
    '/v1/events',
    {
      schema: {
        operationId: 'streamEvents',
        summary: 'Server-Sent Events of model and host changes, resumable with Last-Event-ID',
        tags: ['events'],
        querystring: eventsQuery,
        response: { 200: { type: 'string', description: 'text/event-stream' }, ...problemResponses },
      },
    },
    async (req, reply) => {
      const feed: EventFeed | undefined = deps.events;
      if (!feed) throw new ApiError(503, 'Service Unavailable', 'events are not available on this member');
      const scope = scopeOf(req);
      const wanted = new Set((req.query.resources?.split(',') ?? RESOURCES) as FeedResource[]);
      const visible = (e: FeedEvent): boolean => wanted.has(e.resource) && (scope === undefined || e.tenant === scope);
      const lastId = (req.headers['last-event-id'] as string | undefined) ?? req.query.lastEventId;

      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      const write = (text: string): void => {
        if (raw.destroyed) return;
        raw.write(text);
        if (raw.writableLength > MAX_BUFFERED_BYTES) {
          deps.log.warn('event stream client too slow: disconnected (it resumes with Last-Event-ID)', { remote: req.ip });
          raw.destroy();
        }
      };
      write('retry: 2000\n: connected\n\n');
      // Replay and subscription happen in the same turn: no event can fall between them.
      if (lastId !== undefined) {
        const replay = feed.replaySince(lastId);
        if (replay.kind === 'reset') write(`event: reset\ndata: ${JSON.stringify({ reason: replay.reason })}\n\n`);
        else for (const e of replay.events) if (visible(e)) write(frameOf(e));
      }
      const onEvent = (e: FeedEvent): void => {
        if (visible(e)) write(frameOf(e));
      };
      feed.on('event', onEvent);
      const keepalive = setInterval(() => write(': keepalive\n\n'), KEEPALIVE_MS);
      raw.on('close', () => {
        clearInterval(keepalive);
        feed.off('event', onEvent);
      });
    },
  );
}
