/**
 * A workload's NIC on a host's br-int (SPEC §2): the veth (containers) or tap
 * (VMs) is added as one Interface with `iface-id`, `attached-mac` and the
 * container/VM markers in the same ovs-vsctl transaction, as ovs-docker and
 * libvirt do; then Plexus writes `plexus-installed=true` once every flow for the
 * endpoint is on the switch, or `plexus-error` when it cannot bind it.
 */
import { createHash } from 'node:crypto';
import { PlexusError } from '../../protocols/common/errors';
import { runCommand, type CommandResult } from './exec';

/** Where a host's OVSDB is and which bridge workloads plug into. */
export interface OvsTarget {
  /** ovs-vsctl --db target, e.g. `unix:/var/run/openvswitch/db.sock`. */
  readonly db: string;
  readonly bridge: string;
}

export const DEFAULT_OVS_DB = 'unix:/var/run/openvswitch/db.sock';
export const INTEGRATION_BRIDGE = 'br-int';
/** 1500 minus the 50 bytes of VXLAN (SPEC §9). */
export const DEFAULT_WORKLOAD_MTU = 1450;

/** The interface was not bound or not installed in time. */
export class AttachError extends PlexusError {
  override readonly name = 'AttachError';
}

export function defaultOvsTarget(db?: string): OvsTarget {
  return { db: db ?? DEFAULT_OVS_DB, bridge: INTEGRATION_BRIDGE };
}

export function vsctl(target: OvsTarget, ...args: string[]): Promise<CommandResult> {
  return runCommand('ovs-vsctl', [`--db=${target.db}`, '--timeout=10', ...args]);
}

