/**
 * What Plexus needs to know of one host's Open_vSwitch database, in plain
 * JavaScript values (maps as records, sets as arrays). Built from the OVSDB
 * replica by `viewFromReplica`; consumed by the pure planners.
 */

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
