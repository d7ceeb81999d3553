/**
 * An in-memory copy of the monitored part of one database: table → row UUID →
 * row, kept current by applying a monitor's initial result and its
 * notifications — `update` with <table-updates> (RFC 7047 §4.1.6) or `update2`
 * with <table-updates2> (ovsdb-server(7) §4.1.14, the diff format of
 * monitor_cond).
 *
 * Each notification is validated whole before anything changes (a malformed
 * update throws OvsdbFormatError naming the element it violates and leaves the
 * replica as it was): every column must be declared by the schema the session
 * fetched (§3.2) and requested by the monitor, and every value must have its
 * column's type — §5.1 notation, <atomic-type> of each atom, number of
 * elements. Then it is applied and reported as row changes `{table, uuid,
 * old, new}`: `old` undefined for an insert, `new` undefined for a delete.
 * Rows are always complete (every monitored column, defaults filled in) and in
 * canonical form, so they compare equal to what a `select` returns.
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { PlexusError } from '../common/errors';
import { OvsdbFormatError } from './errors';
import { entriesOf } from './json-slices';
import {
  canonicalValue,
  sortByAtom,
  atomKey,
  defaultValue,
  equalCanonicalValues,
  equalRows,
  isMap,
  isScalar,
  isSet,
  isUuidText,
  validateColumnSize,
  validateColumnValue,
  type Atom,
  type ColumnType,
  type DatabaseSchema,
  type Pair,
  type Row,
  type Value,
} from './rfc7047';

/** One row's change. */
export interface RowChange {
  readonly table: string;
  readonly uuid: string;
  readonly old: Row | undefined;
  readonly new: Row | undefined;
}

/** Wire format of an update: 1 = <table-updates> (monitor), 2 = <table-updates2> (monitor_cond). */
export type UpdateFormat = 1 | 2;

const SEC = {
  tableUpdates: 'RFC 7047 §4.1.6 <table-updates>',
  tableUpdate: 'RFC 7047 §4.1.6 <table-update>',
  rowUpdate: 'RFC 7047 §4.1.6 <row-update>',
  tableUpdates2: 'ovsdb-server(7) §4.1.14 <table-updates2>',
  rowUpdate2: 'ovsdb-server(7) §4.1.14 <row-update2>',
  row: 'RFC 7047 §5.1 <row>',
} as const;

/** Columns every table has without declaring them (RFC 7047 §3.2 <table-schema>). */
const IMPLICIT_COLUMN: ColumnType = { key: { type: 'uuid' }, min: 1, max: 1 };
const IMPLICIT_COLUMNS = new Set(['_uuid', '_version']);

type Tables = Map<string, Map<string, Row>>;

export interface ReplicaEvents {
  /** One row changed. */
  change: [RowChange];
  /** All changes from one notification (or one resync), after they are applied. */
  changes: [readonly RowChange[]];
}

const NO_ROWS: ReadonlyMap<string, Row> = new Map();

/** Rows handled between two checks of the time budget (a power of two, minus one). */
const ROWS_PER_STEP_MASK = 63;

export class Replica extends EventEmitter<ReplicaEvents> {
  private data: Tables = new Map();
  /** An update is being applied over several turns. */
  private busy = false;
  /** Monitored columns per table as sets (undefined = every schema column), for validating updates. */
  private readonly wanted: ReadonlyMap<string, ReadonlySet<string> | undefined>;

  /**
   * @param schema the database schema (§3.2), for column types and defaults
   * @param columns monitored columns per table; `undefined` = every schema column
   */
  constructor(
    private schemaValue: DatabaseSchema,
    private readonly columns: ReadonlyMap<string, readonly string[] | undefined>,
  ) {
    super();
    for (const t of columns.keys()) this.data.set(t, new Map());
    this.wanted = new Map([...columns].map(([t, cols]) => [t, cols ? new Set(cols) : undefined]));
  }