/** ovs-vsctl string atom. */
function quote(v: string): string {
  return `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * Linux interface names for a workload NIC derived from a stable id: the host
 * side (on br-int) and a temporary name for the workload side before it moves.
 * 15 characters at most (IFNAMSIZ − 1).
 */
export function linkNamesFor(prefix: string, id: string): { host: string; peer: string } {
  const h = createHash('sha256').update(id).digest('hex').slice(0, 10);
  return { host: `${prefix}${h}`.slice(0, 15), peer: `${prefix}p${h}`.slice(0, 15) };
}

/** br-int's datapath type (`system` when unset): `netdev` needs tx checksum offload off in workloads (SPEC §9). */
export async function readDatapathType(target: OvsTarget): Promise<string> {
  const r = await vsctl(target, 'get', 'Bridge', target.bridge, 'datapath_type');
  return r.stdout.trim().replace(/^"|"$/g, '') || 'system';
}

/**
 * Adds `name` to br-int with `externalIds` in one transaction. `type` is the
 * Interface type (empty for a system device: veth, tap).
 */
export async function addPort(target: OvsTarget, name: string, externalIds: Readonly<Record<string, string>>, type?: string): Promise<void> {
  const set = Object.entries(externalIds).map(([k, v]) => `external_ids:${k}=${quote(v)}`);
  if (type) set.unshift(`type=${type}`);
  await vsctl(target, '--may-exist', 'add-port', target.bridge, name, '--', 'set', 'Interface', name, ...set);
}

/** Sets (merges) external_ids on an existing Interface. */
export async function setInterfaceIds(target: OvsTarget, name: string, externalIds: Readonly<Record<string, string>>): Promise<void> {
  await vsctl(target, 'set', 'Interface', name, ...Object.entries(externalIds).map(([k, v]) => `external_ids:${k}=${quote(v)}`));
}

/** Removes the port; one already gone is fine. */
export async function deletePort(target: OvsTarget, name: string): Promise<void> {
  await vsctl(target, '--if-exists', 'del-port', target.bridge, name);
}

export interface InterfaceRow {
  readonly name: string;
  readonly ofport: number;
  readonly externalIds: Readonly<Record<string, string>>;
}

type JsonAtom = string | number | boolean | [string, unknown];

function decodeMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(v) && v[0] === 'map' && Array.isArray(v[1])) {
    for (const pair of v[1] as [JsonAtom, JsonAtom][]) out[String(pair[0])] = String(pair[1]);
  }
  return out;
}

/** Interfaces (name, ofport, external_ids); `name` narrows to one. */
export async function listInterfaces(target: OvsTarget, name?: string): Promise<InterfaceRow[]> {
  const r = await runCommand('ovs-vsctl', [
    `--db=${target.db}`, '--timeout=10', '--format=json', '--columns=name,ofport,external_ids', 'list', 'Interface', ...(name ? [name] : []),
  ], { allowFail: name !== undefined });
  if (r.code !== 0) {
    if (/no row/.test(r.stderr)) return [];
    throw new AttachError(`ovs-vsctl list Interface ${name ?? ''} failed: ${r.stderr.trim()}`);
  }
  const table = JSON.parse(r.stdout) as { data: unknown[][] };
  return table.data.map((row) => ({
    name: String(row[0]),
    ofport: typeof row[1] === 'number' ? row[1] : -1,
    externalIds: decodeMap(row[2]),
  }));
}

/** Ports on br-int (names). */
export async function listBridgePorts(target: OvsTarget): Promise<string[]> {
  const r = await vsctl(target, 'list-ports', target.bridge);
  return r.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
}

/**
 * Resolves once Plexus has written `plexus-installed=true` on the Interface
 * (milliseconds waited); rejects with Plexus' own `plexus-error` line as soon as
 * it appears, or when `timeoutMs` passes.
 */
export async function waitForInstalled(target: OvsTarget, name: string, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  let last: Readonly<Record<string, string>> | undefined;
  for (;;) {
    const [row] = await listInterfaces(target, name);
    last = row?.externalIds;
    if (last?.['plexus-installed'] === 'true') return Date.now() - t0;
    if (last?.['plexus-error']) throw new AttachError(`Plexus cannot bind ${name}: ${last['plexus-error']}`);
    if (Date.now() - t0 > timeoutMs) {
      const state = !row ? 'the interface is gone' : row.ofport <= 0 ? 'OVS gave it no OpenFlow port' : 'no plexus-installed yet (is the host adopted by plexusd?)';
      throw new AttachError(`${name} not installed by Plexus within ${timeoutMs} ms: ${state}`, { recoverable: true });
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** `ip` in this network namespace, or in `netnsPath` through nsenter. */
export function ipIn(netnsPath: string | undefined, ...args: string[]): Promise<CommandResult> {
  return netnsPath ? runCommand('nsenter', [`--net=${netnsPath}`, 'ip', ...args]) : runCommand('ip', args);
}

export async function linkExists(netnsPath: string | undefined, name: string): Promise<boolean> {
  const r = netnsPath
    ? await runCommand('nsenter', [`--net=${netnsPath}`, 'ip', 'link', 'show', 'dev', name], { allowFail: true })
    : await runCommand('ip', ['link', 'show', 'dev', name], { allowFail: true });
  return r.code === 0;
}

/** Deletes a link in this namespace if it exists (its veth peer goes with it). */
export async function deleteLinkIfExists(name: string): Promise<void> {
  await runCommand('ip', ['link', 'del', 'dev', name], { allowFail: true });
}

export interface VethOptions {
  readonly host: string;
  readonly peer: string;
  readonly mtu: number;
  /** MAC of the workload side. */
  readonly peerMac: string;
  /** Turn tx checksum offload off on the workload side (netdev datapath, SPEC §9). */
  readonly txOffloadOff: boolean;
}

/** Creates a veth pair in this namespace, host side up; the workload side stays down for its owner to move. */
export async function createVeth(o: VethOptions): Promise<void> {
  await runCommand('ip', ['link', 'add', o.host, 'mtu', String(o.mtu), 'type', 'veth', 'peer', 'name', o.peer, 'mtu', String(o.mtu), 'address', o.peerMac]);
  try {
    if (o.txOffloadOff) await runCommand('ethtool', ['-K', o.peer, 'tx', 'off']);
    await runCommand('ip', ['link', 'set', o.host, 'up']);
  } catch (err) {
    await deleteLinkIfExists(o.host);
    throw err;
  }
}
