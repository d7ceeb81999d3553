/**
 * RFC 7047 data notation (§5.1) and schema types (§3.2): atoms, sets, maps,
 * uuids and named uuids as they travel on the wire, with builders, validators
 * and decoders. Values stay in wire form (`["set",[...]]`, `["map",[[k,v]]]`,
 * `["uuid","..."]`) so nothing is lost between the server and the replica; the
 * `decode*` helpers turn them into plain JS for consumers.
 *
 * Validators throw {@link OvsdbFormatError} naming the section a malformed value
 * violates, e.g. `RFC 7047 §5.1 <map>: pair 2 is not a 2-element array at external_ids`.
 */
import { OvsdbFormatError } from './errors';

/** §5.1 <uuid>: `["uuid", "<36-char UUID>"]`. */
export type Uuid = readonly ['uuid', string];
/** §5.1 <named-uuid>: `["named-uuid", <id>]`, a row inserted earlier in the same transaction. */
export type NamedUuid = readonly ['named-uuid', string];
/** §5.1 <atom>: string, number, boolean, uuid or named-uuid. */
export type Atom = string | number | boolean | Uuid | NamedUuid;
/** §5.1 <set>: `["set", [<atom>*]]` (a one-element set may also be the bare atom). */
export type OvsdbSet = readonly ['set', readonly Atom[]];
/** §5.1 <pair>. */
export type Pair = readonly [Atom, Atom];
/** §5.1 <map>: `["map", [<pair>*]]`. */
export type OvsdbMap = readonly ['map', readonly Pair[]];
/** §5.1 <value>: an atom, a set or a map. */
export type Value = Atom | OvsdbSet | OvsdbMap;
/** §5.1 <row>: column name → value. */
export type Row = { readonly [column: string]: Value };

const SEC = {
  jsonUsage: 'RFC 7047 §3.1',
  schema: 'RFC 7047 §3.2',
  type: 'RFC 7047 §3.2 <type>',
  baseType: 'RFC 7047 §3.2 <base-type>',
  id: 'RFC 7047 §3.1 <id>',
  atom: 'RFC 7047 §5.1 <atom>',
  set: 'RFC 7047 §5.1 <set>',
  map: 'RFC 7047 §5.1 <map>',
  uuid: 'RFC 7047 §5.1 <uuid>',
  namedUuid: 'RFC 7047 §5.1 <named-uuid>',
  row: 'RFC 7047 §5.1 <row>',
} as const;

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
/** §3.1 <id>: a letter or underscore, then letters, digits and underscores. */
const ID_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The all-zero UUID, the default for a uuid column. */
export const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

// ---------------------------------------------------------------------------
// Builders

/** Builds a §5.1 <uuid> (validates the text). */
export function uuid(text: string): Uuid {
  if (!isUuidText(text)) throw new OvsdbFormatError(SEC.uuid, `"${text}" is not a UUID`);
  return ['uuid', text.toLowerCase()];
}

/** Builds a §5.1 <named-uuid> referring to an `insert` with that `uuid-name` (§5.2.1). */
export function namedUuid(name: string): NamedUuid {
  if (!ID_RE.test(name)) throw new OvsdbFormatError(SEC.namedUuid, `"${name}" is not an <id>`);
  return ['named-uuid', name];
}

/** Builds a §5.1 <set>. */
export function set(atoms: Iterable<Atom>): OvsdbSet {
  const list = [...atoms];
  list.forEach((a, i) => validateAtom(a, `[${i}]`));
  return ['set', list];
}

/** Builds a §5.1 <map> from a JS Map, a record of strings or a list of pairs. */
export function map(entries: ReadonlyMap<Atom, Atom> | Readonly<Record<string, Atom>> | Iterable<Pair>): OvsdbMap {
  let pairs: Pair[];
  if (entries instanceof Map) pairs = [...entries.entries()];
  else if (Symbol.iterator in Object(entries)) pairs = [...(entries as Iterable<Pair>)];
  else pairs = Object.entries(entries as Record<string, Atom>);
  pairs.forEach(([k, v], i) => {
    validateAtom(k, `[${i}][0]`);
    validateAtom(v, `[${i}][1]`);
  });
  return ['map', pairs];
}

