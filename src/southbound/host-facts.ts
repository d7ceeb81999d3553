/**
 * Reads a host's identity and settings from its Open_vSwitch external_ids
 * (SPEC §2). A missing or malformed required key makes the host `not-ready`
 * with that reason; nothing is guessed.
 */
import { ipVersionOf } from '../../protocols/packet/address';
import type { OvsView } from './ovs-view';

export const DATAPATH_TYPES = ['system', 'netdev', 'dummy'] as const;
export type DatapathType = (typeof DATAPATH_TYPES)[number];

export interface HostFacts {
  readonly systemId: string | null;
  readonly encapIp: string | null;
  readonly datapathType: DatapathType;
  readonly ovsVersion: string | null;
  /** Why the host cannot be made ready; empty when it can. */
  readonly problems: readonly string[];
}

export function readHostFacts(view: OvsView): HostFacts {
  const ids = view.root?.externalIds ?? {};
  const problems: string[] = [];
  if (!view.root) problems.push('Open_vSwitch table has no row (ovs-vsctl init not run)');

  const systemId = ids['system-id']?.trim() || null;
  if (!systemId) problems.push('external_ids:system-id is not set on the Open_vSwitch row');
  else if (!/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,252}$/.test(systemId)) {
    problems.push(`external_ids:system-id "${systemId}" has characters Plexus does not accept (letters, digits, . _ : -)`);
  }

  const rawIp = ids['plexus-encap-ip']?.trim();
  let encapIp: string | null = null;
  if (!rawIp) problems.push('external_ids:plexus-encap-ip is not set (the tunnel endpoint IP of this host)');
  else if (ipVersionOf(rawIp) === undefined) problems.push(`external_ids:plexus-encap-ip "${rawIp}" is not an IP address`);
  else encapIp = rawIp;

  const rawType = ids['plexus-bridge-datapath-type']?.trim() || 'system';
  let datapathType: DatapathType = 'system';
  if ((DATAPATH_TYPES as readonly string[]).includes(rawType)) datapathType = rawType as DatapathType;
  else problems.push(`external_ids:plexus-bridge-datapath-type "${rawType}" is not one of ${DATAPATH_TYPES.join(', ')}`);

  return { systemId: problems.some((p) => p.includes('system-id')) ? null : systemId, encapIp, datapathType, ovsVersion: view.root?.ovsVersion ?? null, problems };
}
