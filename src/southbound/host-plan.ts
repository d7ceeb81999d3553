/**
 * The desired configuration of a host's integration bridge, and the OVSDB
 * operations that bring its database there (SPEC §2). Pure: the same view and
 * desired state always give the same operations, and a host already in the
 * desired state gives none, so re-adopting a host (after a plexusd restart or
 * failover) changes nothing on it.
 */
import { map, namedUuid as named, set, uuid, type Atom, type Row } from '../../protocols/ovsdb/rfc7047';
import { cond, insert, mutate, mutation, update, type Condition, type Mutation, type Operation } from '../../protocols/ovsdb/transact';
import type { OvsBridge, OvsView } from './ovs-view';
import { findBridge } from './ovs-view';

export const INTEGRATION_BRIDGE = 'br-int';
/** The one VXLAN port of a host (SPEC §2): remote_ip=flow, the flows set tun_dst per destination host. */
export const TUNNEL_PORT = 'plexus-vxlan';
/**
 * external_ids key of the per-peer VXLAN ports earlier versions created (one
 * per other host, valued with its id): kept until the flows stopped using
 * them, then removed.
 */
export const PEER_KEY = 'plexus-peer';
/**
 * Interface external_ids Plexus sets once every flow of the endpoint is on the
 * host (integrations wait for it, cf. ovn-installed), with a millisecond timestamp.
 */
export const INSTALLED_KEY = 'plexus-installed';
export const INSTALLED_TS_KEY = 'plexus-installed-ts';

export interface DesiredHostConfig {
  readonly datapathType: string;
  readonly localIp: string;
  /** OpenFlow controller targets, e.g. tcp:10.0.0.1:6653. */
  readonly controllers: readonly string[];
  /** Whether per-peer ports left by an earlier version may go: no flow outputs to them any more. */
  readonly retireLegacyTunnels: boolean;
  /** Controller and manager reconnect tuning, in ms. */
  readonly maxBackoffMs: number;
  readonly inactivityProbeMs: number;
}

const byUuid = (u: string): Condition[] => [cond('_uuid', '==', uuid(u))];

function tunnelOptions(localIp: string): Record<string, string> {
  // tos=inherit: the outer IP header carries the inner DSCP (QoS marking seen on the underlay).
  return { key: 'flow', local_ip: localIp, remote_ip: 'flow', tos: 'inherit' };
}