// ---------------------------------------------------------------------------
// Predicates

export function isUuidText(text: unknown): text is string {
  return typeof text === 'string' && UUID_RE.test(text);
}
export function isId(text: unknown): text is string {
  return typeof text === 'string' && ID_RE.test(text);
}
export function isUuid(v: unknown): v is Uuid {
  return Array.isArray(v) && v.length === 2 && v[0] === 'uuid' && isUuidText(v[1]);
}
export function isNamedUuid(v: unknown): v is NamedUuid {
  return Array.isArray(v) && v.length === 2 && v[0] === 'named-uuid' && isId(v[1]);
}
export function isSet(v: unknown): v is OvsdbSet {
  return Array.isArray(v) && v.length === 2 && v[0] === 'set' && Array.isArray(v[1]);
}
export function isMap(v: unknown): v is OvsdbMap {
  return Array.isArray(v) && v.length === 2 && v[0] === 'map' && Array.isArray(v[1]);
}

// ---------------------------------------------------------------------------
// Validation of values coming from a peer (or built by hand)

/** Checks a §5.1 <atom>; throws OvsdbFormatError naming the rule otherwise. */
export function validateAtom(v: unknown, path = ''): asserts v is Atom {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(v)) throw new OvsdbFormatError(SEC.atom, 'number is not finite', path);
      return;
  }
  if (Array.isArray(v) && v.length === 2) {
    if (v[0] === 'uuid') {
      if (!isUuidText(v[1])) throw new OvsdbFormatError(SEC.uuid, `${JSON.stringify(v[1])} is not a UUID`, path);
      return;
    }
    if (v[0] === 'named-uuid') {
      if (!isId(v[1])) throw new OvsdbFormatError(SEC.namedUuid, `${JSON.stringify(v[1])} is not an <id>`, path);
      return;
    }
  }
  throw new OvsdbFormatError(SEC.atom, `${brief(v)} is not a string, number, boolean, <uuid> or <named-uuid>`, path);
}

/** Checks a §5.1 <value> (atom, set or map). */
export function validateValue(v: unknown, path = ''): asserts v is Value {
  if (Array.isArray(v) && v[0] === 'set') {
    if (v.length !== 2 || !Array.isArray(v[1])) {
      throw new OvsdbFormatError(SEC.set, 'must be ["set", [<atom>*]]', path);
    }
    (v[1] as unknown[]).forEach((a, i) => validateAtom(a, `${path}[${i}]`));
    return;
  }
  if (Array.isArray(v) && v[0] === 'map') {
    if (v.length !== 2 || !Array.isArray(v[1])) {
      throw new OvsdbFormatError(SEC.map, 'must be ["map", [<pair>*]]', path);
    }
    (v[1] as unknown[]).forEach((p, i) => {
      if (!Array.isArray(p) || p.length !== 2) {
        throw new OvsdbFormatError(SEC.map, `pair ${i} is not a 2-element array`, path);
      }
      validateAtom(p[0], `${path}[${i}][0]`);
      validateAtom(p[1], `${path}[${i}][1]`);
    });
    return;
  }
  validateAtom(v, path);
}

/** Checks a §5.1 <row>: an object of column name → <value>. */
export function validateRow(v: unknown, path = ''): asserts v is Row {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new OvsdbFormatError(SEC.row, `${brief(v)} is not an object`, path);
  }
  for (const [column, value] of Object.entries(v)) validateValue(value, path ? `${path}.${column}` : column);
}

// ---------------------------------------------------------------------------
// Decoding to plain JS

/** A <uuid> or a bare UUID string → the UUID text. */
export function decodeUuid(v: unknown, path = ''): string {
  if (isUuid(v)) return v[1];
  throw new OvsdbFormatError(SEC.uuid, `${brief(v)} is not ["uuid", <uuid>]`, path);
}

/** An atom or a <set> (RFC 7047 §5.1: a one-element set may be its atom) → atoms. */
export function decodeSet(v: unknown, path = ''): Atom[] {
  if (isSet(v)) {
    validateValue(v, path);
    return [...v[1]];
  }
  validateAtom(v, path);
  return [v];
}