  get schema(): DatabaseSchema {
    return this.schemaValue;
  }
  /** A server restart may bring a new schema version; columns are re-read from it. */
  setSchema(schema: DatabaseSchema): void {
    this.schemaValue = schema;
  }

  get tableNames(): string[] {
    return [...this.data.keys()];
  }
  get(table: string, uuid: string): Row | undefined {
    return this.data.get(table)?.get(uuid);
  }
  /** A table's rows by uuid, live: they change with the next update (read them at once, or copy). */
  table(table: string): ReadonlyMap<string, Row> {
    return this.data.get(table) ?? NO_ROWS;
  }
  /** Rows of a table as [uuid, row] pairs. */
  rows(table: string): [string, Row][] {
    return [...(this.data.get(table)?.entries() ?? [])];
  }
  size(table: string): number {
    return this.data.get(table)?.size ?? 0;
  }
  /** Plain-object copy: table → uuid → row. */
  snapshot(): Record<string, Record<string, Row>> {
    const out: Record<string, Record<string, Row>> = {};
    for (const [t, rows] of this.data) out[t] = Object.fromEntries(rows);
    return out;
  }

  /** Applies a monitor result or notification; returns (and emits) the changes. */
  apply(updates: unknown, format: UpdateFormat): RowChange[] {
    return runToEnd(this.applySteps(updates, format));
  }

  /**
   * Replaces the whole content with a fresh monitor's initial result (after a
   * reconnect) and reports only the differences, so consumers see the same
   * sequence of states they would have seen had the connection never dropped.
   */
  resync(initial: unknown, format: UpdateFormat): RowChange[] {
    return runToEnd(this.resyncSteps(initial, format));
  }

  /**
   * {@link apply}, a turn of about `budgetMs` at a time: an update done within
   * the first turn is applied at once (returns the changes); a larger one
   * continues after yielding to the event loop, and the promise resolves once
   * it is applied. Validation still covers the whole update before anything
   * changes, and the changes are emitted together at the end. No other update
   * may be applied meanwhile.
   */
  applyInTurns(updates: unknown, format: UpdateFormat, budgetMs: number): RowChange[] | Promise<RowChange[]> {
    return this.runInTurns(this.applySteps(updates, format), budgetMs);
  }

  /** {@link resync}, a turn at a time (see {@link applyInTurns}). */
  resyncInTurns(initial: unknown, format: UpdateFormat, budgetMs: number): RowChange[] | Promise<RowChange[]> {
    return this.runInTurns(this.resyncSteps(initial, format), budgetMs);
  }

  private runInTurns(steps: Generator<void, RowChange[]>, budgetMs: number): RowChange[] | Promise<RowChange[]> {
    if (this.busy) throw new PlexusError('replica: an update is still being applied');
    const first = runFor(steps, budgetMs);
    if (first.done) return first.value;
    this.busy = true;
    return (async () => {
      try {
        for (;;) {
          await yieldToEventLoop();
          const r = runFor(steps, budgetMs);
          if (r.done) return r.value;
        }
      } finally {
        this.busy = false;
      }
    })();
  }

  private *applySteps(updates: unknown, format: UpdateFormat): Generator<void, RowChange[]> {
    const changes = yield* this.computeSteps(updates, format, this.data);
    this.commit(changes);
    return changes;
  }

  private *resyncSteps(initial: unknown, format: UpdateFormat): Generator<void, RowChange[]> {
    const fresh: Tables = new Map([...this.columns.keys()].map((t) => [t, new Map<string, Row>()]));
    for (const c of yield* this.computeSteps(initial, format, fresh)) if (c.new) fresh.get(c.table)!.set(c.uuid, c.new);
    const changes: RowChange[] = [];
    let n = 0;
    for (const [table, rows] of fresh) {
      const current = this.data.get(table) ?? new Map<string, Row>();
      for (const [uuid, row] of rows) {
        const old = current.get(uuid);
        if (!equalRows(old, row)) changes.push({ table, uuid, old, new: row });
        if ((++n & ROWS_PER_STEP_MASK) === 0) yield;
      }
      for (const [uuid, old] of current) if (!rows.has(uuid)) changes.push({ table, uuid, old, new: undefined });
    }
    this.commit(changes);
    return changes;
  }

