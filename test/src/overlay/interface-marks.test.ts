/**
 * The interface write-back (SPEC §2) against sandboxed Open vSwitch hosts and a
 * real plexusd: ovs-docker ports get a derived endpoint id (plexus-endpoint) and
 * an allocated MAC (plexus-mac); interfaces Plexus cannot bind get plexus-error,
 * removed once bound; deleting an endpoint removes plexus-installed; a restart
 * rewrites nothing.
 */
import assert from 'node:assert/strict';
import { OvsHost } from '../../../src/sandbox/ovs-host';
import { PlexusdProcess } from '../../../src/sandbox/plexusd-process';
import { waitFor } from '../../../src/sandbox/processes';
import { derivedEndpointId } from '../../../src/southbound/attachments';
import { isInstalled, plug } from '../../support/workloads';

interface EndpointView {
  id: string;
  mac: string;
  ips: string[];
  host: string | null;
  status: string;
  kind: string;
  network: string;
}

describe('interface write-back on sandboxed hosts @slow', function () {
  this.timeout(180_000);
  let plexusd: PlexusdProcess;
  const hosts: OvsHost[] = [];
  const tag = `${process.pid % 10000}`;
  const net = `WbNet${tag}`;

  before(async () => {
    plexusd = await PlexusdProcess.start({ memberId: 'm1' });
    for (let i = 1; i <= 2; i++) {
      hosts.push(await OvsHost.start({ name: `h${i}`, dummy: true, externalIds: { 'plexus-encap-ip': `127.1.1.${i}`, 'plexus-bridge-datapath-type': 'dummy' } }));
    }
    await Promise.all(hosts.map((h) => h.vsctl('set-manager', `tcp:127.0.0.1:${plexusd.ports.ovsdb}`)));
    await plexusd.waitHostsReady(2, '2 hosts ready');
    const n = await plexusd.api<{ id: string }>('POST', '/v1/networks', { name: net });
    assert.equal(n.status, 201, JSON.stringify(n.body));
    const s = await plexusd.api('POST', '/v1/subnets', { network: n.body.id, cidr: '192.168.210.0/24' });
    assert.equal(s.status, 201, JSON.stringify(s.body));
  });

  after(async () => {
    await Promise.all(hosts.map((h) => h.stop()));
    await plexusd?.destroy();
  });

  async function ids(h: OvsHost, port: string): Promise<Record<string, string>> {
    const out = (await h.vsctl('get', 'Interface', port, 'external_ids')).stdout.trim();
    // ovs-vsctl prints the map as {key=value, "k"="v"}: parse both quoted and bare forms.
    const map: Record<string, string> = {};
    for (const m of out.replace(/^\{|\}$/g, '').matchAll(/("(?:[^"\\]|\\.)*"|[^=,\s]+)=("(?:[^"\\]|\\.)*"|[^,]*)/g)) {
      const unq = (x: string) => (x.startsWith('"') ? (JSON.parse(x) as string) : x.trim());
      map[unq(m[1]!)] = unq(m[2]!);
    }
    return map;
  }

  async function endpoint(id: string): Promise<{ status: number; body: EndpointView }> {
    return plexusd.api<EndpointView>('GET', `/v1/endpoints/${id}`);
  }

  async function errorOf(h: OvsHost, port: string): Promise<string | undefined> {
    return (await ids(h, port))['plexus-error'];
  }

  it('binds an ovs-docker port: derived id written as plexus-endpoint, MAC allocated and written as plexus-mac', async () => {
    await plug(hosts[0]!, `dk1-${tag}`, { container_id: 'c0ffee', container_iface: 'eth1', 'plexus-network': net });
    const id = derivedEndpointId('h1', 'c0ffee', 'eth1');
    await waitFor('ovs-docker port installed', () => isInstalled(hosts[0]!, `dk1-${tag}`));
    await waitFor('plexus-endpoint and plexus-mac written', async () => (await ids(hosts[0]!, `dk1-${tag}`))['plexus-mac'] !== undefined);
    const marks = await ids(hosts[0]!, `dk1-${tag}`);
    const ep = await endpoint(id);
    assert.equal(ep.status, 200, JSON.stringify(ep.body));
    assert.equal(marks['plexus-endpoint'], id);
    assert.equal(marks['plexus-mac'], ep.body.mac);
    assert.equal(marks['plexus-error'], undefined);
    assert.deepEqual([ep.body.host, ep.body.kind, ep.body.status], ['h1', 'container', 'installed']);
    assert.match(ep.body.ips[0]!, /^192\.168\.210\.\d+$/);
    assert.ok((await hosts[0]!.dumpFlows()).some((f) => f.includes(ep.body.mac)), 'flows for the allocated MAC');

    // The same container interface name on another host is another endpoint.
    await plug(hosts[1]!, `dk2-${tag}`, { container_id: 'c0ffee', container_iface: 'eth1', 'plexus-network': net, 'attached-mac': '02:ab:00:00:00:02' });
    await waitFor('second ovs-docker port installed', () => isInstalled(hosts[1]!, `dk2-${tag}`));
    const other = (await ids(hosts[1]!, `dk2-${tag}`))['plexus-endpoint'];
    assert.equal(other, derivedEndpointId('h2', 'c0ffee', 'eth1'));
    assert.notEqual(other, id);
    const ep2 = await endpoint(other!);
    assert.deepEqual([ep2.body.host, ep2.body.mac], ['h2', '02:ab:00:00:00:02']);
    assert.equal((await ids(hosts[1]!, `dk2-${tag}`))['plexus-mac'], undefined, 'no plexus-mac when attached-mac was given');
  });

  it('writes plexus-error for an unknown network, and removes it once the interface is bound', async () => {
    const port = `unk-${tag}`;
    await plug(hosts[0]!, port, { container_id: 'beef', container_iface: 'eth0', 'plexus-network': `Nope${tag}` });
    await waitFor('plexus-error for the unknown network', async () => (await errorOf(hosts[0]!, port)) !== undefined);
    assert.match((await errorOf(hosts[0]!, port))!, new RegExp(`network "Nope${tag}" does not exist`));
    assert.equal(await isInstalled(hosts[0]!, port), false);
    const n = await plexusd.api<{ id: string }>('POST', '/v1/networks', { name: `Nope${tag}` });
    assert.equal(n.status, 201);
    await waitFor('bound once the network exists', () => isInstalled(hosts[0]!, port));
    assert.equal(await errorOf(hosts[0]!, port), undefined);
  });

  it('writes plexus-error for a taken address, a bad plexus-ip, a bad attached-mac and an interface with nothing to bind', async () => {
    const first = await endpoint(derivedEndpointId('h1', 'c0ffee', 'eth1'));
    const cases: [string, Record<string, string>, RegExp][] = [
      [`tak-${tag}`, { container_id: 'c2', container_iface: 'eth0', 'plexus-network': net, 'plexus-ip': first.body.ips[0]! }, new RegExp(`address ${first.body.ips[0]!.replace(/\./g, '\\.')} is already used`)],
      [`bip-${tag}`, { container_id: 'c3', container_iface: 'eth0', 'plexus-network': net, 'plexus-ip': '10.9.9.300' }, /10\.9\.9\.300/],
      [`bmc-${tag}`, { 'iface-id': `bm-${tag}`, 'attached-mac': 'zz:zz' }, /attached-mac "zz:zz" is not a MAC address/],
      [`nth-${tag}`, {}, /no external_ids:iface-id/],
    ];
    for (const [port, extIds] of cases) await plug(hosts[1]!, port, extIds);
    for (const [port, , reason] of cases) {
      await waitFor(`plexus-error on ${port}`, async () => (await errorOf(hosts[1]!, port)) !== undefined);
      assert.match((await errorOf(hosts[1]!, port))!, reason, port);
      assert.equal(await isInstalled(hosts[1]!, port), false);
    }
    // Fixed on the interface: bound, and the error is gone.
    await hosts[1]!.vsctl('set', 'Interface', `tak-${tag}`, 'external_ids:plexus-ip=192.168.210.222');
    await waitFor('bound with a free address', () => isInstalled(hosts[1]!, `tak-${tag}`));
    assert.equal(await errorOf(hosts[1]!, `tak-${tag}`), undefined);
    await hosts[1]!.vsctl('set', 'Interface', `bmc-${tag}`, 'external_ids:attached-mac=02:ab:00:00:00:77');
    const bm = await plexusd.api('POST', '/v1/endpoints', { network: net, id: `bm-${tag}`, mac: '02:ab:00:00:00:77' });
    assert.equal(bm.status, 201, JSON.stringify(bm.body));
    await waitFor('bound with a good MAC', () => isInstalled(hosts[1]!, `bmc-${tag}`));
    assert.equal(await errorOf(hosts[1]!, `bmc-${tag}`), undefined);
  });

  it('removes plexus-installed and plexus-installed-ts from the interface when its endpoint is deleted', async () => {
    const ep = await plexusd.api<EndpointView>('POST', '/v1/endpoints', { network: net, name: 'gone' });
    assert.equal(ep.status, 201);
    const port = `del-${tag}`;
    await plug(hosts[0]!, port, { 'iface-id': ep.body.id, 'attached-mac': ep.body.mac });
    await waitFor('installed', () => isInstalled(hosts[0]!, port));
    assert.ok((await ids(hosts[0]!, port))['plexus-installed-ts']);
    assert.equal((await plexusd.api('DELETE', `/v1/endpoints/${ep.body.id}`)).status, 204);
    await waitFor('plexus-installed removed', async () => !(await isInstalled(hosts[0]!, port)));
    const marks = await ids(hosts[0]!, port);
    assert.equal(marks['plexus-installed-ts'], undefined);
    assert.equal(marks['iface-id'], ep.body.id, 'the workload keys stay');
  });

  it('writes nothing to any interface when plexusd restarts', async () => {
    const ports = async (h: OvsHost) => (await h.vsctl('list-ports', 'br-int')).stdout.split('\n').filter((p) => p && !p.startsWith('vx'));
    const snapshot = async () => Promise.all(hosts.map(async (h) => Promise.all((await ports(h)).map(async (p) => [p, await ids(h, p)] as const))));
    const before = await snapshot();
    await plexusd.stop();
    await plexusd.launch();
    await waitFor('2 hosts ready again', async () => {
      const r = await plexusd.api<{ items: { status: string; ofConnected: boolean }[] }>('GET', '/v1/hosts');
      return r.body.items.filter((h) => h.status === 'ready' && h.ofConnected).length === 2;
    }, 30_000);
    await waitFor('2 switches reconciled', () => (plexusd.logs.match(/flows reconciled/g) ?? []).length >= 2, 30_000);
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(await snapshot(), before);
  });
});
