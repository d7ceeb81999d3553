/**
 * What Plexus needs to know of one host's Open_vSwitch database, in plain
 * JavaScript values (maps as records, sets as arrays). Built from the OVSDB
 * replica by `viewFromRows`; consumed by the pure planners.
 */
import { atomToJs, decodeSet, decodeStringMap, type Row, type Value } from '../../protocols/ovsdb/rfc7047';

export interface OvsRoot {
  readonly uuid: string;
  readonly externalIds: Readonly<Record<string, string>>;
  readonly ovsVersion: string | null;
  readonly bridges: readonly string[];
  readonly managerOptions: readonly string[];
}

export interface OvsBridge {
  readonly uuid: string;
  readonly name: string;
  readonly datapathId: string | null;
  readonly datapathType: string;
  readonly failMode: string | null;
  readonly protocols: readonly string[];
  readonly controllers: readonly string[];
  readonly ports: readonly string[];
  readonly otherConfig: Readonly<Record<string, string>>;
}

export interface OvsPort {
  readonly uuid: string;
  readonly name: string;
  readonly interfaces: readonly string[];
  readonly externalIds: Readonly<Record<string, string>>;
}

export interface OvsInterface {
  readonly uuid: string;
  readonly name: string;
  readonly type: string;
  readonly options: Readonly<Record<string, string>>;
  readonly externalIds: Readonly<Record<string, string>>;
  /** -1 when OVS could not add it (see `error`); null before OVS assigned one. */
  readonly ofport: number | null;
  readonly error: string | null;
}

export interface OvsController {
  readonly uuid: string;
  readonly target: string;
  readonly isConnected: boolean;
  readonly role: string | null;
  readonly otherConfig?: Readonly<Record<string, string>>;
  readonly connectionMode: string | null;
  readonly inactivityProbe: number | null;
  readonly maxBackoff: number | null;
}

export interface OvsManager {
  readonly uuid: string;
  readonly target: string;
  readonly inactivityProbe: number | null;
  readonly maxBackoff: number | null;
}

export interface OvsView {
  readonly root: OvsRoot | null;
  readonly bridges: ReadonlyMap<string, OvsBridge>;
  readonly ports: ReadonlyMap<string, OvsPort>;
  readonly interfaces: ReadonlyMap<string, OvsInterface>;
  readonly controllers: ReadonlyMap<string, OvsController>;
  readonly managers: ReadonlyMap<string, OvsManager>;
}

export function findBridge(view: OvsView, name: string): OvsBridge | undefined {
  for (const b of view.bridges.values()) if (b.name === name) return b;
  return undefined;
}

// ---------------------------------------------------------------------------
// Building the view from OVSDB rows (RFC 7047 values)

/** Tables and columns Plexus monitors on every host; nothing else is replicated. */
export const MONITORED_COLUMNS = {
  Open_vSwitch: ['external_ids', 'ovs_version', 'bridges', 'manager_options'],
  Bridge: ['name', 'datapath_id', 'datapath_type', 'fail_mode', 'protocols', 'controller', 'ports', 'other_config'],
  Port: ['name', 'interfaces', 'external_ids'],
  Interface: ['name', 'type', 'options', 'external_ids', 'ofport', 'error'],
  Controller: ['target', 'is_connected', 'role', 'connection_mode', 'inactivity_probe', 'max_backoff'],
  Manager: ['target', 'inactivity_probe', 'max_backoff'],
} as const;

export type TableRows = ReadonlyMap<string, ReadonlyMap<string, Row>>;

const strings = (v: Value | undefined): string[] => (v === undefined ? [] : decodeSet(v).map((a) => String(atomToJs(a))));
const optString = (v: Value | undefined): string | null => strings(v)[0] ?? null;
const optNumber = (v: Value | undefined): number | null => {
  const s = v === undefined ? [] : decodeSet(v);
  return typeof s[0] === 'number' ? s[0] : null;
};
const record = (v: Value | undefined): Record<string, string> => (v === undefined ? {} : decodeStringMap(v));