  /**
   * Forgets every row without reporting changes: the database is gone for good
   * (a host that left), so nothing should keep its rows in memory.
   */
  clear(): void {
    for (const rows of this.data.values()) rows.clear();
  }

  private commit(changes: readonly RowChange[]): void {
    for (const c of changes) {
      let rows = this.data.get(c.table);
      if (!rows) this.data.set(c.table, (rows = new Map()));
      if (c.new) rows.set(c.uuid, c.new);
      else rows.delete(c.uuid);
    }
    for (const c of changes) this.emit('change', c);
    if (changes.length > 0) this.emit('changes', changes);
  }

  /** Validates a whole notification and computes its row changes against `base`, changing nothing; yields every few rows. */
  private *computeSteps(updates: unknown, format: UpdateFormat, base: Tables): Generator<void, RowChange[]> {
    const secAll = format === 1 ? SEC.tableUpdates : SEC.tableUpdates2;
    const tables = asObject(updates, secAll, '');
    const changes: RowChange[] = [];
    for (const [table, tableUpdate] of entriesOf(tables)) {
      if (!this.columns.has(table)) throw new OvsdbFormatError(secAll, `table "${table}" is not monitored`, table);
      if (!this.schemaValue.tables.has(table)) throw new OvsdbFormatError(secAll, `table "${table}" is not in the schema`, table);
      const rowsUpdate = asObject(tableUpdate, format === 1 ? SEC.tableUpdate : SEC.tableUpdates2, table);
      const current = base.get(table) ?? new Map<string, Row>();
      for (const [uuid, rowUpdate] of entriesOf(rowsUpdate)) {
        const path = `${table}.${uuid}`;
        if (!isUuidText(uuid)) throw new OvsdbFormatError(format === 1 ? SEC.tableUpdate : SEC.tableUpdates2, `"${uuid}" is not a UUID`, path);
        const old = current.get(uuid);
        const next = format === 1 ? this.rowFromUpdate1(table, old, rowUpdate, path) : this.rowFromUpdate2(table, old, rowUpdate, path);
        if (old === undefined && next === undefined) continue;
        if (next !== undefined && old !== undefined && equalCanonicalRows(old, next)) continue;
        changes.push({ table, uuid, old, new: next });
        if ((changes.length & ROWS_PER_STEP_MASK) === 0) yield;
      }
    }
    return changes;
  }

  /** §4.1.6 <row-update>: "old" and/or "new"; "new" absent means deleted. */
  private rowFromUpdate1(table: string, old: Row | undefined, json: unknown, path: string): Row | undefined {
    const u = asObject(json, SEC.rowUpdate, path);
    for (const k of Object.keys(u)) {
      if (k !== 'old' && k !== 'new') throw new OvsdbFormatError(SEC.rowUpdate, `unexpected member "${k}"`, path);
    }
    if (u.old !== undefined) this.validateColumns(table, u.old, `${path}.old`, false);
    if (u.new === undefined) {
      if (u.old === undefined) throw new OvsdbFormatError(SEC.rowUpdate, 'neither "old" nor "new" present', path);
      return undefined;
    }
    this.validateColumns(table, u.new, `${path}.new`, false);
    return this.complete(table, { ...(old ?? {}), ...u.new });
  }

