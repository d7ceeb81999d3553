/**
 * Reads workload attachments off a host's br-int (SPEC §2): every Interface with
 * `external_ids:iface-id` and an OpenFlow port is a NIC to bind to that endpoint.
 * VM or container is told by `vm-uuid`/`vm-id` or `container_id`; `plexus-network`
 * (+ `plexus-ip`) asks Plexus to create the endpoint. An ovs-docker port
 * (`container_id` + `container_iface`, no iface-id) with `plexus-network` gets
 * an endpoint id derived from the host and the container's interface. Every
 * other workload interface is unbindable, with the reason (`readUnbindable`).
 * Also finds the host's VXLAN port (and per-peer ones an earlier version left). Pure.
 */
import { createHash } from 'node:crypto';
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
  /** The id was derived by Plexus (ovs-docker port without iface-id), not given. */
  readonly derivedId: boolean;
  /** The interface's external_ids as OVSDB has them (for the write-back). */
  readonly externalIds: Readonly<Record<string, string>>;
}

/** A workload interface on br-int Plexus cannot bind, and why (written back as plexus-error). */
export interface Unbindable {
  readonly ifaceUuid: string;
  readonly ifaceName: string;
  readonly reason: string;
  readonly externalIds: Readonly<Record<string, string>>;
}

/** Interface types that are never workloads (tunnels, patch ports to other bridges). */
const INFRASTRUCTURE_TYPES = new Set(['vxlan', 'geneve', 'gre', 'stt', 'lisp', 'erspan', 'ip6gre', 'ip6erspan', 'patch']);

/**
 * The endpoint id of an ovs-docker port: stable for the same container
 * interface on the same host, and unique across hosts (the host id is part of it).
 */
export function derivedEndpointId(systemId: string, containerId: string, containerIface: string): string {
  const digest = createHash('sha256').update(`${systemId}\0${containerId}\0${containerIface}`).digest('hex');
  return `ovs-${digest.slice(0, 24)}`;
}

/** Whether an interface on br-int is infrastructure (the bridge's own port, tunnels, patch ports), not a workload. */
function isInfrastructure(iface: OvsInterface): boolean {
  return iface.name === INTEGRATION_BRIDGE || INFRASTRUCTURE_TYPES.has(iface.type) || iface.externalIds[PEER_KEY] !== undefined;
}

/** The endpoint id an interface attaches (given or derived), or why it has none. */
function endpointIdOf(view: OvsView, ids: Readonly<Record<string, string>>): { id: string; derived: boolean } | { reason: string } {
  const given = ids['iface-id']?.trim();
  if (given) return { id: given, derived: false };
  const container = ids['container_id']?.trim();
  const containerIface = ids['container_iface']?.trim();
  const network = ids['plexus-network']?.trim();
  const systemId = view.root?.externalIds['system-id']?.trim();
  if (container && containerIface && network && systemId) return { id: derivedEndpointId(systemId, container, containerIface), derived: true };
  if (network) return { reason: 'external_ids:plexus-network is set but neither iface-id nor container_id + container_iface are: Plexus cannot name the endpoint' };
  if (container) return { reason: 'no external_ids:iface-id, and no plexus-network to create an endpoint for this container interface' };
  return { reason: 'no external_ids:iface-id (the endpoint to attach) and no plexus-network (to create one)' };
}

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

function kindOf(ids: Readonly<Record<string, string>>): EndpointKind {
  if (ids['vm-uuid'] || ids['vm-id']) return 'vm';
  if (ids['container_id']) return 'container';
  return 'other';
}

/** br-int's interfaces of each view: a pass reads attachments, unbindable interfaces and tunnel ports off one view. */
const onBridge = new WeakMap<OvsView, readonly OvsInterface[]>();

function interfacesOnBridge(view: OvsView): readonly OvsInterface[] {
  let out = onBridge.get(view);
  if (!out) onBridge.set(view, (out = readInterfacesOnBridge(view)));
  return out;
}