function sameRecord(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

/** Operations that make the host match `desired`; [] when it already does. */
export function planHostConfig(view: OvsView, desired: DesiredHostConfig): Operation[] {
  if (!view.root) return [];
  const ops: Operation[] = [];
  const bridge = findBridge(view, INTEGRATION_BRIDGE);
  const bridgeRef = bridge ? uuid(bridge.uuid) : named('br_int');

  // Controllers: keep rows whose target is wanted and tuned, create the rest.
  const controllerRefs: Atom[] = [];
  let controllersChanged = false;
  const existing = (bridge?.controllers ?? []).map((u) => view.controllers.get(u)).filter((c) => c !== undefined);
  desired.controllers.forEach((target, i) => {
    const row = existing.find((c) => c.target === target);
    const tuned =
      row && row.connectionMode === 'out-of-band' && row.maxBackoff === desired.maxBackoffMs && row.inactivityProbe === desired.inactivityProbeMs;
    if (row && tuned) {
      controllerRefs.push(uuid(row.uuid));
      return;
    }
    controllersChanged = true;
    ops.push(
      insert(
        'Controller',
        { target, connection_mode: 'out-of-band', max_backoff: desired.maxBackoffMs, inactivity_probe: desired.inactivityProbeMs },
        `ctl${i}`,
      ),
    );
    controllerRefs.push(named(`ctl${i}`));
  });
  if (existing.length !== desired.controllers.length) controllersChanged = true;

  const bridgeColumns = {
    fail_mode: 'secure',
    protocols: set(['OpenFlow13']),
    datapath_type: desired.datapathType,
    other_config: map({ ...(bridge?.otherConfig ?? {}), 'disable-in-band': 'true' }),
  };

  // Tunnels: the one flow-based VXLAN port; per-peer ports of earlier versions go once retired.
  const portInserts: Atom[] = [];
  const portDeletes: Atom[] = [];
  let tunnelSeen = false;
  for (const portUuid of bridge?.ports ?? []) {
    const port = view.ports.get(portUuid);
    if (!port) continue;
    if (port.externalIds[PEER_KEY] !== undefined) {
      if (desired.retireLegacyTunnels) portDeletes.push(uuid(port.uuid));
      continue;
    }
    if (port.name !== TUNNEL_PORT) continue;
    const iface = port.interfaces.length === 1 ? view.interfaces.get(port.interfaces[0]!) : undefined;
    if (!iface || tunnelSeen) {
      portDeletes.push(uuid(port.uuid));
      continue;
    }
    tunnelSeen = true;
    const options = tunnelOptions(desired.localIp);
    if (iface.type !== 'vxlan' || !sameRecord(iface.options, options)) {
      ops.push(update('Interface', byUuid(iface.uuid), { type: 'vxlan', options: map(options) }));
    }
  }
  if (!tunnelSeen) {
    ops.push(insert('Interface', { name: TUNNEL_PORT, type: 'vxlan', options: map(tunnelOptions(desired.localIp)) }, 'if_tunnel'));
    ops.push(insert('Port', { name: TUNNEL_PORT, interfaces: named('if_tunnel') }, 'p_tunnel'));
    portInserts.push(named('p_tunnel'));
  }

  if (!bridge) {
    ops.push(insert('Interface', { name: INTEGRATION_BRIDGE, type: 'internal' }, 'if_br_int'));
    ops.push(insert('Port', { name: INTEGRATION_BRIDGE, interfaces: named('if_br_int') }, 'p_br_int'));
    ops.push(
      insert('Bridge', { name: INTEGRATION_BRIDGE, ...bridgeColumns, controller: set(controllerRefs), ports: set([named('p_br_int'), ...portInserts]) }, 'br_int'),
    );
    ops.push(mutate('Open_vSwitch', byUuid(view.root.uuid), [mutation('bridges', 'insert', set([bridgeRef]))]));
  } else {
    const row: Record<string, Row[string]> = {};
    if (bridge.failMode !== 'secure') row['fail_mode'] = bridgeColumns.fail_mode;
    if (bridge.protocols.length !== 1 || bridge.protocols[0] !== 'OpenFlow13') row['protocols'] = bridgeColumns.protocols;
    if (bridge.datapathType !== desired.datapathType) row['datapath_type'] = desired.datapathType;
    if (bridge.otherConfig['disable-in-band'] !== 'true') row['other_config'] = bridgeColumns.other_config;
    if (controllersChanged) row['controller'] = set(controllerRefs);
    if (Object.keys(row).length) ops.push(update('Bridge', byUuid(bridge.uuid), row));
    const mutations: Mutation[] = [];
    if (portDeletes.length) mutations.push(mutation('ports', 'delete', set(portDeletes)));
    if (portInserts.length) mutations.push(mutation('ports', 'insert', set(portInserts)));
    if (mutations.length) ops.push(mutate('Bridge', byUuid(bridge.uuid), mutations));
  }

  // Managers: reconnect quickly after a controller restart instead of OVS's 8 s default backoff.
  for (const m of view.managers.values()) {
    if (m.maxBackoff !== desired.maxBackoffMs || m.inactivityProbe !== desired.inactivityProbeMs) {
      ops.push(update('Manager', byUuid(m.uuid), { max_backoff: desired.maxBackoffMs, inactivity_probe: desired.inactivityProbeMs }));
    }
  }
  return ops;
}

/** True when br-int exists with every setting Plexus wants (used for host status). */
export function isBridgeConfigured(bridge: OvsBridge | undefined, desired: DesiredHostConfig): boolean {
  return (
    bridge !== undefined &&
    bridge.failMode === 'secure' &&
    bridge.protocols.includes('OpenFlow13') &&
    bridge.datapathType === desired.datapathType
  );
}

/**
 * The mark that tells integrations (CNI plugins, libvirt hooks) an endpoint's
 * flows are all on the host: `plexus-installed=true` and `plexus-installed-ts`
 * (ms) on its Interface. [] when the interface already carries it.
 */
export function planInstalledMark(iface: { readonly ifaceUuid: string; readonly installedMark: boolean }, atMs: number): Operation[] {
  if (iface.installedMark) return [];
  return [
    mutate('Interface', byUuid(iface.ifaceUuid), [
      mutation('external_ids', 'delete', set([INSTALLED_KEY, INSTALLED_TS_KEY])),
      mutation('external_ids', 'insert', map({ [INSTALLED_KEY]: 'true', [INSTALLED_TS_KEY]: String(atMs) })),
    ]),
  ];
}

/** Interface external_ids Plexus writes back (SPEC §2): the endpoint it bound, the MAC it chose, why it cannot bind. */
export const ENDPOINT_KEY = 'plexus-endpoint';
export const MAC_KEY = 'plexus-mac';
export const ERROR_KEY = 'plexus-error';

/**
 * What Plexus wants in an Interface's external_ids: each key set to a value,
 * or `null` for absent; keys not named are left alone.
 */
export type DesiredInterfaceMarks = Readonly<Partial<Record<typeof ENDPOINT_KEY | typeof MAC_KEY | typeof ERROR_KEY | typeof INSTALLED_KEY | typeof INSTALLED_TS_KEY, string | null>>>;

/** Longest plexus-error line written (the reason, not a log). */
const MAX_ERROR_CHARS = 300;

/** One line of at most MAX_ERROR_CHARS characters, as plexus-error holds it. */
export function errorLine(reason: string): string {
  const line = reason.replace(/\s+/g, ' ').trim();
  return line.length > MAX_ERROR_CHARS ? `${line.slice(0, MAX_ERROR_CHARS - 1)}…` : line;
}

/**
 * The write-back of an Interface (plexus-endpoint, plexus-mac, plexus-error,
 * and removing plexus-installed): one `mutate` that deletes the keys to change
 * and inserts their new values. [] when the interface already carries exactly
 * what is wanted, so a restarted master writes nothing.
 */
export function planInterfaceMarks(
  iface: { readonly ifaceUuid: string; readonly externalIds: Readonly<Record<string, string>> },
  marks: DesiredInterfaceMarks,
): Operation[] {
  const remove: string[] = [];
  const add: Record<string, string> = {};
  for (const [key, value] of Object.entries(marks).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (value === undefined) continue;
    const want = key === ERROR_KEY && value !== null ? errorLine(value) : value;
    const have = iface.externalIds[key];
    if (have === (want ?? undefined)) continue;
    if (have !== undefined) remove.push(key);
    if (want !== null) add[key] = want;
  }
  if (!remove.length && !Object.keys(add).length) return [];
  const mutations: Mutation[] = [];
  if (remove.length) mutations.push(mutation('external_ids', 'delete', set(remove)));
  if (Object.keys(add).length) mutations.push(mutation('external_ids', 'insert', map(add)));
  return [mutate('Interface', byUuid(iface.ifaceUuid), mutations)];
}
