/** Attaching workload ports to sandboxed hosts the way ovs-docker and libvirt do, for tests. */
import type { OvsHost } from '../../src/sandbox/ovs-host';
import { waitFor } from '../../src/sandbox/processes';

/** Adds a dummy port to br-int with the given external_ids; resolves with its OpenFlow port. */
export async function plug(h: OvsHost, port: string, ids: Record<string, string>): Promise<number> {
  const args = ['add-port', 'br-int', port, '--', 'set', 'Interface', port, 'type=dummy'];
  for (const [k, v] of Object.entries(ids)) args.push(`external_ids:${k}=${v}`);
  await h.vsctl(...args);
  return Number(
    await waitFor(`ofport of ${port}`, async () => {
      const v = (await h.vsctl('get', 'Interface', port, 'ofport')).stdout.trim();
      return Number(v) > 0 ? v : undefined;
    }),
  );
}

/** Whether Plexus has written plexus-installed=true on the interface. */
export async function isInstalled(h: OvsHost, port: string): Promise<boolean> {
  return (await h.vsctl('get', 'Interface', port, 'external_ids')).stdout.includes('plexus-installed="true"');
}