/**
 * Each row's plain value, kept while the replica holds that row: the replica
 * replaces a row object when the row changes, so a host pass after one
 * interface changed converts that row, not the host's every port again.
 */
const converted = new WeakMap<Row, { readonly uuid: string }>();

function rowsOf<T extends { readonly uuid: string }>(
  tables: TableRows,
  table: string,
  build: (uuid: string, row: Row) => T,
  previous: ReadonlyMap<string, T> | undefined,
): ReadonlyMap<string, T> {
  const rows = tables.get(table) ?? EMPTY;
  // While every value is the one the previous view holds, that view's map is reused:
  // a consumer tells an unchanged table by identity (`a.interfaces === b.interfaces`).
  let out: Map<string, T> | undefined = previous === undefined || previous.size !== rows.size ? new Map() : undefined;
  for (const [uuid, row] of rows) {
    let value = converted.get(row) as T | undefined;
    if (value?.uuid !== uuid) converted.set(row, (value = build(uuid, row)));
    if (out === undefined) {
      if (previous!.get(uuid) === value) continue;
      out = new Map();
      for (const [u, r] of rows) {
        if (u === uuid) break;
        out.set(u, converted.get(r) as T);
      }
    }
    out.set(uuid, value);
  }
  return out ?? previous!;
}

const EMPTY: ReadonlyMap<string, Row> = new Map();

/**
 * Converts replicated rows into the view. Malformed values throw
 * OvsdbFormatError (the peer is broken). Given the host's previous view, every
 * table none of whose rows changed is that view's map again, and every
 * unchanged row the same value: what a pass re-plans is what changed.
 */
export function viewFromRows(tables: TableRows, previous?: OvsView): OvsView {
  const roots = rowsOf(tables, 'Open_vSwitch', (uuid, r): OvsRoot => ({
    uuid,
    externalIds: record(r['external_ids']),
    ovsVersion: optString(r['ovs_version']),
    bridges: strings(r['bridges']),
    managerOptions: strings(r['manager_options']),
  }), undefined);
  return {
    root: roots.values().next().value ?? null,
    bridges: rowsOf(tables, 'Bridge', (uuid, r) => ({
      uuid,
      name: optString(r['name']) ?? '',
      datapathId: optString(r['datapath_id']),
      datapathType: optString(r['datapath_type']) ?? '',
      failMode: optString(r['fail_mode']),
      protocols: strings(r['protocols']),
      controllers: strings(r['controller']),
      ports: strings(r['ports']),
      otherConfig: record(r['other_config']),
    }), previous?.bridges),
    ports: rowsOf(tables, 'Port', (uuid, r) => ({
      uuid,
      name: optString(r['name']) ?? '',
      interfaces: strings(r['interfaces']),
      externalIds: record(r['external_ids']),
    }), previous?.ports),
    interfaces: rowsOf(tables, 'Interface', (uuid, r) => ({
      uuid,
      name: optString(r['name']) ?? '',
      type: optString(r['type']) ?? '',
      options: record(r['options']),
      externalIds: record(r['external_ids']),
      ofport: optNumber(r['ofport']),
      error: optString(r['error']),
    }), previous?.interfaces),
    controllers: rowsOf(tables, 'Controller', (uuid, r) => ({
      uuid,
      target: optString(r['target']) ?? '',
      isConnected: r['is_connected'] === true,
      role: optString(r['role']),
      connectionMode: optString(r['connection_mode']),
      inactivityProbe: optNumber(r['inactivity_probe']),
      maxBackoff: optNumber(r['max_backoff']),
    }), previous?.controllers),
    managers: rowsOf(tables, 'Manager', (uuid, r) => ({
      uuid,
      target: optString(r['target']) ?? '',
      inactivityProbe: optNumber(r['inactivity_probe']),
      maxBackoff: optNumber(r['max_backoff']),
    }), previous?.managers),
  };
}
