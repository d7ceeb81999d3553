/**
 * Reads workload attachments off a host's br-int (SPEC §2): every Interface with
 * `external_ids:iface-id` and an OpenFlow port is a NIC to bind to that endpoint.
 * VM or container is told by `vm-uuid`/`vm-id` or `container_id`; `plexus-network`
 * (+ `plexus-ip`) asks Plexus to create the endpoint. Also finds the host's
 * VXLAN port (and per-peer ones an earlier version left). Pure.
 */
import type { EndpointKind } from '../store/model';
import { INSTALLED_KEY, INTEGRATION_BRIDGE, PEER_KEY, TUNNEL_PORT } from './host-plan';
import { findBridge, type OvsInterface, type OvsView } from './ovs-view';

export interface Attachment {
  readonly endpointId: string;
  readonly ifaceUuid: string;
  readonly ifaceName: string;
  readonly ofport: number;
  readonly mac: string | null;
  readonly kind: EndpointKind;
  /** `inactive` interfaces are known but not yet in use (libvirt during migration). */
  readonly active: boolean;
  readonly network: string | null;
  readonly ip: string | null;
  /** Whether Plexus already wrote plexus-installed=true on the interface. */
  readonly installedMark: boolean;
}

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

function kindOf(ids: Readonly<Record<string, string>>): EndpointKind {
  if (ids['vm-uuid'] || ids['vm-id']) return 'vm';
  if (ids['container_id']) return 'container';
  return 'other';
}

function interfacesOnBridge(view: OvsView): OvsInterface[] {
  const bridge = findBridge(view, INTEGRATION_BRIDGE);
  const out: OvsInterface[] = [];
  for (const portUuid of bridge?.ports ?? []) {
    for (const ifUuid of view.ports.get(portUuid)?.interfaces ?? []) {
      const iface = view.interfaces.get(ifUuid);
      if (iface) out.push(iface);
    }
  }
  return out;
}

/** Attachments on br-int by endpoint id. An iface-id seen twice keeps the lowest ofport (deterministic). */
export function readAttachments(view: OvsView): Map<string, Attachment> {
  const out = new Map<string, Attachment>();
  for (const iface of interfacesOnBridge(view)) {
    const ids = iface.externalIds;
    const endpointId = ids['iface-id']?.trim();
    if (!endpointId || iface.ofport === null || iface.ofport <= 0) continue;
    const rawMac = (ids['attached-mac'] ?? ids['attached_mac'] ?? '').trim().toLowerCase();
    const a: Attachment = {
      endpointId,
      ifaceUuid: iface.uuid,
      ifaceName: iface.name,
      ofport: iface.ofport,
      mac: MAC_RE.test(rawMac) ? rawMac : null,
      kind: kindOf(ids),
      active: ids['iface-status'] !== 'inactive',
      network: ids['plexus-network']?.trim() || null,
      ip: ids['plexus-ip']?.trim() || null,
      installedMark: ids[INSTALLED_KEY] === 'true',
    };
    const prev = out.get(endpointId);
    if (!prev || a.ofport < prev.ofport) out.set(endpointId, a);
  }
  return out;
}

/** The host's tunnel ports: plexus-vxlan's OpenFlow port, and per-peer ports an earlier version left (by peer id). */
export interface TunnelPorts {
  readonly port: number | undefined;
  readonly legacy: ReadonlyMap<string, number>;
}

export function readTunnelPorts(view: OvsView): TunnelPorts {
  let port: number | undefined;
  const legacy = new Map<string, number>();
  for (const iface of interfacesOnBridge(view)) {
    if (iface.type !== 'vxlan' || iface.ofport === null || iface.ofport <= 0) continue;
    const peer = iface.externalIds[PEER_KEY];
    if (peer) legacy.set(peer, iface.ofport);
    else if (iface.name === TUNNEL_PORT) port = iface.ofport;
  }
  return { port, legacy };
}