/** A <map> → JS Map. */
export function decodeMap(v: unknown, path = ''): Map<Atom, Atom> {
  if (!isMap(v)) throw new OvsdbFormatError(SEC.map, `${brief(v)} is not ["map", [<pair>*]]`, path);
  validateValue(v, path);
  return new Map(v[1].map(([k, val]) => [k, val] as [Atom, Atom]));
}

/** A string→string <map> (external_ids, options, other_config) → record. */
export function decodeStringMap(v: unknown, path = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, val] of decodeMap(v, path)) {
    if (typeof k !== 'string' || typeof val !== 'string') {
      throw new OvsdbFormatError(SEC.map, 'expected string keys and values', path);
    }
    out[k] = val;
  }
  return out;
}

/** An atom that may be a uuid → plain JS: uuids become their text. */
export function atomToJs(a: Atom): string | number | boolean {
  return Array.isArray(a) ? a[1] : (a as string | number | boolean);
}

// ---------------------------------------------------------------------------
// Canonical form and equality

/** Total order over atoms, so sets and maps compare independent of wire order. */
export function compareAtoms(a: Atom, b: Atom): number {
  const ka = atomKey(a);
  const kb = atomKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/**
 * A string that identifies an atom and orders atoms: sets and maps sort by it.
 * What JSON.stringify gives, built by hand (a set of 50,000 uuids is sorted
 * often): uuid texts and <id>s hold nothing JSON would escape.
 */
export function atomKey(a: Atom): string {
  switch (typeof a) {
    case 'string':
      return `s${a}`;
    case 'number':
      return String(a);
    case 'boolean':
      return a ? 'true' : 'false';
  }
  return `["${a[0]}","${a[1]}"]`;
}

/**
 * Canonical wire form as ovsdb-server writes it: set elements and map keys
 * sorted, and a one-element set written as its atom (§5.1).
 */
export function canonicalValue(v: Value): Value {
  if (isSet(v)) {
    const atoms = sortByAtom(v[1], (a) => a);
    return atoms.length === 1 ? atoms[0]! : ['set', atoms];
  }
  if (isMap(v)) return ['map', sortByAtom(v[1], (p) => p[0])];
  return v;
}

/** Sorts by {@link compareAtoms}, computing each sort key once (a Bridge's ports can be a set of 50,000 uuids). */
export function sortByAtom<T>(items: readonly T[], atomOf: (item: T) => Atom): T[] {
  if (items.length < 2) return [...items];
  const keyed = items.map((item) => ({ key: atomKey(atomOf(item)), item }));
  // Values from the server and from the replica are sorted already: check before sorting.
  let sorted = true;
  for (let i = 1; i < keyed.length && sorted; i++) sorted = keyed[i - 1]!.key <= keyed[i]!.key;
  if (sorted) return [...items];
  keyed.sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
  return keyed.map((k) => k.item);
}

/** Equality with set/map semantics (order and one-element-set form do not matter). */
export function equalValues(a: Value | undefined, b: Value | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return JSON.stringify(canonicalValue(a)) === JSON.stringify(canonicalValue(b));
}

/**
 * Equality of two values both in canonical form (as {@link canonicalValue}
 * returns them): element by element, without re-sorting or serialising.
 */
export function equalCanonicalValues(a: Value | undefined, b: Value | undefined): boolean {
  if (a === b) return true;
  if (!Array.isArray(a) || !Array.isArray(b) || a[0] !== b[0]) return false;
  if (a[0] === 'uuid' || a[0] === 'named-uuid') return a[1] === b[1];
  const xs = a[1] as readonly unknown[];
  const ys = b[1] as readonly unknown[];
  if (xs.length !== ys.length) return false;
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i];
    const y = ys[i];
    if (x === y) continue;
    if (!Array.isArray(x) || !Array.isArray(y) || x.length !== y.length) return false;
    // An element is a uuid atom (["uuid", u]) or a map pair ([k, v]) whose atoms may be uuids.
    for (let j = 0; j < x.length; j++) {
      const xj = x[j] as unknown;
      const yj = y[j] as unknown;
      if (xj === yj) continue;
      if (!Array.isArray(xj) || !Array.isArray(yj) || xj[0] !== yj[0] || xj[1] !== yj[1]) return false;
    }
  }
  return true;
}

