/**
 * RFC 7807 problem details: every API error is `application/problem+json`
 * with a precise `detail`, for every status (also 404/405/413/414/431 answered
 * before a route runs). Domain errors map to statuses here, in one table.
 * Bodies never carry etcd keys or addresses: those go to the log only.
 */
import { STATUS_CODES } from 'node:http';
import { GRPCGenericError, isRecoverableError, ClientClosedError } from 'etcd3';
import { PlexusError } from '../../protocols/common/errors';
import { ConflictError, StoreError } from '../store/collection';
import { AddressError, AddressExhaustedError } from '../store/ipam';
import { InvalidRequestError, ResourceConflictError, ResourceNotFoundError } from '../store/model-errors';

export const PROBLEM_TYPE = 'application/problem+json';

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
    super(404, 'Not Found', `${what} "${id}" does not exist`, { kind: what, id });
  }
}

/** A request field that breaks a rule no schema can state (host bits in a CIDR, a bad label selector). */
export class FieldError extends ApiError {
  constructor(field: string, detail: string) {
    super(400, 'Bad Request', `${field}: ${detail}`, { errors: [{ field, message: detail }] });
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
const STATUS_OF: readonly { readonly error: abstract new (...args: never[]) => Error; readonly status: number; readonly extra?: (err: never) => Record<string, unknown> }[] = [
  { error: InvalidRequestError, status: 400 },
  { error: AddressError, status: 400 },
  { error: ResourceNotFoundError, status: 404, extra: (e: ResourceNotFoundError) => ({ kind: e.kind, id: e.id }) },
  { error: ResourceConflictError, status: 409, extra: (e: ResourceConflictError) => ({ reason: e.reason, ...e.details }) },
  { error: AddressExhaustedError, status: 409, extra: () => ({ reason: 'exhausted' }) },
];

export function titleOf(status: number): string {
  return STATUS_CODES[status] ?? 'Error';
}

export function problemOf(status: number, detail: string, extra: Record<string, unknown> = {}): Problem {
  return { type: 'about:blank', title: titleOf(status), status, detail, ...extra };
}

/**
 * Turns any thrown value into a problem document. Unknown errors become 500
 * without internals; `internal` says whether the log should carry the cause.
 */
export function toProblem(err: unknown, instance?: string): Problem {
  const base = instance ? { instance } : {};
  if (err instanceof ApiError) return { type: 'about:blank', title: err.title, status: err.status, detail: err.message, ...err.extra, ...base };
  const mapped = STATUS_OF.find((m) => err instanceof m.error);
  if (mapped) {
    const extra = mapped.extra ? mapped.extra(err as never) : {};
    return { ...problemOf(mapped.status, (err as Error).message, extra), ...base };
  }
  if (err instanceof ConflictError && !err.recoverable) {
    // If-Match named a revision the record is no longer at. The store's message names the key: not for clients.
    const m = /revision (\d+), not (\S+)/.exec(err.message);
    const detail = m
      ? `the record is at revision ${m[1]}, not ${m[2]} as If-Match says: someone changed it meanwhile; read it again`
      : 'the record changed meanwhile (If-Match): read it again';
    return { ...problemOf(412, detail, m ? { currentRevision: m[1] } : {}), ...base };
  }
  if (err instanceof ConflictError) {
    return { ...problemOf(409, 'the record kept changing under concurrent writes: try again', { reason: 'contention' }), ...base };
  }
  if (isEtcdUnavailable(err)) {
    return { ...problemOf(503, 'the state store (etcd) is not reachable right now: retry shortly'), ...base };
  }
  const fastifyErr = err as { statusCode?: number; validation?: readonly AjvError[]; validationContext?: string; message?: string; code?: string };
  if (fastifyErr.validation) {
    const errors = fastifyErr.validation.map((e) => describeAjvError(fastifyErr.validationContext ?? 'body', e));
    return { ...problemOf(400, errors.map((e) => `${e.field}: ${e.message}`).join('; '), { errors }), ...base };
  }
  if (typeof fastifyErr.statusCode === 'number' && fastifyErr.statusCode >= 400 && fastifyErr.statusCode < 500) {
    return { ...problemOf(fastifyErr.statusCode, describeFastifyError(fastifyErr), fastifyErr.code ? { code: fastifyErr.code } : {}), ...base };
  }
  return { ...problemOf(500, 'internal error (see the plexusd log)'), ...base };
}

/** Whether an error means etcd could not be reached (any of etcd3's transport errors, its circuit breaker, a deadline). */
export function isEtcdUnavailable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  if (err instanceof StoreError) return true;
  if (err instanceof ClientClosedError) return true;
  // cockatiel's circuit breaker, which etcd3 opens after repeated failures: "Execution prevented because the circuit breaker is open".
  if ((err as { isBrokenCircuitError?: boolean }).isBrokenCircuitError === true) return true;
  if ((err as { isTaskCancelledError?: boolean }).isTaskCancelledError === true) return true;
  if (err instanceof GRPCGenericError) return /Unavailable|DeadlineExceeded|Cancelled|Connect/i.test(err.constructor.name) || isRecoverableError(err);
  return /^(GRPC|Etcd).*(Unavailable|Connect|Timeout|Deadline|Exhausted)/i.test(err.constructor?.name ?? '');
}

interface AjvError {
  readonly keyword: string;
  readonly instancePath: string;
  readonly params: Record<string, unknown>;
  readonly message?: string;
  readonly data?: unknown;
  readonly parentSchema?: { readonly properties?: Record<string, unknown>; readonly enum?: readonly unknown[] };
}

/** `body.ips[0]` style path of a JSON pointer within a request part. */
function fieldPath(part: string, pointer: string, child?: string): string {
  const segs = pointer.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (child !== undefined) segs.push(child);
  return segs.reduce((acc, s) => (/^\d+$/.test(s) ? `${acc}[${s}]` : `${acc}.${s}`), part);
}

function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

/** One validation failure as `{field, message}`: the field by name, what was wrong, what is allowed. */
export function describeAjvError(part: string, e: AjvError): { field: string; message: string } {
  const allowed = Object.keys(e.parentSchema?.properties ?? {});
  switch (e.keyword) {
    case 'additionalProperties':
      return {
        field: fieldPath(part, e.instancePath, String(e.params['additionalProperty'])),
        message: `unknown field${allowed.length ? ` (allowed: ${allowed.join(', ')})` : ''}`,
      };
    case 'required':
      return { field: fieldPath(part, e.instancePath, String(e.params['missingProperty'])), message: 'is required' };
    case 'type':
      return { field: fieldPath(part, e.instancePath), message: `must be ${String(e.params['type']).replace(/,/g, ' or ')}, not ${typeName(e.data)}` };
    case 'enum':
      return { field: fieldPath(part, e.instancePath), message: `must be one of ${(e.params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')} (got ${JSON.stringify(e.data)})` };
    case 'minProperties':
      return { field: fieldPath(part, e.instancePath), message: `needs at least ${String(e.params['limit'])} field(s)${allowed.length ? ` of: ${allowed.join(', ')}` : ''}` };
    case 'pattern':
      return { field: fieldPath(part, e.instancePath), message: `${JSON.stringify(e.data)} is not allowed (must match ${String(e.params['pattern'])})` };
    default:
      return { field: fieldPath(part, e.instancePath), message: `${e.message ?? 'is invalid'}${e.data !== undefined && typeof e.data !== 'object' ? ` (got ${JSON.stringify(e.data)})` : ''}` };
  }
}

function describeFastifyError(e: { statusCode?: number; message?: string; code?: string }): string {
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'the request body is larger than the 1 MiB limit';
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'send the body as application/json (or application/merge-patch+json for PATCH)';
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'the body is empty but the content type is JSON: send a JSON object';
    default:
      return e.message ?? 'bad request';
  }
}
