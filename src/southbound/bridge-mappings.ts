/**
 * External networks on a host (SPEC §2, §3): `Open_vSwitch external_ids
 * plexus-bridge-mappings=physnet1:br-ex,physnet2:br-ex2` maps a physical network
 * name to a bridge the operator owns. For each mapping whose bridge exists,
 * Plexus adds a patch port pair br-int ⇄ bridge and nothing else on that bridge:
 *
 *   br-int   plexus-patch-<physnet>   peer = plexus-int-<physnet>
 *   bridge   plexus-int-<physnet>     peer = plexus-patch-<physnet>
 *
 * both marked `external_ids:plexus-physnet=<physnet>`. Pure: a host already in
 * that state plans nothing; a mapping removed removes its pair.
 */
import { map, namedUuid as named, set, uuid, type Atom } from '../../protocols/ovsdb/rfc7047';
import { cond, insert, mutate, mutation, update, type Operation } from '../../protocols/ovsdb/transact';
import { findBridge, type OvsView } from './ovs-view';

export const BRIDGE_MAPPINGS_KEY = 'plexus-bridge-mappings';
export const PHYSNET_KEY = 'plexus-physnet';

export const patchPortName = (physnet: string): string => `plexus-patch-${physnet}`;
export const peerPortName = (physnet: string): string => `plexus-int-${physnet}`;

export interface BridgeMappings {
  /** physnet → bridge name. */
  readonly mappings: ReadonlyMap<string, string>;
  /** Why an entry was not taken (logged, the host stays ready: only its external traffic is affected). */
  readonly problems: readonly string[];
}

const ENTRY_RE = /^([A-Za-z0-9][A-Za-z0-9_.-]{0,39}):([A-Za-z0-9][A-Za-z0-9_.-]{0,14})$/;

/** Reads `plexus-bridge-mappings` from the Open_vSwitch row's external_ids. */
export function readBridgeMappings(ids: Readonly<Record<string, string>>): BridgeMappings {
  const raw = ids[BRIDGE_MAPPINGS_KEY]?.trim();
  const mappings = new Map<string, string>();
  const problems: string[] = [];
  if (!raw) return { mappings, problems };
  for (const entry of raw.split(',').map((e) => e.trim()).filter((e) => e !== '')) {
    const match = ENTRY_RE.exec(entry);
    if (!match) {
      problems.push(`${BRIDGE_MAPPINGS_KEY} entry "${entry}" is not <physnet>:<bridge>`);
      continue;
    }
    const [, physnet, bridge] = match;
    if (mappings.has(physnet!)) problems.push(`${BRIDGE_MAPPINGS_KEY} maps "${physnet}" twice; the first (${mappings.get(physnet!)}) is used`);
    else if (bridge === 'br-int') problems.push(`${BRIDGE_MAPPINGS_KEY} maps "${physnet}" to br-int, the integration bridge itself`);
    else mappings.set(physnet!, bridge!);
  }
  return { mappings, problems };
}

interface PatchSide {
  readonly bridgeUuid: string;
  readonly name: string;
  readonly peer: string;
  readonly physnet: string;
}

/**
 * Operations that give every mapping whose bridge exists its patch pair, and
 * remove pairs of mappings that are gone. `problems` says which mapped bridge
 * is missing (no operation for it: the bridge is the operator's).
 */
export function planPatchPorts(view: OvsView, mappings: ReadonlyMap<string, string>): { ops: Operation[]; problems: string[] } {
  const ops: Operation[] = [];
  const problems: string[] = [];
  const integration = findBridge(view, 'br-int');
  if (!view.root || !integration) return { ops, problems };
  const wanted: PatchSide[] = [];
  for (const [physnet, bridgeName] of [...mappings].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const bridge = findBridge(view, bridgeName);
    if (!bridge) {
      problems.push(`bridge ${bridgeName} of ${BRIDGE_MAPPINGS_KEY} ${physnet}:${bridgeName} does not exist`);
      continue;
    }
    wanted.push({ bridgeUuid: integration.uuid, name: patchPortName(physnet), peer: peerPortName(physnet), physnet });
    wanted.push({ bridgeUuid: bridge.uuid, name: peerPortName(physnet), peer: patchPortName(physnet), physnet });
  }
  // Our ports anywhere: keep the ones wanted (fixing their peer), delete the rest.
  const kept = new Set<string>();
  for (const bridge of view.bridges.values()) {
    const deletes: Atom[] = [];
    for (const portUuid of bridge.ports) {
      const port = view.ports.get(portUuid);
      const physnet = port?.externalIds[PHYSNET_KEY];
      if (!port || physnet === undefined) continue;
      const want = wanted.find((w) => w.bridgeUuid === bridge.uuid && w.name === port.name);
      const iface = port.interfaces.length === 1 ? view.interfaces.get(port.interfaces[0]!) : undefined;
      if (!want || !iface || kept.has(`${bridge.uuid}/${port.name}`)) {
        deletes.push(uuid(port.uuid));
        continue;
      }
      kept.add(`${bridge.uuid}/${port.name}`);
      if (iface.type !== 'patch' || iface.options['peer'] !== want.peer || Object.keys(iface.options).length !== 1) {
        ops.push(update('Interface', [cond('_uuid', '==', uuid(iface.uuid))], { type: 'patch', options: map({ peer: want.peer }) }));
      }
    }
    if (deletes.length) ops.push(mutate('Bridge', [cond('_uuid', '==', uuid(bridge.uuid))], [mutation('ports', 'delete', set(deletes))]));
  }
  wanted.forEach((w, i) => {
    if (kept.has(`${w.bridgeUuid}/${w.name}`)) return;
    const ids = map({ [PHYSNET_KEY]: w.physnet });
    ops.push(insert('Interface', { name: w.name, type: 'patch', options: map({ peer: w.peer }), external_ids: ids }, `if_patch${i}`));
    ops.push(insert('Port', { name: w.name, interfaces: named(`if_patch${i}`), external_ids: ids }, `p_patch${i}`));
    ops.push(mutate('Bridge', [cond('_uuid', '==', uuid(w.bridgeUuid))], [mutation('ports', 'insert', set([named(`p_patch${i}`)]))]));
  });
  return { ops, problems };
}

/** The OpenFlow port of each physnet's patch port on br-int (for the compiler), once OVS assigned it. */
export function patchPortsOf(view: OvsView): Map<string, number> {
  const out = new Map<string, number>();
  const integration = findBridge(view, 'br-int');
  for (const portUuid of integration?.ports ?? []) {
    const port = view.ports.get(portUuid);
    const physnet = port?.externalIds[PHYSNET_KEY];
    const iface = port && port.interfaces.length === 1 ? view.interfaces.get(port.interfaces[0]!) : undefined;
    if (physnet !== undefined && iface && iface.ofport !== null && iface.ofport > 0 && port!.name === patchPortName(physnet)) out.set(physnet, iface.ofport);
  }
  return out;
}
