import assert from 'node:assert/strict';
import type { Lab } from '../../../src/sandbox/lab';
import { startLabWithPlexusd } from '../../../src/sandbox/lab-plexusd';
import type { PlexusdProcess } from '../../../src/sandbox/plexusd-process';
import { waitFor } from '../../../src/sandbox/processes';

/**
 * External networks on real Open vSwitch (SPEC §3): plexus-bridge-mappings gives
 * a patch pair br-int ⇄ br-ex, removed with the mapping, untouched by a plexusd
 * restart (the same Interface rows, so no port flaps).
 */
describe('bridge mappings on real OVS hosts @slow', function () {
  this.timeout(120_000);
  let lab: Lab;
  let plexusd: PlexusdProcess;

  before(async () => {
    ({ lab, plexusd } = await startLabWithPlexusd({
      beforeJoin: async (l) => {
        const h1 = l.hosts[0]!;
        await h1.ovs.vsctl('add-br', 'br-ex', '--', 'set', 'Bridge', 'br-ex', 'datapath_type=netdev');
        await h1.ovs.vsctl('set', 'Open_vSwitch', '.', 'external_ids:plexus-bridge-mappings=physnet1:br-ex,physnet2:br-missing');
      },
    }));
  });

  after(async () => {
    await lab?.stop();
    await plexusd?.destroy();
  });

  const ports = async (bridge: string): Promise<string[]> => (await lab.hosts[0]!.ovs.vsctl('list-ports', bridge)).stdout.split('\n').filter(Boolean);
  const uuidOf = async (iface: string): Promise<string> => (await lab.hosts[0]!.ovs.vsctl('get', 'Interface', iface, '_uuid')).stdout.trim();

  it('adds the patch pair for a mapped bridge that exists, and only on the host that maps it', async () => {
    await waitFor('patch ports', async () => (await ports('br-ex')).includes('plexus-int-physnet1'), 20_000);
    assert.ok((await ports('br-int')).includes('plexus-patch-physnet1'));
    const peer = (await lab.hosts[0]!.ovs.vsctl('get', 'Interface', 'plexus-patch-physnet1', 'options:peer')).stdout.trim();
    assert.equal(peer.replace(/"/g, ''), 'plexus-int-physnet1');
    const h2 = (await lab.hosts[1]!.ovs.vsctl('list-ports', 'br-int')).stdout;
    assert.doesNotMatch(h2, /plexus-patch/);
    assert.ok(!(await ports('br-int')).some((p) => p.includes('physnet2')), 'no port toward a bridge that does not exist');
  });

  it('leaves the pair untouched across a plexusd restart', async () => {
    const before = [await uuidOf('plexus-patch-physnet1'), await uuidOf('plexus-int-physnet1')];
    await plexusd.stop();
    await plexusd.launch();
    await plexusd.waitHostsReady(2, 'hosts ready again');
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual([await uuidOf('plexus-patch-physnet1'), await uuidOf('plexus-int-physnet1')], before);
  });

  it('removes the pair when the mapping goes', async () => {
    await lab.hosts[0]!.ovs.vsctl('remove', 'Open_vSwitch', '.', 'external_ids', 'plexus-bridge-mappings');
    await waitFor('patch ports gone', async () => !(await ports('br-ex')).includes('plexus-int-physnet1') && !(await ports('br-int')).includes('plexus-patch-physnet1'), 20_000);
  });
});