/** Equality of two rows over the union of their columns. */
export function equalRows(a: Row | undefined, b: Row | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  const cols = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const c of cols) if (!equalValues(a[c], b[c])) return false;
  return true;
}

/**
 * Checks a value from a peer against its column's §3.2 <type>: the §5.1
 * notation (a <map> for a map column, a <set> or one atom otherwise), every
 * atom's <atomic-type>, and the number of elements (`min`..`max`). With
 * `anySize`, the element count is not checked (an update2 diff lists the
 * elements to toggle, not the resulting value).
 */
export function validateColumnValue(v: unknown, t: ColumnType, path = '', anySize = false): asserts v is Value {
  let count: number;
  if (t.value !== undefined) {
    if (!isMap(v)) throw new OvsdbFormatError(SEC.map, `${brief(v)} is not a <map>, which the column's §3.2 <type> requires`, path);
    const pairs = v[1] as unknown[];
    for (let i = 0; i < pairs.length; i++) {
      const p = pairs[i];
      if (!Array.isArray(p) || p.length !== 2) throw new OvsdbFormatError(SEC.map, `pair ${i} is not a 2-element array`, path);
      validateTypedAtom(p[0], t.key, `${path}[${i}][0]`);
      validateTypedAtom(p[1], t.value, `${path}[${i}][1]`);
    }
    count = pairs.length;
  } else if (Array.isArray(v) && v[0] === 'set') {
    if (v.length !== 2 || !Array.isArray(v[1])) throw new OvsdbFormatError(SEC.set, 'must be ["set", [<atom>*]]', path);
    const atoms = v[1] as unknown[];
    for (let i = 0; i < atoms.length; i++) validateTypedAtom(atoms[i], t.key, `${path}[${i}]`);
    count = atoms.length;
  } else {
    validateTypedAtom(v, t.key, path);
    count = 1;
  }
  if (!anySize) validateColumnSize(count, t, path);
}

/** Checks that a column value of `count` elements fits its §3.2 <type>'s `min`..`max`. */
export function validateColumnSize(count: number, t: ColumnType, path = ''): void {
  if (count < t.min || count > t.max) {
    const max = t.max === Infinity ? 'unlimited' : String(t.max);
    throw new OvsdbFormatError(SEC.type, `${count} elements where the column allows ${t.min} to ${max}`, path);
  }
}

/** Checks one atom against a §3.2 <base-type>'s <atomic-type> (a uuid must be a §5.1 <uuid>; integers are valid reals). */
export function validateTypedAtom(a: unknown, base: BaseType, path = ''): asserts a is Atom {
  switch (base.type) {
    case 'integer':
      if (typeof a === 'number' && Number.isInteger(a)) return;
      break;
    case 'real':
      if (typeof a === 'number' && Number.isFinite(a)) return;
      break;
    case 'boolean':
      if (typeof a === 'boolean') return;
      break;
    case 'string':
      if (typeof a === 'string') return;
      break;
    case 'uuid':
      if (isUuid(a)) return;
      break;
  }
  const article = base.type === 'integer' ? 'an' : 'a';
  throw new OvsdbFormatError(SEC.atom, `${brief(a)} is not ${article} ${base.type} (the column's §3.2 <atomic-type>)`, path);
}

// ---------------------------------------------------------------------------
// Schema (§3.2)

export type AtomicType = 'integer' | 'real' | 'boolean' | 'string' | 'uuid';
const ATOMIC_TYPES: readonly AtomicType[] = ['integer', 'real', 'boolean', 'string', 'uuid'];

/** §3.2 <base-type>, reduced to what a client needs. */
export interface BaseType {
  readonly type: AtomicType;
  readonly refTable?: string;
  readonly enum?: readonly Atom[];
}

/** §3.2 <type>: key (and value, for maps) with cardinality. */
export interface ColumnType {
  readonly key: BaseType;
  readonly value?: BaseType;
  readonly min: number;
  /** `Infinity` for "unlimited". */
  readonly max: number;
}

export interface TableSchema {
  readonly columns: ReadonlyMap<string, ColumnType>;
  readonly isRoot: boolean;
  readonly indexes: readonly (readonly string[])[];
}

export interface DatabaseSchema {
  readonly name: string;
  readonly version: string;
  readonly tables: ReadonlyMap<string, TableSchema>;
  /** The schema as the server sent it. */
  readonly json: unknown;
}

