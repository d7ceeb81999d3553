/**
 * Typed builders for the operations of an RFC 7047 `transact` (§4.1.3, §5.2),
 * and the checking of its result array: the first failed operation (or the
 * commit itself) becomes an {@link OvsdbError} that says which one and why.
 *
 * Builders are pure and validate their rows and values (§5.1), so a malformed
 * transaction fails here, with the section it breaks, not on the server.
 */
import { OvsdbError, OvsdbFormatError } from './errors';
import { isUuid, isId, validateRow, validateValue, type Row, type Uuid, type Value } from './rfc7047';

/** §5.1 <function> of a <condition>. */
export type ConditionFunction = '<' | '<=' | '==' | '!=' | '>=' | '>' | 'includes' | 'excludes';
/** §5.1 <condition>: `[<column>, <function>, <value>]`. */
export type Condition = readonly [column: string, fn: ConditionFunction, value: Value];
/** §5.1 <mutator>. */
export type Mutator = '+=' | '-=' | '*=' | '/=' | '%=' | 'insert' | 'delete';
/** §5.1 <mutation>: `[<column>, <mutator>, <value>]`. */
export type Mutation = readonly [column: string, mutator: Mutator, value: Value];

export interface InsertOp {
  readonly op: 'insert';
  readonly table: string;
  readonly row: Row;
  readonly 'uuid-name'?: string;
}
export interface SelectOp {
  readonly op: 'select';
  readonly table: string;
  readonly where: readonly Condition[];
  readonly columns?: readonly string[];
}
export interface UpdateOp {
  readonly op: 'update';
  readonly table: string;
  readonly where: readonly Condition[];
  readonly row: Row;
}
export interface MutateOp {
  readonly op: 'mutate';
  readonly table: string;
  readonly where: readonly Condition[];
  readonly mutations: readonly Mutation[];
}
export interface DeleteOp {
  readonly op: 'delete';
  readonly table: string;
  readonly where: readonly Condition[];
}
export interface WaitOp {
  readonly op: 'wait';
  readonly table: string;
  readonly where: readonly Condition[];
  readonly columns: readonly string[];
  readonly until: '==' | '!=';
  readonly rows: readonly Row[];
  readonly timeout?: number;
}
export interface CommitOp {
  readonly op: 'commit';
  readonly durable: boolean;
}
export interface AbortOp {
  readonly op: 'abort';
}
export interface CommentOp {
  readonly op: 'comment';
  readonly comment: string;
}
export interface AssertOp {
  readonly op: 'assert';
  readonly lock: string;
}

/** One §5.2 operation. */
export type Operation =
  | InsertOp
  | SelectOp
  | UpdateOp
  | MutateOp
  | DeleteOp
  | WaitOp
  | CommitOp
  | AbortOp
  | CommentOp
  | AssertOp;

/** Result of a successful operation, by kind (§5.2.x "result"). */
export type ResultOf<O extends Operation> = O extends InsertOp
  ? { readonly uuid: Uuid }
  : O extends SelectOp
    ? { readonly rows: Row[] }
    : O extends UpdateOp | MutateOp | DeleteOp
      ? { readonly count: number }
      : Record<string, never>;

/** Results of a whole transaction, one per operation, typed by position. */
export type TransactResults<Ops extends readonly Operation[]> = { -readonly [K in keyof Ops]: ResultOf<Ops[K]> };

const SEC = {
  transact: 'RFC 7047 §4.1.3',
  condition: 'RFC 7047 §5.1 <condition>',
  mutation: 'RFC 7047 §5.1 <mutation>',
  insert: 'RFC 7047 §5.2.1',
  wait: 'RFC 7047 §5.2.6',
} as const;

const FUNCTIONS: readonly ConditionFunction[] = ['<', '<=', '==', '!=', '>=', '>', 'includes', 'excludes'];
const MUTATORS: readonly Mutator[] = ['+=', '-=', '*=', '/=', '%=', 'insert', 'delete'];

/** §5.1 <condition>. */
export function cond(column: string, fn: ConditionFunction, value: Value): Condition {
  if (!FUNCTIONS.includes(fn)) throw new OvsdbFormatError(SEC.condition, `unknown function "${fn}"`, column);
  validateValue(value, column);
  return [column, fn, value];
}

/** §5.1 <mutation>. */
export function mutation(column: string, mutator: Mutator, value: Value): Mutation {
  if (!MUTATORS.includes(mutator)) throw new OvsdbFormatError(SEC.mutation, `unknown mutator "${mutator}"`, column);
  validateValue(value, column);
  return [column, mutator, value];
}

/** §5.2.1 Insert; `uuidName` lets later operations refer to the row as `["named-uuid", uuidName]`. */
export function insert(table: string, row: Row, uuidName?: string): InsertOp {
  validateRow(row, table);
  if (uuidName === undefined) return { op: 'insert', table, row };
  if (!isId(uuidName)) throw new OvsdbFormatError(SEC.insert, `uuid-name "${uuidName}" is not an <id>`, table);
  return { op: 'insert', table, row, 'uuid-name': uuidName };
}

