/**
 * Stale attachment claims (issue 18, item 2's "nothing is left down while its
 * port exists"): a host that holds an endpoint goes away together with the
 * member that mastered it (kill -9), so no one records its disconnect. The
 * surviving member, once master of that host, must notice that no live member
 * holds its OVSDB session and record it disconnected; the other host's waiting
 * interface with the same iface-id then gets the endpoint.
 */
import assert from 'node:assert/strict';
import type { OvsHost } from '../../../src/sandbox/ovs-host';
import { ClusterFixture } from '../../../src/sandbox/plexus-cluster';
import { waitFor } from '../../../src/sandbox/processes';
import { isInstalled, plug } from '../../support/workloads';

interface EndpointView {
  id: string;
  mac: string;
  host: string | null;
  status: string;
}

describe('stale attachment claims of a host gone with its master @slow', function () {
  this.timeout(180_000);
  let fx: ClusterFixture;

  before(async () => {
    fx = await ClusterFixture.start({ members: 2, hosts: 2, ttlSeconds: 2 });
  });
  after(async () => {
    await fx?.stop();
  });

  it('releases the claim of a host whose OVSDB no live member holds; the waiting claimant gets the endpoint', async () => {
    const [h1, h2] = fx.hosts as [OvsHost, OvsHost];
    const m1 = await fx.masterOf('h1');
    assert.ok(m1, 'h1 has a master');
    const api = fx.live(m1);
    const n = await api.api<{ id: string }>('POST', '/v1/networks', { name: 'StaleClaims' });
    assert.equal(n.status, 201);
    assert.equal((await api.api('POST', '/v1/subnets', { network: n.body.id, cidr: '192.168.222.0/24' })).status, 201);
    const ep = (await api.api<EndpointView>('POST', '/v1/endpoints', { network: n.body.id, name: 'moving' })).body;
    await plug(h1, 'held', { 'iface-id': ep.id, 'attached-mac': ep.mac });
    await waitFor('installed on h1', () => isInstalled(h1, 'held'));
    await plug(h2, 'waiting', { 'iface-id': ep.id, 'attached-mac': ep.mac });
    await waitFor('plexus-error on h2 (the claim is refused while h1 holds it)', async () => /plexus-error=/.test((await h2.vsctl('get', 'Interface', 'waiting', 'external_ids')).stdout));

    // h1 and its master die at once (kill -9 both): the other member sees h1's OVSDB
    // session close while it is not yet h1's master, and nobody writes h1's disconnect.
    const ovsPids = [h1.pid('ovsdb-server'), h1.pid('ovs-vswitchd')];
    const killed = m1.kill();
    for (const pid of ovsPids) process.kill(pid, 'SIGKILL');
    await killed;
    await waitFor('the endpoint on h2, installed', async () => {
      const e = (await api.api<EndpointView>('GET', `/v1/endpoints/${ep.id}`)).body;
      return e.host === 'h2' && e.status === 'installed' && (await isInstalled(h2, 'waiting'));
    }, 30_000);
    const h1Record = (await api.api<{ items: { id: string; ovsdbConnected: boolean; status: string }[] }>('GET', '/v1/hosts')).body.items.find((h) => h.id === 'h1')!;
    assert.deepEqual([h1Record.ovsdbConnected, h1Record.status], [false, 'disconnected']);
    await waitFor('plexus-error cleared on h2', async () => !/plexus-error=/.test((await h2.vsctl('get', 'Interface', 'waiting', 'external_ids')).stdout), 15_000);
  });
});
