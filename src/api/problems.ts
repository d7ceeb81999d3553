/**
 * RFC 7807 problem details: every API error is `application/problem+json`
 * with a precise `detail`. Domain errors map to statuses here, in one table.
 */
import { PlexusError } from '../../protocols/common/errors';
import { ConflictError, StoreError } from '../store/collection';
import { AddressError, AddressExhaustedError } from '../store/ipam';
import { InvalidRequestError, ResourceConflictError, ResourceNotFoundError } from '../store/model-errors';

export class ApiError extends PlexusError {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly title: string,
    detail: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(detail);
  }
}

export class NotFoundError extends ApiError {
  constructor(what: string, id: string) {
    super(404, 'Not Found', `${what} "${id}" does not exist`);
  }
}

export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly instance?: string;
  readonly [key: string]: unknown;
}

/**
 * Domain error → HTTP status, the one table. First match wins, so a subclass
 * must come before its base (ConflictError before StoreError).
 */
const STATUS_OF: readonly { readonly error: abstract new (...args: never[]) => Error; readonly status: number; readonly title: string; readonly extra?: (err: never) => Record<string, unknown> }[] = [
  { error: InvalidRequestError, status: 400, title: 'Bad Request' },
  { error: AddressError, status: 400, title: 'Bad Request' },
  { error: ResourceNotFoundError, status: 404, title: 'Not Found', extra: (e: ResourceNotFoundError) => ({ kind: e.kind, id: e.id }) },
  { error: ResourceConflictError, status: 409, title: 'Conflict', extra: (e: ResourceConflictError) => ({ reason: e.reason, ...e.details }) },
  { error: AddressExhaustedError, status: 409, title: 'Conflict', extra: () => ({ reason: 'exhausted' }) },
  /** A compare-on-revision failed: If-Match revision stale, or the record kept changing. */
  { error: ConflictError, status: 412, title: 'Precondition Failed' },
];

/** Turns any thrown value into a problem document; unknown errors become 500 without internals. */
export function toProblem(err: unknown, instance?: string): Problem {
  const base = instance ? { instance } : {};
  if (err instanceof ApiError) {
    return { type: 'about:blank', title: err.title, status: err.status, detail: err.message, ...err.extra, ...base };
  }
  const mapped = STATUS_OF.find((m) => err instanceof m.error);
  if (mapped) {
    const extra = mapped.extra ? mapped.extra(err as never) : {};
    return { type: 'about:blank', title: mapped.title, status: mapped.status, detail: (err as Error).message, ...extra, ...base };
  }
  if (err instanceof StoreError || isEtcdUnavailable(err)) {
    return {
      type: 'about:blank',
      title: 'Service Unavailable',
      status: 503,
      detail: `the state store (etcd) is not reachable: ${(err as Error).message}`,
      ...base,
    };
  }
  const fastifyErr = err as { statusCode?: number; validation?: unknown; message?: string; code?: string };
  if (typeof fastifyErr.statusCode === 'number' && fastifyErr.statusCode >= 400 && fastifyErr.statusCode < 500) {
    return {
      type: 'about:blank',
      title: fastifyErr.statusCode === 415 ? 'Unsupported Media Type' : 'Bad Request',
      status: fastifyErr.statusCode,
      detail: fastifyErr.message ?? 'bad request',
      ...(fastifyErr.code ? { code: fastifyErr.code } : {}),
      ...base,
    };
  }
  return { type: 'about:blank', title: 'Internal Server Error', status: 500, detail: 'internal error (see the plexusd log)', ...base };
}

function isEtcdUnavailable(err: unknown): boolean {
  const name = (err as Error | undefined)?.constructor?.name ?? '';
  return /^(GRPC|Etcd).*(Unavailable|Connect|Timeout|Deadline|Exhausted)/i.test(name) || name === 'GRPCUnavailableError';
}