  /** ovsdb-server(7) §4.1.14 <row-update2>: exactly one of initial, insert, delete, modify. */
  private rowFromUpdate2(table: string, old: Row | undefined, json: unknown, path: string): Row | undefined {
    const u = asObject(json, SEC.rowUpdate2, path);
    const keys = Object.keys(u);
    if (keys.length !== 1) throw new OvsdbFormatError(SEC.rowUpdate2, `expected exactly one member, got ${keys.length}`, path);
    const kind = keys[0]!;
    const body = u[kind];
    switch (kind) {
      case 'initial':
      case 'insert':
        this.validateColumns(table, body, `${path}.${kind}`, false);
        return this.complete(table, body);
      case 'delete':
        return undefined;
      case 'modify': {
        // A diff lists elements to toggle: its atoms are typed, its size is checked on the result.
        this.validateColumns(table, body, `${path}.modify`, true);
        if (!old) throw new OvsdbFormatError(SEC.rowUpdate2, 'modify of a row not in the replica', path);
        const row: Record<string, Value> = { ...old };
        for (const [col, diff] of Object.entries(body)) {
          const type = this.columnType(table, col)!;
          const at = `${path}.modify.${col}`;
          row[col] = applyDiff(type, old[col], diff, at);
          validateColumnSize(elementCount(row[col]!), type, at);
        }
        return this.complete(table, row);
      }
      default:
        throw new OvsdbFormatError(SEC.rowUpdate2, `unknown member "${kind}"`, path);
    }
  }

  private columnType(table: string, column: string): ColumnType | undefined {
    return this.schemaValue.tables.get(table)?.columns.get(column) ?? (IMPLICIT_COLUMNS.has(column) ? IMPLICIT_COLUMN : undefined);
  }

  /**
   * Checks a <row> (or a modify's diffs) from the server: an object whose
   * columns the schema declares and the monitor requested, each value of its
   * column's type (`anySize`: diffs, whose element count is not the column's).
   */
  private validateColumns(table: string, json: unknown, path: string, anySize: boolean): asserts json is Row {
    const row = asObject(json, SEC.row, path);
    const wanted = this.wanted.get(table);
    for (const col in row) {
      const type = this.columnType(table, col);
      if (type === undefined) throw new OvsdbFormatError(SEC.row, `column "${col}" is not declared in table ${table} of the schema`, path);
      if (wanted !== undefined && !wanted.has(col)) throw new OvsdbFormatError(SEC.row, `column "${col}" was not requested by the monitor`, path);
      validateColumnValue(row[col], type, `${path}.${col}`, anySize);
    }
  }

  /** Fills monitored columns the server left out (they hold their default) and canonicalises values. */
  private complete(table: string, row: Row): Row {
    const out: Record<string, Value> = {};
    const wanted = this.columns.get(table) ?? [...(this.schemaValue.tables.get(table)?.columns.keys() ?? [])];
    for (const col of wanted) {
      const t = this.columnType(table, col);
      if (row[col] === undefined && t) out[col] = canonicalValue(defaultValue(t));
    }
    for (const [col, v] of Object.entries(row)) out[col] = canonicalValue(v);
    return out;
  }
}

/**
 * Applies an update2 column diff (ovsdb-server(7) §4.1.14): a single-valued
 * column takes the new value; a set toggles each listed element; a map adds new
 * keys, removes listed pairs that match, and replaces values of listed keys that
 * differ. The old value and the diff have been validated against the column's type.
 */
function applyDiff(type: ColumnType, old: Value | undefined, diff: Value, path: string): Value {
  if (isScalar(type)) return diff;
  if (type.value === undefined && type.max === 1) return optionalAfter(old, diff);
  if (type.value !== undefined) {
    if (!isMap(diff)) throw new OvsdbFormatError(SEC.rowUpdate2, 'diff of a map column is not a <map>', path);
    const pairs = new Map<string, Pair>((old && isMap(old) ? old[1] : []).map((p) => [atomKey(p[0]), p]));
    for (const p of diff[1]) {
      const k = atomKey(p[0]);
      const have = pairs.get(k);
      if (!have) pairs.set(k, p);
      else if (atomKey(have[1]) === atomKey(p[1])) pairs.delete(k);
      else pairs.set(k, p);
    }
    return ['map', sortByAtom([...pairs.values()], (p) => p[0])];
  }
  const merged = toggleSorted(old === undefined ? [] : atomsOf(old), atomsOf(diff));
  if (merged) return merged.length === 1 ? merged[0]! : ['set', merged];
  const atoms = new Map<string, Atom>((old === undefined ? [] : atomsOf(old)).map((a) => [atomKey(a), a]));
  for (const a of atomsOf(diff)) {
    const k = atomKey(a);
    if (atoms.has(k)) atoms.delete(k);
    else atoms.set(k, a);
  }
  return canonicalValue(['set', [...atoms.values()]]);
}