/** Parses a §3.2 <database-schema> (get_schema's result, §4.1.2). */
export function parseSchema(json: unknown): DatabaseSchema {
  const o = asObject(json, SEC.schema, 'schema');
  if (typeof o.name !== 'string') throw new OvsdbFormatError(SEC.schema, '"name" must be a string', 'schema');
  const tablesJson = asObject(o.tables, SEC.schema, 'schema.tables');
  const tables = new Map<string, TableSchema>();
  for (const [tname, tjson] of Object.entries(tablesJson)) {
    const t = asObject(tjson, SEC.schema, `tables.${tname}`);
    const cols = asObject(t.columns, SEC.schema, `tables.${tname}.columns`);
    const columns = new Map<string, ColumnType>();
    for (const [cname, cjson] of Object.entries(cols)) {
      const c = asObject(cjson, SEC.schema, `${tname}.${cname}`);
      columns.set(cname, parseColumnType(c.type, `${tname}.${cname}.type`));
    }
    const indexes = Array.isArray(t.indexes) ? (t.indexes as string[][]) : [];
    tables.set(tname, { columns, isRoot: t.isRoot === true, indexes });
  }
  return { name: o.name, version: typeof o.version === 'string' ? o.version : '', tables, json };
}

/** Parses a §3.2 <type>. */
export function parseColumnType(json: unknown, path = ''): ColumnType {
  if (typeof json === 'string') return { key: parseBaseType(json, `${path}`), min: 1, max: 1 };
  const o = asObject(json, SEC.type, path);
  const key = parseBaseType(o.key, `${path}.key`);
  const value = o.value === undefined ? undefined : parseBaseType(o.value, `${path}.value`);
  const min = o.min === undefined ? 1 : o.min;
  const max = o.max === undefined ? 1 : o.max === 'unlimited' ? Infinity : o.max;
  if (min !== 0 && min !== 1) throw new OvsdbFormatError(SEC.type, '"min" must be 0 or 1', path);
  if (typeof max !== 'number' || max < 1 || max < min) {
    throw new OvsdbFormatError(SEC.type, '"max" must be a positive integer or "unlimited"', path);
  }
  return value ? { key, value, min, max } : { key, min, max };
}

function parseBaseType(json: unknown, path: string): BaseType {
  if (typeof json === 'string') {
    if (!ATOMIC_TYPES.includes(json as AtomicType)) {
      throw new OvsdbFormatError(SEC.baseType, `"${json}" is not an <atomic-type>`, path);
    }
    return { type: json as AtomicType };
  }
  const o = asObject(json, SEC.baseType, path);
  const base = parseBaseType(o.type, `${path}.type`);
  const refTable = typeof o.refTable === 'string' ? o.refTable : undefined;
  const enumVals = o.enum === undefined ? undefined : decodeSet(o.enum, `${path}.enum`);
  return { type: base.type, ...(refTable ? { refTable } : {}), ...(enumVals ? { enum: enumVals } : {}) };
}

/** True for a column written as a single atom: exactly one value, no map (§3.2 <type> min=max=1). */
export function isScalar(t: ColumnType): boolean {
  return t.value === undefined && t.min === 1 && t.max === 1;
}

/**
 * The default value of a column type (ovsdb-server(7) §4.1.14: update2's
 * "initial"/"insert" rows omit columns equal to it): empty set or map for
 * optional columns, else the atomic type's zero.
 */
export function defaultValue(t: ColumnType): Value {
  if (t.value !== undefined) return t.min === 0 ? ['map', []] : ['map', [[defaultAtom(t.key), defaultAtom(t.value)]]];
  if (t.min === 0) return ['set', []];
  return defaultAtom(t.key);
}

function defaultAtom(b: BaseType): Atom {
  switch (b.type) {
    case 'integer':
    case 'real':
      return 0;
    case 'boolean':
      return false;
    case 'string':
      return '';
    case 'uuid':
      return ['uuid', ZERO_UUID];
  }
}

function asObject(v: unknown, section: string, path: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new OvsdbFormatError(section, `${brief(v)} is not an object`, path);
  }
  return v as Record<string, unknown>;
}

function brief(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
