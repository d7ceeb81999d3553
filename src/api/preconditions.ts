/**
 * Optimistic concurrency over HTTP (SPEC §6, RFC 9110 §13.1.1): a record's
 * ETag is its etcd mod revision; PATCH and DELETE take it back in If-Match.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

/** The revision an If-Match header asks for; undefined when absent or `*` (any). */
export function ifMatchOf(req: FastifyRequest): string | undefined {
  const raw = req.headers['if-match'];
  const value = (Array.isArray(raw) ? raw[0] : raw)?.split(',')[0]?.trim();
  if (!value || value === '*') return undefined;
  return value.replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}

export function setEtag(reply: FastifyReply, revision: string): void {
  void reply.header('etag', `"${revision}"`);
}
