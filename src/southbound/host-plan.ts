/**
 * The desired configuration of a host's integration bridge, and the OVSDB
 * operations that bring its database there (SPEC §2). Pure: the same view and
 * desired state always give the same operations, and a host already in the
 * desired state gives none, so re-adopting a host (after a plexusd restart or
 * failover) changes nothing on it.
 */
import { createHash } from 'node:crypto';
import type { OvsBridge, OvsView } from './ovs-view';
import { findBridge } from './ovs-view';
import { map, namedUuid as named, set, uuid, type Atom } from '../../protocols/ovsdb/rfc7047';

export const INTEGRATION_BRIDGE = 'br-int';
/** external_ids key marking the tunnel ports Plexus owns, valued with the peer host id. */
export const PEER_KEY = 'plexus-peer';

export interface DesiredTunnel {
  readonly peer: string;
  readonly remoteIp: string;
}

export interface DesiredHostConfig {
  readonly datapathType: string;
  readonly localIp: string;
  /** OpenFlow controller targets, e.g. tcp:10.0.0.1:6653. */
  readonly controllers: readonly string[];
  readonly tunnels: readonly DesiredTunnel[];
  /** Controller and manager reconnect tuning, in ms. */
  readonly maxBackoffMs: number;
  readonly inactivityProbeMs: number;
}

/** An RFC 7047 §5.2 operation, as JSON. */
export type OvsdbOp = Readonly<Record<string, unknown>>;

const byUuid = (u: string): unknown[] => [['_uuid', '==', uuid(u)]];

/** Port name of the tunnel toward `peer`: stable, unique and ≤ 15 characters (IFNAMSIZ). */
export function tunnelPortName(peer: string): string {
  return `vx${createHash('sha256').update(peer).digest('hex').slice(0, 11)}`;
}

function tunnelOptions(t: DesiredTunnel, localIp: string): Record<string, string> {
  return { key: 'flow', local_ip: localIp, remote_ip: t.remoteIp };
}

function sameRecord(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

/** Operations that make the host match `desired`; [] when it already does. */
export function planHostConfig(view: OvsView, desired: DesiredHostConfig): OvsdbOp[] {
  if (!view.root) return [];
  const ops: OvsdbOp[] = [];
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
    ops.push({
      op: 'insert',
      table: 'Controller',
      'uuid-name': `ctl${i}`,
      row: {
        target,
        connection_mode: 'out-of-band',
        max_backoff: desired.maxBackoffMs,
        inactivity_probe: desired.inactivityProbeMs,
      },
    });
    controllerRefs.push(named(`ctl${i}`));
  });
  if (existing.length !== desired.controllers.length) controllersChanged = true;

  const bridgeColumns = {
    fail_mode: 'secure',
    protocols: set(['OpenFlow13']),
    datapath_type: desired.datapathType,
    other_config: map({ ...(bridge?.otherConfig ?? {}), 'disable-in-band': 'true' }),
  };

  // Tunnels: one VXLAN port per peer, owned by us through external_ids:plexus-peer.
  const wanted = new Map(desired.tunnels.map((t) => [t.peer, t]));
  const portInserts: Atom[] = [];
  const portDeletes: Atom[] = [];
  const ownedPeers = new Set<string>();
  for (const portUuid of bridge?.ports ?? []) {
    const port = view.ports.get(portUuid);
    const peer = port?.externalIds[PEER_KEY];
    if (!port || peer === undefined) continue;
    const tunnel = wanted.get(peer);
    const iface = port.interfaces.length === 1 ? view.interfaces.get(port.interfaces[0]!) : undefined;
    if (!tunnel || !iface || ownedPeers.has(peer)) {
      portDeletes.push(uuid(port.uuid));
      continue;
    }
    ownedPeers.add(peer);
    const options = tunnelOptions(tunnel, desired.localIp);
    if (iface.type !== 'vxlan' || !sameRecord(iface.options, options)) {
      ops.push({ op: 'update', table: 'Interface', where: byUuid(iface.uuid), row: { type: 'vxlan', options: map(options) } });
    }
  }
  for (const t of [...desired.tunnels].sort((a, b) => (a.peer < b.peer ? -1 : 1))) {
    if (ownedPeers.has(t.peer)) continue;
    const name = tunnelPortName(t.peer);
    const tag = name.replace(/[^a-z0-9]/g, '');
    const ids = map({ [PEER_KEY]: t.peer });
    ops.push({
      op: 'insert',
      table: 'Interface',
      'uuid-name': `if_${tag}`,
      row: { name, type: 'vxlan', options: map(tunnelOptions(t, desired.localIp)), external_ids: ids },
    });
    ops.push({ op: 'insert', table: 'Port', 'uuid-name': `p_${tag}`, row: { name, interfaces: named(`if_${tag}`), external_ids: ids } });
    portInserts.push(named(`p_${tag}`));
  }

  if (!bridge) {
    ops.push({ op: 'insert', table: 'Interface', 'uuid-name': 'if_br_int', row: { name: INTEGRATION_BRIDGE, type: 'internal' } });
    ops.push({ op: 'insert', table: 'Port', 'uuid-name': 'p_br_int', row: { name: INTEGRATION_BRIDGE, interfaces: named('if_br_int') } });
    ops.push({
      op: 'insert',
      table: 'Bridge',
      'uuid-name': 'br_int',
      row: { name: INTEGRATION_BRIDGE, ...bridgeColumns, controller: set(controllerRefs), ports: set([named('p_br_int'), ...portInserts]) },
    });
    ops.push({ op: 'mutate', table: 'Open_vSwitch', where: byUuid(view.root.uuid), mutations: [['bridges', 'insert', set([bridgeRef])]] });
  } else {
    const row: Record<string, unknown> = {};
    if (bridge.failMode !== 'secure') row['fail_mode'] = bridgeColumns.fail_mode;
    if (bridge.protocols.length !== 1 || bridge.protocols[0] !== 'OpenFlow13') row['protocols'] = bridgeColumns.protocols;
    if (bridge.datapathType !== desired.datapathType) row['datapath_type'] = desired.datapathType;
    if (bridge.otherConfig['disable-in-band'] !== 'true') row['other_config'] = bridgeColumns.other_config;
    if (controllersChanged) row['controller'] = set(controllerRefs);
    if (Object.keys(row).length) ops.push({ op: 'update', table: 'Bridge', where: byUuid(bridge.uuid), row });
    const mutations: unknown[] = [];
    if (portDeletes.length) mutations.push(['ports', 'delete', set(portDeletes)]);
    if (portInserts.length) mutations.push(['ports', 'insert', set(portInserts)]);
    if (mutations.length) ops.push({ op: 'mutate', table: 'Bridge', where: byUuid(bridge.uuid), mutations });
  }

  // Managers: reconnect quickly after a controller restart instead of OVS's 8 s default backoff.
  for (const m of view.managers.values()) {
    if (m.maxBackoff !== desired.maxBackoffMs || m.inactivityProbe !== desired.inactivityProbeMs) {
      ops.push({
        op: 'update',
        table: 'Manager',
        where: byUuid(m.uuid),
        row: { max_backoff: desired.maxBackoffMs, inactivity_probe: desired.inactivityProbeMs },
      });
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
