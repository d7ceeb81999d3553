/**
 * An "outside" for a lab host (external networks, SPEC §3): a netdev br-ex on
 * the host, mapped with plexus-bridge-mappings, and a namespace attached to it
 * by a veth, addressed on the external subnet. The caller stops it (deletes
 * the namespace and its veth; br-ex goes with the host's OVS).
 */
import type { LabHost } from './lab';
import { addNetns, addVeth, deleteNetns, ip, nsRun } from './netns';

export interface Outside {
  readonly netns: string;
  readonly bridge: string;
  readonly ip: string;
  stop(): Promise<void>;
}

export interface OutsideSpec {
  readonly physnet: string;
  /** Unique among concurrent tests (namespace and veth names derive from it): letters and digits, ≤ 8. */
  readonly tag: string;
  /** CIDR of the outside's address, e.g. 198.51.100.1/24. */
  readonly address: string;
}

export async function addOutside(host: LabHost, spec: OutsideSpec): Promise<Outside> {
  if (!/^[A-Za-z0-9]{1,8}$/.test(spec.tag)) throw new Error(`outside tag "${spec.tag}": 1-8 letters and digits`);
  const netns = `plexus-out-${spec.tag}`;
  const port = `ox-${spec.tag}`;
  const bridge = 'br-ex';
  await addNetns(netns);
  const stop = async (): Promise<void> => {
    await deleteNetns(netns).catch(() => undefined);
  };
  try {
    await host.ovs.vsctl('--may-exist', 'add-br', bridge, '--', 'set', 'Bridge', bridge, 'datapath_type=netdev');
    await addVeth({ name: port, ns: host.netns, peer: 'eth0', peerNs: netns });
    await ip(host.netns, 'link', 'set', port, 'up');
    await nsRun(netns, 'ethtool', ['-K', 'eth0', 'tx', 'off']);
    await ip(netns, 'link', 'set', 'eth0', 'up');
    await ip(netns, 'addr', 'add', spec.address, 'dev', 'eth0');
    await host.ovs.vsctl('add-port', bridge, port);
    await host.ovs.vsctl('set', 'Open_vSwitch', '.', `external_ids:plexus-bridge-mappings=${spec.physnet}:${bridge}`);
  } catch (err) {
    await stop();
    throw err;
  }
  return { netns, bridge, ip: spec.address.split('/')[0]!, stop };
}