function readInterfacesOnBridge(view: OvsView): OvsInterface[] {
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

/**
 * What one interface is, as far as it alone (and the host's system-id) tells:
 * skipped (infrastructure, no OpenFlow port yet), an attachment, or unbindable
 * with a reason; a duplicate iface-id is told by the host's other interfaces.
 */
interface InterfaceReading {
  readonly systemId: string | undefined;
  /** Left for the next view (infrastructure, OVS has not numbered it): neither attachment nor unbindable. */
  readonly skipped: boolean;
  readonly attachment: Attachment | undefined;
  /** Why it cannot be an attachment on its own; undefined when it is one (or skipped). */
  readonly reason: string | undefined;
}

/**
 * Each interface value's reading, kept while the view holds the value (view
 * values are stable while their row is, ovs-view.ts): a pass after one
 * interface changed reads that interface, and every other attachment is the
 * same object as before, so consumers tell what changed by identity.
 */
const readings = new WeakMap<OvsInterface, InterfaceReading>();

function readingOf(view: OvsView, iface: OvsInterface): InterfaceReading {
  const systemId = view.root?.externalIds['system-id']?.trim();
  const known = readings.get(iface);
  if (known && known.systemId === systemId) return known;
  const r = readInterface(view, iface, systemId);
  readings.set(iface, r);
  return r;
}

function readInterface(view: OvsView, iface: OvsInterface, systemId: string | undefined): InterfaceReading {
  const none = { systemId, attachment: undefined };
  if (isInfrastructure(iface) || iface.ofport === null || iface.ofport === 0) return { ...none, skipped: true, reason: undefined };
  const ids = iface.externalIds;
  if (iface.ofport < 0) return { ...none, skipped: false, reason: `Open vSwitch could not add the interface${iface.error ? `: ${iface.error}` : ''}` };
  const named = endpointIdOf(view, ids);
  if (!('id' in named)) return { ...none, skipped: false, reason: named.reason };
  const rawMac = (ids['attached-mac'] ?? ids['attached_mac'] ?? '').trim();
  const mac = rawMac.toLowerCase();
  if (rawMac && !MAC_RE.test(mac)) return { ...none, skipped: false, reason: `external_ids:attached-mac "${rawMac}" is not a MAC address (xx:xx:xx:xx:xx:xx)` };
  const attachment: Attachment = {
    endpointId: named.id,
    ifaceUuid: iface.uuid,
    ifaceName: iface.name,
    ofport: iface.ofport,
    mac: mac || null,
    kind: kindOf(ids),
    active: ids['iface-status'] !== 'inactive',
    network: ids['plexus-network']?.trim() || null,
    ip: ids['plexus-ip']?.trim() || null,
    installedMark: ids[INSTALLED_KEY] === 'true',
    derivedId: named.derived,
    externalIds: ids,
  };
  return { systemId, skipped: false, attachment, reason: undefined };
}

/**
 * Attachments on br-int by endpoint id. An iface-id seen twice keeps the
 * lowest ofport (deterministic). An interface whose value did not change gives
 * the same Attachment object as in the previous view.
 */
export function readAttachments(view: OvsView): Map<string, Attachment> {
  const out = new Map<string, Attachment>();
  for (const iface of interfacesOnBridge(view)) {
    const a = readingOf(view, iface).attachment;
    if (!a) continue;
    const prev = out.get(a.endpointId);
    if (!prev || a.ofport < prev.ofport) out.set(a.endpointId, a);
  }
  return out;
}

/**
 * Workload interfaces on br-int that cannot be attachments at all: no endpoint
 * id, a malformed attached-mac, an iface-id given twice on the host, or no
 * OpenFlow port (OVS could not add it). Interfaces OVS has not numbered yet are
 * left for the next view.
 */
export function readUnbindable(view: OvsView, attachments: ReadonlyMap<string, Attachment>): Unbindable[] {
  const out: Unbindable[] = [];
  for (const iface of interfacesOnBridge(view)) {
    const r = readingOf(view, iface);
    if (r.skipped) continue;
    let reason = r.reason;
    const id = r.attachment?.endpointId;
    if (id !== undefined && attachments.get(id)?.ifaceUuid !== iface.uuid) {
      reason = `endpoint ${id} is already attached on this host by interface ${attachments.get(id)?.ifaceName ?? '?'}`;
    }
    if (reason) out.push({ ifaceUuid: iface.uuid, ifaceName: iface.name, reason, externalIds: iface.externalIds });
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