/**
 * An optional (0..1) column after a modify. ovsdb-server sends such a column's
 * new value, not a diff (its "diff" of a column that is not composite, i.e.
 * max 1, is the new datum: 5000 → 10000 arrives as 10000, cleared as the empty
 * set); a two-element diff (both values, to toggle) is read as the toggle, and
 * one element equal to the old value as its removal.
 */
function optionalAfter(old: Value | undefined, diff: Value): Value {
  const atoms = atomsOf(diff);
  const had = old === undefined ? [] : atomsOf(old);
  if (atoms.length === 2) {
    const left = atoms.filter((a) => !had.some((h) => atomKey(h) === atomKey(a)));
    return left.length === 1 ? left[0]! : ['set', left];
  }
  if (atoms.length === 1 && had.length === 1 && atomKey(had[0]!) === atomKey(atoms[0]!)) return ['set', []];
  return atoms.length === 1 ? atoms[0]! : ['set', atoms]; // more than two: the caller's size check refuses it
}

/**
 * The symmetric difference of two atom lists that are both in canonical order
 * (the replica's value, and the server's diff, which ovsdb-server sorts the
 * same way), by one merge: no map, no sort — a bridge's ports can number
 * 50,000. Undefined when either list is not sorted (or has duplicates).
 */
function toggleSorted(old: readonly Atom[], diff: readonly Atom[]): Atom[] | undefined {
  const ok = old.map(atomKey);
  const dk = diff.map(atomKey);
  for (let i = 1; i < ok.length; i++) if (ok[i - 1]! >= ok[i]!) return undefined;
  for (let i = 1; i < dk.length; i++) if (dk[i - 1]! >= dk[i]!) return undefined;
  const out: Atom[] = [];
  let i = 0;
  let j = 0;
  while (i < old.length || j < diff.length) {
    if (j === diff.length || (i < old.length && ok[i]! < dk[j]!)) out.push(old[i++]!);
    else if (i === old.length || dk[j]! < ok[i]!) out.push(diff[j++]!);
    else {
      i++;
      j++;
    }
  }
  return out;
}

/** Equality of two complete rows of the replica (canonical values, the same columns). */
function equalCanonicalRows(a: Row, b: Row): boolean {
  for (const col in b) if (!equalCanonicalValues(a[col], b[col])) return false;
  for (const col in a) if (!(col in b)) return false;
  return true;
}

/** The elements of a set column's value (a one-element set may be its atom, §5.1). */
function atomsOf(v: Value): readonly Atom[] {
  return isSet(v) ? v[1] : [v as Atom];
}

/** Elements of a column value: pairs of a map, atoms of a set, 1 for an atom. */
function elementCount(v: Value): number {
  return isSet(v) || isMap(v) ? v[1].length : 1;
}

function asObject(v: unknown, section: string, path: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new OvsdbFormatError(section, 'is not an object', path || '(top)');
  }
  return v as Record<string, unknown>;
}

function runToEnd<T>(steps: Generator<void, T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** Advances `steps` until done or `budgetMs` has passed. */
function runFor<T>(steps: Generator<void, T>, budgetMs: number): IteratorResult<void, T> {
  const deadline = performance.now() + budgetMs;
  for (;;) {
    const r = steps.next();
    if (r.done || performance.now() >= deadline) return r;
  }
}
