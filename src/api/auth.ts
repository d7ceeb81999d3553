/**
 * Bearer-token authentication and tenant scoping of the REST API (SPEC §6).
 *
 * Tokens live in the config file, hashed (SHA-256 of the token, hex): a leaked
 * config does not leak a usable token. Each is either `admin` (everything) or
 * bound to one tenant, which then sees and changes only that tenant's
 * resources: another tenant's resources are 404 (they do not exist for it),
 * creating something in another tenant or touching cluster-wide objects
 * (tenants, hosts, cluster) is 403. No or an unknown token is 401.
 *
 * With no token configured the API is unauthenticated (every caller is admin)
 * and plexusd binds it to loopback only (daemon/main.ts).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { ApiError } from './problems';

export interface ApiToken {
  /** Who holds it: shown in the audit log, never the token itself. */
  readonly name: string;
  /** SHA-256 of the token, 64 hex digits. */
  readonly sha256: string;
  readonly admin?: boolean;
  readonly tenant?: string;
}

/** Who is calling. `anonymous` exists only when no token is configured (loopback-only API). */
export type Principal =
  | { readonly kind: 'admin'; readonly name: string }
  | { readonly kind: 'tenant'; readonly name: string; readonly tenant: string }
  | { readonly kind: 'anonymous'; readonly name: 'anonymous' };

export class UnauthorizedError extends ApiError {
  constructor(detail: string) {
    super(401, 'Unauthorized', detail);
  }
}

export class ForbiddenError extends ApiError {
  constructor(detail: string) {
    super(403, 'Forbidden', detail);
  }
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A new random token (256 bits, base64url) and its config entry. */
export function generateToken(): { token: string; sha256: string } {
  const token = `plx_${randomBytes(32).toString('base64url')}`;
  return { token, sha256: hashToken(token) };
}

/** Maps an Authorization header to a principal; throws UnauthorizedError. */
export function authenticate(tokens: readonly ApiToken[], header: string | undefined): Principal {
  if (tokens.length === 0) return { kind: 'anonymous', name: 'anonymous' };
  if (!header) throw new UnauthorizedError('this API needs a bearer token: send "Authorization: Bearer <token>" (plexusctl --token or PLEXUS_TOKEN)');
  const m = /^Bearer[ ]+([!-~]+)\s*$/i.exec(header);
  if (!m) throw new UnauthorizedError('the Authorization header must be "Bearer <token>"');
  const presented = Buffer.from(hashToken(m[1]!), 'hex');
  // Compare against every entry, in constant time each: no early exit that times which one matched.
  let found: ApiToken | undefined;
  for (const t of tokens) {
    if (timingSafeEqual(presented, Buffer.from(t.sha256, 'hex')) && !found) found = t;
  }
  if (!found) throw new UnauthorizedError('the bearer token is not valid');
  return found.admin ? { kind: 'admin', name: found.name } : { kind: 'tenant', name: found.name, tenant: found.tenant! };
}

const PRINCIPAL = Symbol('principal');

export function setPrincipal(req: FastifyRequest, p: Principal): void {
  (req as unknown as Record<symbol, Principal>)[PRINCIPAL] = p;
}

export function principalOf(req: FastifyRequest): Principal {
  return (req as unknown as Record<symbol, Principal | undefined>)[PRINCIPAL] ?? { kind: 'anonymous', name: 'anonymous' };
}

/** The tenant a request is confined to; undefined = every tenant (admin, or no tokens configured). */
export function scopeOf(req: FastifyRequest): string | undefined {
  const p = principalOf(req);
  return p.kind === 'tenant' ? p.tenant : undefined;
}

/** Cluster-wide objects (tenants, hosts, cluster) are for admins only. */
export function requireAdmin(req: FastifyRequest, what: string): void {
  const p = principalOf(req);
  if (p.kind === 'tenant') throw new ForbiddenError(`${what} needs an admin token (token "${p.name}" is scoped to tenant "${p.tenant}")`);
}

/** A write that names a tenant: refused outside the caller's own. */
export function requireTenant(req: FastifyRequest, tenant: string): void {
  const p = principalOf(req);
  if (p.kind === 'tenant' && p.tenant !== tenant) {
    throw new ForbiddenError(`token "${p.name}" may only write in tenant "${p.tenant}", not "${tenant}"`);
  }
}

/** Whether a resource of `tenant` is visible to the caller (invisible ones answer 404). */
export function isVisible(req: FastifyRequest, tenant: string): boolean {
  const scope = scopeOf(req);
  return scope === undefined || scope === tenant;
}
