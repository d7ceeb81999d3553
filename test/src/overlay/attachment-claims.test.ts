/**
 * Attachments are not taken on trust (issue 18 item 2), against sandboxed Open
 * vSwitch hosts and a real plexusd: an interface on another host with an
 * iface-id already bound on a connected host gets plexus-error and changes
 * nothing; removing it leaves the real endpoint installed; the claim is
 * honoured once the holder lets go (its port removed) or disconnects.
 */
import assert from 'node:assert/strict';
import { OvsHost } from '../../../src/sandbox/ovs-host';
import { ClusterFixture } from '../../../src/sandbox/plexus-cluster';
import { PlexusdProcess } from '../../../src/sandbox/plexusd-process';
import { waitFor } from '../../../src/sandbox/processes';
import { watchFlowChanges } from '../../support/switch-fixture';
import { isInstalled, plug } from '../../support/workloads';

interface EndpointView {
  id: string;
  mac: string;
  host: string | null;
  status: string;
}

describe('attachment claims on sandboxed hosts @slow', function () {
  this.timeout(180_000);
  let plexusd: PlexusdProcess;
  const hosts: OvsHost[] = [];
  const tag = `${process.pid % 10000}`;
  let ep: EndpointView;

  before(async () => {
    plexusd = await PlexusdProcess.start({ memberId: 'm1' });
    for (let i = 1; i <= 2; i++) {
      hosts.push(await OvsHost.start({ name: `h${i}`, dummy: true, externalIds: { 'plexus-encap-ip': `127.1.2.${i}`, 'plexus-bridge-datapath-type': 'dummy' } }));
    }
    await Promise.all(hosts.map((h) => h.vsctl('set-manager', `tcp:127.0.0.1:${plexusd.ports.ovsdb}`)));
    await plexusd.waitHostsReady(2, '2 hosts ready');
    const n = await plexusd.api<{ id: string }>('POST', '/v1/networks', { name: `Claims${tag}` });
    assert.equal(n.status, 201, JSON.stringify(n.body));
    assert.equal((await plexusd.api('POST', '/v1/subnets', { network: n.body.id, cidr: '192.168.220.0/24' })).status, 201);
    const e = await plexusd.api<EndpointView>('POST', '/v1/endpoints', { network: n.body.id, name: 'real' });
    assert.equal(e.status, 201);
    ep = e.body;
  });

  after(async () => {
    await Promise.all(hosts.map((h) => h.stop()));
    await plexusd?.destroy();
  });

  const endpoint = async () => (await plexusd.api<EndpointView>('GET', `/v1/endpoints/${ep.id}`)).body;
  const errorOf = async (h: OvsHost, port: string) => /plexus-error="([^"]*)"/.exec((await h.vsctl('get', 'Interface', port, 'external_ids')).stdout)?.[1];
  const hasFlowsFor = async (h: OvsHost) => (await h.dumpFlows()).some((f) => f.includes(ep.mac));

  it('refuses an interface on another host with an iface-id bound on a connected host, changing nothing', async () => {
    await plug(hosts[0]!, `real-${tag}`, { 'iface-id': ep.id, 'attached-mac': ep.mac });
    await waitFor('real endpoint installed on h1', () => isInstalled(hosts[0]!, `real-${tag}`));
    const flowsBefore = await hosts[0]!.dumpFlows();
    const watch = await watchFlowChanges(hosts[0]!);

    await plug(hosts[1]!, `imp-${tag}`, { 'iface-id': ep.id, 'attached-mac': ep.mac });
    await waitFor('plexus-error on the impostor', async () => (await errorOf(hosts[1]!, `imp-${tag}`)) !== undefined);
    assert.match((await errorOf(hosts[1]!, `imp-${tag}`))!, new RegExp(`endpoint ${ep.id} is attached on host h1, which is connected`));
    assert.equal(await isInstalled(hosts[1]!, `imp-${tag}`), false);
    await new Promise((r) => setTimeout(r, 2500)); // at least one retry sweep of the refused claim
    let now = await endpoint();
    assert.deepEqual([now.host, now.status], ['h1', 'installed']);

    // The impostor leaves: the real endpoint is still up, with every flow it had.
    await hosts[1]!.vsctl('del-port', 'br-int', `imp-${tag}`);
    await new Promise((r) => setTimeout(r, 1000));
    now = await endpoint();
    assert.deepEqual([now.host, now.status], ['h1', 'installed']);
    assert.deepEqual(await watch.stop(), [], 'no flow changed on h1');
    assert.deepEqual(await hosts[0]!.dumpFlows(), flowsBefore);
  });

  it('gives the endpoint to the waiting claimant once the holder removes its port, and clears its plexus-error', async () => {
    await plug(hosts[1]!, `next-${tag}`, { 'iface-id': ep.id, 'attached-mac': ep.mac });
    await waitFor('refused while h1 holds it', async () => (await errorOf(hosts[1]!, `next-${tag}`)) !== undefined);
    await hosts[0]!.vsctl('del-port', 'br-int', `real-${tag}`);
    await waitFor('installed on h2', async () => {
      const e = await endpoint();
      return e.host === 'h2' && e.status === 'installed' && (await isInstalled(hosts[1]!, `next-${tag}`));
    }, 15_000);
    assert.equal(await errorOf(hosts[1]!, `next-${tag}`), undefined);
    assert.ok(await hasFlowsFor(hosts[1]!));
  });

  it('gives the endpoint to a claimant once the holder host disconnects', async () => {
    await plug(hosts[0]!, `back-${tag}`, { 'iface-id': ep.id, 'attached-mac': ep.mac });
    await waitFor('refused while h2 holds it', async () => (await errorOf(hosts[0]!, `back-${tag}`)) !== undefined);
    assert.equal((await endpoint()).host, 'h2');
    await hosts[1]!.vsctl('del-manager');
    await waitFor('installed on h1 again', async () => {
      const e = await endpoint();
      return e.host === 'h1' && e.status === 'installed' && (await isInstalled(hosts[0]!, `back-${tag}`));
    }, 15_000);
    assert.equal(await errorOf(hosts[0]!, `back-${tag}`), undefined);
  });
});

