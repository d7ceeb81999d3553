/**
 * OVSDB failures as typed errors. Server-reported errors (RFC 7047 §3.1
 * <error>, §4.1.3 per-operation errors, JSON-RPC method errors) become
 * {@link OvsdbError}; values that break RFC 7047's notation become
 * {@link OvsdbFormatError} naming the section they violate.
 */
import { PlexusError } from '../common/errors';

/**
 * Error strings from RFC 7047 §4.1.3 and §5.2 and those ovsdb-server adds
 * (ovsdb-server(7)); any other string from a peer is still accepted.
 */
export type OvsdbErrorTag =
  | 'referential integrity violation'
  | 'constraint violation'
  | 'resources exhausted'
  | 'I/O error'
  | 'duplicate uuid-name'
  | 'domain error'
  | 'range error'
  | 'timed out'
  | 'not supported'
  | 'aborted'
  | 'not owner'
  | 'canceled'
  | 'unknown method'
  | 'unknown database'
  | 'syntax error'
  | 'unknown monitor'
  | (string & {});

/**
 * Whether retrying can succeed, by error tag: a "timed out" wait or an "I/O
 * error" may pass next time; a constraint violation will not. Unknown tags are
 * not recoverable.
 */
const RECOVERABLE: Readonly<Record<string, boolean>> = {
  'timed out': true,
  'I/O error': true,
  'resources exhausted': true,
  canceled: true,
};

/**
 * An error reported by the server: a JSON-RPC `error` (RFC 7047 §4) or a failed
 * operation inside `transact` (§4.1.3, §5.2). `operationIndex` says which
 * operation failed (`undefined` for a whole-request or commit error).
 */
export class OvsdbError extends PlexusError {
  override readonly name = 'OvsdbError';
  readonly error: OvsdbErrorTag;
  readonly details: string | undefined;
  readonly operationIndex: number | undefined;
  /** The failed operation (for transact), as it was sent. */
  readonly operation: unknown;
  /** The raw error object as the server sent it. */
  readonly raw: unknown;

  constructor(
    error: OvsdbErrorTag,
    options: { details?: string; operationIndex?: number; operation?: unknown; raw?: unknown; method?: string } = {},
  ) {
    const where =
      options.operationIndex !== undefined
        ? ` in operation ${options.operationIndex}${opName(options.operation)}`
        : options.method
          ? ` from ${options.method}`
          : '';
    super(`ovsdb error "${error}"${where}${options.details ? `: ${options.details}` : ''}`, {
      recoverable: RECOVERABLE[error] ?? false,
    });
    this.error = error;
    this.details = options.details;
    this.operationIndex = options.operationIndex;
    this.operation = options.operation;
    this.raw = options.raw;
  }

  /** Builds an OvsdbError from a server's <error> object (RFC 7047 §3.1) or any JSON. */
  static fromJson(json: unknown, options: { operationIndex?: number; operation?: unknown; method?: string } = {}): OvsdbError {
    if (typeof json === 'string') return new OvsdbError(json, { ...options, raw: json });
    if (json !== null && typeof json === 'object' && !Array.isArray(json)) {
      const o = json as Record<string, unknown>;
      const tag = typeof o.error === 'string' ? o.error : 'unknown error';
      const details = typeof o.details === 'string' ? o.details : undefined;
      return new OvsdbError(tag, { ...options, ...(details === undefined ? {} : { details }), raw: json });
    }
    return new OvsdbError('unknown error', { ...options, details: JSON.stringify(json), raw: json });
  }
}

function opName(op: unknown): string {
  if (op !== null && typeof op === 'object' && typeof (op as { op?: unknown }).op === 'string') {
    const o = op as { op: string; table?: unknown };
    return ` (${o.op}${typeof o.table === 'string' ? ` ${o.table}` : ''})`;
  }
  return '';
}

/**
 * A JSON value that does not follow RFC 7047's notation: `section` names the
 * rule it breaks (e.g. "RFC 7047 §5.1 <set>"), `path` where in the value.
 */
export class OvsdbFormatError extends PlexusError {
  override readonly name = 'OvsdbFormatError';
  constructor(
    readonly section: string,
    message: string,
    readonly path: string = '',
  ) {
    super(`${section}: ${message}${path ? ` at ${path}` : ''}`, { recoverable: false });
  }
}
