/**
 * Upgrading a host that still has the per-peer VXLAN ports of an earlier
 * version (one per other host, marked plexus-peer): plexusd adds plexus-vxlan
 * beside them, moves the flows to it, and only then removes the old ports.
 */
import assert from 'node:assert/strict';
import { OvsHost } from '../../../src/sandbox/ovs-host';
import { PlexusdProcess } from '../../../src/sandbox/plexusd-process';
import { waitFor } from '../../../src/sandbox/processes';
import { PEER_KEY, TUNNEL_PORT } from '../../../src/southbound/host-plan';
import { isInstalled, plug } from '../../support/workloads';

const LEGACY = 'vxlegacyh2';
const LEGACY_OFPORT = 20;

describe('tunnel migration from per-peer ports @slow', function () {
  this.timeout(120_000);
  let plexusd: PlexusdProcess;
  const hosts: OvsHost[] = [];

  after(async () => {
    await Promise.all(hosts.map((h) => h.stop()));
    await plexusd?.destroy();
  });

  it('replaces the per-peer port by plexus-vxlan, and no flow is left pointing at the old one', async () => {
    plexusd = await PlexusdProcess.start({ memberId: 'm1' });
    for (let i = 1; i <= 2; i++) {
      hosts.push(await OvsHost.start({ name: `mg${i}`, systemId: `mg${i}`, dummy: true, externalIds: { 'plexus-encap-ip': `127.1.0.${i}`, 'plexus-bridge-datapath-type': 'dummy' } }));
    }
    const [h1, h2] = hosts as [OvsHost, OvsHost];
    // What an earlier plexusd left on h1: br-int with a port toward h2.
    await h1.vsctl('add-br', 'br-int', '--', 'set', 'Bridge', 'br-int', 'datapath_type=dummy', 'fail_mode=secure', 'protocols=OpenFlow13');
    await h1.vsctl(
      'add-port', 'br-int', LEGACY, '--', 'set', 'Interface', LEGACY, 'type=vxlan', `ofport_request=${LEGACY_OFPORT}`,
      'options:remote_ip=127.1.0.2', 'options:key=flow', 'options:local_ip=127.1.0.1', `external_ids:${PEER_KEY}=mg2`, '--', 'set', 'Port', LEGACY, `external_ids:${PEER_KEY}=mg2`,
    );
    await Promise.all(hosts.map((h) => h.vsctl('set-manager', `tcp:127.0.0.1:${plexusd.ports.ovsdb}`)));
    const net = await plexusd.api<{ id: string }>('POST', '/v1/networks', { name: 'mig' });
    assert.equal(net.status, 201);
    assert.equal((await plexusd.api('POST', '/v1/subnets', { network: net.body.id, cidr: '192.168.210.0/24' })).status, 201);
    const eps: { host: OvsHost; port: string; mac: string }[] = [];
    for (const [host, name] of [[h1, 'm1'], [h2, 'm2']] as const) {
      const ep = await plexusd.api<{ id: string; mac: string }>('POST', '/v1/endpoints', { network: net.body.id, name, kind: 'container' });
      assert.equal(ep.status, 201);
      await plug(host, `p-${name}`, { 'iface-id': ep.body.id, 'attached-mac': ep.body.mac, container_id: name });
      eps.push({ host, port: `p-${name}`, mac: ep.body.mac });
    }
    for (const e of eps) await waitFor(`${e.port} installed`, () => isInstalled(e.host, e.port), 30_000);
    await waitFor('the per-peer port removed from h1', async () => !(await h1.vsctl('list-ports', 'br-int')).stdout.split('\n').includes(LEGACY), 30_000);
    const tunnelOfport = Number((await h1.vsctl('get', 'Interface', TUNNEL_PORT, 'ofport')).stdout.trim());
    assert.ok(tunnelOfport > 0);
    const flows = await h1.dumpFlows();
    assert.ok(!flows.some((f) => new RegExp(`output:${LEGACY_OFPORT}\\b`).test(f)), flows.join('\n'));
    const toM2 = flows.filter((f) => f.includes(`dl_dst=${eps[1]!.mac}`));
    assert.equal(toM2.length, 1, flows.join('\n'));
    assert.match(toM2[0]!, new RegExp(`set_field:127\\.1\\.0\\.2->tun_dst,output:${tunnelOfport}\\b`));
  });
});
