/**
 * A real plexusd binds an interface with the port number its switch announced
 * (OFPT_PORT_STATUS) while OVSDB has none: the host is a real ovsdb-server
 * with no ovs-vswitchd to write `Interface.ofport`, and a simulated switch
 * (checked against OVS in test/bench/sim-switch.test.ts) announces the ports.
 */
import assert from 'node:assert/strict';
import { HostDriver } from '../../../bench/host-driver';
import { Teardown } from '../../../bench/sandbox';
import { startSimHosts, type SimHost } from '../../../bench/sim/sim-host';
import { PlexusdProcess } from '../../../src/sandbox/plexusd-process';
import { sleep, waitFor } from '../../../src/sandbox/processes';
import { udp4 } from '../../support/fabric-fixtures';

interface Ep {
  id: string;
  mac: string;
  ips: string[];
  status: string;
  ofport: number | null;
}

describe('an attach numbered by the switch before OVSDB @slow', function () {
  this.timeout(120_000);
  const teardown = new Teardown();
  let plexusd: PlexusdProcess;
  let host: SimHost;
  let driver: HostDriver;

  before(async () => {
    plexusd = await PlexusdProcess.start({ memberId: 'm1' });
    [host] = await startSimHosts({ count: 1, plexusd, idPrefix: 'ann', dpidBase: 0xa100n, encapIp: () => '127.1.9.1', teardown });
    driver = teardown.add(await HostDriver.connect(host!, ['plexus-installed']));
  });
  after(async () => {
    await teardown.run();
    await plexusd?.destroy();
  });

  const endpoint = async (id: string): Promise<Ep> => (await plexusd.api<Ep>('GET', `/v1/endpoints/${id}`)).body;

  it('binds and installs it on the announced port, and forwards between two such ports', async () => {
    const net = (await plexusd.api<{ id: string }>('POST', '/v1/networks', { name: 'AnnNet' })).body;
    assert.equal((await plexusd.api('POST', '/v1/subnets', { network: net.id, cidr: '10.79.0.0/24' })).status, 201);
    const eps: Ep[] = [];
    for (const name of ['a1', 'a2']) eps.push((await plexusd.api<Ep>('POST', '/v1/endpoints', { network: net.id, name })).body);
    const [a1, a2] = eps as [Ep, Ep];
    await driver.plug('tap-a1', { 'iface-id': a1.id, 'attached-mac': a1.mac }).done;
    await driver.plug('tap-a2', { 'iface-id': a2.id, 'attached-mac': a2.mac }).done;
    await sleep(1000);
    assert.deepEqual([(await endpoint(a1.id)).status, (await endpoint(a1.id)).ofport], ['pending', null], 'no number from anyone yet: not bound');

    host.sim.addPort({ portNo: 7, name: 'tap-a1' });
    host.sim.addPort({ portNo: 8, name: 'tap-a2' });
    await Promise.race([
      Promise.all([driver.whenMarked('tap-a1', 'plexus-installed'), driver.whenMarked('tap-a2', 'plexus-installed')]),
      sleep(20_000).then(() => assert.fail(`not marked installed within 20 s: ${plexusd.logs.slice(-2000)}`)),
    ]);
    // The OVSDB mark and the endpoint's status in etcd are two writes: the API may lag the mark.
    const bound = await waitFor('both endpoints installed in the API', async () => {
      const eps = await Promise.all([endpoint(a1.id), endpoint(a2.id)]);
      return eps.every((e) => e.status === 'installed') ? eps : undefined;
    });
    assert.deepEqual(bound.map((e) => [e.status, e.ofport]), [['installed', 7], ['installed', 8]]);
    const r = host.sim.trace(udp4({ host: 'ann0', port: 7, mac: a1.mac, ip: a1.ips[0]! }, { mac: a2.mac, ip: a2.ips[0]! }));
    assert.deepEqual(r.outputs.map((o) => (o.kind === 'port' ? o.port : o.kind)), [8], r.reason);
  });
});