describe('attachment claims across two members mastering the two claimants @slow', function () {
  this.timeout(180_000);
  let fx: ClusterFixture;

  before(async () => {
    fx = await ClusterFixture.start({ members: 2, hosts: 2 });
  });

  after(async () => {
    await fx?.stop();
  });

  it('refuses the second host\'s claim although another member masters it, and hands over once the holder lets go', async () => {
    const [m1, m2] = [await fx.masterOf('h1'), await fx.masterOf('h2')];
    assert.ok(m1 && m2 && m1 !== m2, 'h1 and h2 have different masters');
    const api = fx.live();
    const n = await api.api<{ id: string }>('POST', '/v1/networks', { name: 'ClaimsCl' });
    assert.equal(n.status, 201);
    assert.equal((await api.api('POST', '/v1/subnets', { network: n.body.id, cidr: '192.168.221.0/24' })).status, 201);
    const ep = (await api.api<EndpointView>('POST', '/v1/endpoints', { network: n.body.id, name: 'real' })).body;
    const [h1, h2] = fx.hosts as [OvsHost, OvsHost];
    await plug(h1, 'real', { 'iface-id': ep.id, 'attached-mac': ep.mac });
    await waitFor('installed on h1', () => isInstalled(h1, 'real'));
    const watch = await watchFlowChanges(h1);
    await plug(h2, 'imp', { 'iface-id': ep.id, 'attached-mac': ep.mac });
    await waitFor('plexus-error on h2', async () => /plexus-error=/.test((await h2.vsctl('get', 'Interface', 'imp', 'external_ids')).stdout));
    await new Promise((r) => setTimeout(r, 2500));
    const now = (await api.api<EndpointView>('GET', `/v1/endpoints/${ep.id}`)).body;
    assert.deepEqual([now.host, now.status], ['h1', 'installed']);
    assert.deepEqual(await watch.stop(), [], 'no flow changed on h1');
    await h1.vsctl('del-port', 'br-int', 'real');
    await waitFor('installed on h2', async () => {
      const e = (await api.api<EndpointView>('GET', `/v1/endpoints/${ep.id}`)).body;
      return e.host === 'h2' && e.status === 'installed' && (await isInstalled(h2, 'imp'));
    }, 15_000);
  });
});