/** §5.2.2 Select. */
export function select(table: string, where: readonly Condition[] = [], columns?: readonly string[]): SelectOp {
  return columns ? { op: 'select', table, where, columns } : { op: 'select', table, where };
}

/** §5.2.3 Update. */
export function update(table: string, where: readonly Condition[], row: Row): UpdateOp {
  validateRow(row, table);
  return { op: 'update', table, where, row };
}

/** §5.2.4 Mutate. */
export function mutate(table: string, where: readonly Condition[], mutations: readonly Mutation[]): MutateOp {
  return { op: 'mutate', table, where, mutations };
}

/** §5.2.5 Delete. */
export function deleteRows(table: string, where: readonly Condition[]): DeleteOp {
  return { op: 'delete', table, where };
}

/**
 * §5.2.6 Wait: blocks the transaction until the selected rows' `columns` are
 * (`until: '=='`) or are not (`'!='`) exactly `rows`; `timeoutMs` 0 fails at once
 * if not satisfied, omitted waits forever (until cancelled, §4.1.4).
 */
export function wait(
  table: string,
  where: readonly Condition[],
  options: { columns: readonly string[]; until: '==' | '!='; rows: readonly Row[]; timeoutMs?: number },
): WaitOp {
  options.rows.forEach((r, i) => validateRow(r, `${table}.rows[${i}]`));
  if (options.timeoutMs !== undefined && !(options.timeoutMs >= 0)) {
    throw new OvsdbFormatError(SEC.wait, 'timeout must be a non-negative integer', table);
  }
  const base = { op: 'wait', table, where, columns: options.columns, until: options.until, rows: options.rows } as const;
  return options.timeoutMs === undefined ? base : { ...base, timeout: Math.floor(options.timeoutMs) };
}

/** §5.2.7 Commit (`durable`: fsync before replying). */
export function commit(durable: boolean): CommitOp {
  return { op: 'commit', durable };
}

/** §5.2.8 Abort: makes the transaction fail with "aborted". */
export function abort(): AbortOp {
  return { op: 'abort' };
}

/** §5.2.9 Comment: written to the database log with the transaction. */
export function comment(text: string): CommentOp {
  return { op: 'comment', comment: text };
}

/** §5.2.10 Assert: the transaction fails with "not owner" unless this session holds `lock` (§4.1.8). */
export function assertLock(lock: string): AssertOp {
  return { op: 'assert', lock };
}

/**
 * Checks a `transact` result array (§4.1.3): one element per operation; a failed
 * operation is `{"error", "details"}` and the operations after it are `null`; an
 * extra trailing error means the commit itself failed. Throws the first error as
 * {@link OvsdbError}; otherwise returns the results typed by operation.
 */
export function checkTransactResults<const Ops extends readonly Operation[]>(
  ops: Ops,
  results: unknown,
): TransactResults<Ops> {
  if (!Array.isArray(results)) {
    throw new OvsdbFormatError(SEC.transact, 'result is not an array', 'result');
  }
  results.forEach((r, i) => {
    if (r !== null && typeof r === 'object' && !Array.isArray(r) && 'error' in r && (r as { error: unknown }).error !== null) {
      throw OvsdbError.fromJson(r, i < ops.length ? { operationIndex: i, operation: ops[i] } : { method: 'transact (commit)' });
    }
  });
  if (results.length < ops.length) {
    throw new OvsdbFormatError(SEC.transact, `${results.length} results for ${ops.length} operations`, 'result');
  }
  ops.forEach((op, i) => {
    const r = results[i] as Record<string, unknown> | null;
    if (r === null || typeof r !== 'object') {
      throw new OvsdbFormatError(SEC.transact, `result ${i} is not an object`, `result[${i}]`);
    }
    if (op.op === 'insert' && !isUuid(r.uuid)) {
      throw new OvsdbFormatError(SEC.insert, 'insert result has no <uuid>', `result[${i}]`);
    }
    if (op.op === 'select') {
      if (!Array.isArray(r.rows)) throw new OvsdbFormatError('RFC 7047 §5.2.2', 'select result has no rows', `result[${i}]`);
      (r.rows as unknown[]).forEach((row, j) => validateRow(row, `result[${i}].rows[${j}]`));
    }
  });
  return results.slice(0, ops.length) as TransactResults<Ops>;
}

/** Maps each insert's `uuid-name` to the UUID the server assigned (§5.2.1). */
export function resolveNamedUuids(ops: readonly Operation[], results: readonly unknown[]): Map<string, string> {
  const out = new Map<string, string>();
  ops.forEach((op, i) => {
    const r = results[i] as { uuid?: unknown } | undefined;
    if (op.op === 'insert' && op['uuid-name'] && r && isUuid(r.uuid)) out.set(op['uuid-name'], r.uuid[1]);
  });
  return out;
}
