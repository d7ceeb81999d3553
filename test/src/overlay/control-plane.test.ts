import assert from 'node:assert/strict';
import { OvsHost } from '../../../src/sandbox/ovs-host';
import { PlexusdProcess } from '../../../src/sandbox/plexusd-process';
import { waitFor } from '../../../src/sandbox/processes';
import { TUNNEL_PORT } from '../../../src/southbound/host-plan';
import { traceActions, watchFlowChanges } from '../../support/switch-fixture';
import { isInstalled, plug } from '../../support/workloads';

interface Created {
  id: string;
  mac: string;
  ips: string[];
}

/** The hosts (tun_dst) a packet is sent to over plexus-vxlan, in order, as ofproto/trace shows the flows' actions. */
async function tunnelDestinations(host: OvsHost, flow: string): Promise<string[]> {
  const port = Number((await host.vsctl('get', 'Interface', TUNNEL_PORT, 'ofport')).stdout.trim());
  const { stdout } = await host.appctl('ovs-vswitchd', 'ofproto/trace', 'br-int', flow);
  return [...stdout.matchAll(/set_field:([0-9.]+)->tun_dst\s+output:(\d+)/g)].filter((m) => Number(m[2]) === port).map((m) => m[1]!);
}

describe('overlay control plane on sandboxed hosts @slow', function () {
  this.timeout(180_000);
  let plexusd: PlexusdProcess;
  const hosts: OvsHost[] = [];
  let network: { id: string; vni: number };
  const eps = new Map<string, Created & { host: OvsHost; port: string; ofport: number }>();

  before(async () => {
    plexusd = await PlexusdProcess.start({ memberId: 'm1' });
    for (let i = 1; i <= 3; i++) {
      hosts.push(await OvsHost.start({ name: `h${i}`, dummy: true, externalIds: { 'plexus-encap-ip': `127.1.0.${i}`, 'plexus-bridge-datapath-type': 'dummy' } }));
    }
    await Promise.all(hosts.map((h) => h.vsctl('set-manager', `tcp:127.0.0.1:${plexusd.ports.ovsdb}`)));
    await plexusd.waitHostsReady(3, '3 hosts ready');
    const net = await plexusd.api<{ id: string; vni: number }>('POST', '/v1/networks', { name: 'DockerSN' });
    assert.equal(net.status, 201, JSON.stringify(net.body));
    network = net.body;
    const sub = await plexusd.api('POST', '/v1/subnets', { network: network.id, cidr: '192.168.200.0/24' });
    assert.equal(sub.status, 201, JSON.stringify(sub.body));
  });

  after(async () => {
    await Promise.all(hosts.map((h) => h.stop()));
    await plexusd?.destroy();
  });

  async function attach(name: string, host: OvsHost, kind: 'vm' | 'container'): Promise<void> {
    const res = await plexusd.api<Created>('POST', '/v1/endpoints', { network: 'DockerSN', name, kind });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const port = `p-${name}`;
    const ids: Record<string, string> = { 'iface-id': res.body.id, 'attached-mac': res.body.mac };
    if (kind === 'vm') ids['vm-uuid'] = `uuid-${name}`;
    else ids['container_id'] = name;
    const ofport = await plug(host, port, ids);
    eps.set(name, { ...res.body, host, port, ofport });
  }

  it('binds a container on h1 and a VM on h2 and installs them', async () => {
    await attach('c1', hosts[0]!, 'container');
    await attach('v2', hosts[1]!, 'vm');
    await attach('c3', hosts[1]!, 'container');
    for (const e of eps.values()) await waitFor(`${e.port} installed`, () => isInstalled(e.host, e.port));
    const show = await plexusd.api<{ status: string; host: string; ofport: number; ips: string[] }>('GET', `/v1/endpoints/${eps.get('v2')!.id}`);
    assert.equal(show.body.status, 'installed');
    assert.equal(show.body.host, 'h2');
    assert.equal(show.body.ofport, eps.get('v2')!.ofport);
    assert.match(show.body.ips[0]!, /^192\.168\.200\.\d+$/);
  });

  it('sends unicast to a remote endpoint into that host tunnel with the VNI, delivered only to its port there', async () => {
    const c1 = eps.get('c1')!;
    const v2 = eps.get('v2')!;
    const pkt = (inPort: number | string): string =>
      `in_port=${inPort},dl_src=${c1.mac},dl_dst=${v2.mac},ip,nw_src=${c1.ips[0]},nw_dst=${v2.ips[0]}`;
    assert.deepEqual(await tunnelDestinations(hosts[0]!, pkt(c1.ofport)), ['127.1.0.2']);
    assert.equal(await traceActions(hosts[0]!, pkt(c1.ofport)), TUNNEL_PORT);
    const { stdout } = await hosts[0]!.appctl('ovs-vswitchd', 'ofproto/trace', 'br-int', pkt(c1.ofport));
    assert.match(stdout, new RegExp(`set_field:0x${network.vni.toString(16)}->tun_id\\b`));
    const tunnelOnH2 = Number((await hosts[1]!.vsctl('get', 'Interface', TUNNEL_PORT, 'ofport')).stdout.trim());
    assert.equal(await traceActions(hosts[1]!, `${pkt(tunnelOnH2)},tun_id=${network.vni},tun_src=127.1.0.1,tun_dst=127.1.0.2`), v2.port);
    // Only a host present in the network is classified into it: the same frame claiming to come from h3 is dropped.
    assert.equal(await traceActions(hosts[1]!, `${pkt(tunnelOnH2)},tun_id=${network.vni},tun_src=127.1.0.3,tun_dst=127.1.0.2`), 'drop');
  });

  it('answers ARP for a known address locally and never floods it over tunnels', async () => {
    const c1 = eps.get('c1')!;
    const v2 = eps.get('v2')!;
    const out = await traceActions(
      hosts[0]!,
      `in_port=${c1.ofport},dl_src=${c1.mac},dl_dst=ff:ff:ff:ff:ff:ff,arp,arp_op=1,arp_sha=${c1.mac},arp_spa=${c1.ips[0]},arp_tpa=${v2.ips[0]}`,
    );
    assert.equal(out, `set(eth(src=${v2.mac},dst=${c1.mac})),set(arp(sip=${v2.ips[0]},tip=${c1.ips[0]},op=2,sha=${v2.mac},tha=${c1.mac})),${c1.port}`);
  });

  it('drops a spoofed source MAC and a spoofed source IP', async () => {
    const c1 = eps.get('c1')!;
    const v2 = eps.get('v2')!;
    assert.equal(await traceActions(hosts[0]!, `in_port=${c1.ofport},dl_src=02:66:66:66:66:66,dl_dst=${v2.mac},ip,nw_src=${c1.ips[0]},nw_dst=${v2.ips[0]}`), 'drop');
    assert.equal(await traceActions(hosts[0]!, `in_port=${c1.ofport},dl_src=${c1.mac},dl_dst=${v2.mac},ip,nw_src=192.168.200.250,nw_dst=${v2.ips[0]}`), 'drop');
  });

  it('floods broadcast only to hosts with ports in the network', async () => {
    const c1 = eps.get('c1')!;
    const to = await tunnelDestinations(hosts[0]!, `in_port=${c1.ofport},dl_src=${c1.mac},dl_dst=ff:ff:ff:ff:ff:ff,ip,nw_src=${c1.ips[0]},nw_dst=192.168.200.255`);
    assert.deepEqual(to, ['127.1.0.2'], 'h3 has no port in the network');
  });

  it('creates the endpoint from plexus-network on the interface', async () => {
    const port = 'p-auto';
    const ofport = await plug(hosts[2]!, port, { 'iface-id': 'auto-1', 'attached-mac': '02:aa:00:00:00:01', container_id: 'auto', 'plexus-network': 'DockerSN', 'plexus-ip': '192.168.200.77' });
    await waitFor('auto endpoint installed', () => isInstalled(hosts[2]!, port));
    const show = await plexusd.api<{ network: string; mac: string; ips: string[]; kind: string; host: string }>('GET', '/v1/endpoints/auto-1');
    assert.equal(show.status, 200);
    assert.deepEqual([show.body.network, show.body.mac, show.body.ips, show.body.kind, show.body.host], [network.id, '02:aa:00:00:00:01', ['192.168.200.77'], 'container', 'h3']);
    eps.set('auto', { id: 'auto-1', mac: '02:aa:00:00:00:01', ips: ['192.168.200.77'], host: hosts[2]!, port, ofport });
  });

  it('moves the flows when the same iface-id appears on another host (migration)', async () => {
    const c3 = eps.get('c3')!;
    await c3.host.vsctl('del-port', 'br-int', c3.port);
    const ofport = await plug(hosts[0]!, 'p-c3b', { 'iface-id': c3.id, 'attached-mac': c3.mac, container_id: 'c3' });
    await waitFor('c3 installed on h1', () => isInstalled(hosts[0]!, 'p-c3b'));
    const v2 = eps.get('v2')!;
    assert.deepEqual(
      await tunnelDestinations(hosts[1]!, `in_port=${v2.ofport},dl_src=${v2.mac},dl_dst=${c3.mac},ip,nw_src=${v2.ips[0]},nw_dst=${c3.ips[0]}`),
      ['127.1.0.1'],
    );
    eps.set('c3', { ...c3, host: hosts[0]!, port: 'p-c3b', ofport });
  });

  it('marks an endpoint down and removes its flows when its interface goes away', async () => {
    const auto = eps.get('auto')!;
    await auto.host.vsctl('del-port', 'br-int', auto.port);
    await waitFor('auto endpoint down', async () => (await plexusd.api<{ status: string }>('GET', '/v1/endpoints/auto-1')).body.status === 'down');
    for (const h of hosts) await waitFor(`no flow for ${auto.mac}`, async () => !(await h.dumpFlows()).some((f) => f.includes(auto.mac)));
    eps.delete('auto');
  });

  it('removes a deleted endpoint from every host', async () => {
    const v2 = eps.get('v2')!;
    assert.ok((await hosts[0]!.dumpFlows()).some((f) => f.includes(v2.mac)), 'h1 knows v2 before');
    const del = await plexusd.api('DELETE', `/v1/endpoints/${v2.id}`);
    assert.equal(del.status, 204);
    for (const h of hosts) await waitFor(`no flow for ${v2.mac}`, async () => !(await h.dumpFlows()).some((f) => f.includes(v2.mac)));
    eps.delete('v2');
  });

  it('changes no flow on any host when plexusd restarts with 3 hosts and 30 endpoints', async () => {
    for (let i = 0; eps.size < 30; i++) await attach(`bulk${i}`, hosts[i % 3]!, i % 2 ? 'vm' : 'container');
    for (const e of eps.values()) await waitFor(`${e.port} installed`, () => isInstalled(e.host, e.port), 30_000);
    assert.equal(eps.size, 30);
    const before = await Promise.all(hosts.map((h) => h.dumpFlows()));
    const watches = await Promise.all(hosts.map((h) => watchFlowChanges(h)));
    await plexusd.stop();
    await plexusd.launch();
    await waitFor('3 hosts ready again', async () => {
      const r = await plexusd.api<{ items: { status: string; ofConnected: boolean }[] }>('GET', '/v1/hosts');
      return r.body.items.filter((h) => h.status === 'ready' && h.ofConnected).length === 3;
    }, 30_000);
    // Every switch read back and compared (the log says so once per host and connection).
    await waitFor('3 switches reconciled', () => (plexusd.logs.match(/flows reconciled/g) ?? []).length >= 3, 30_000);
    const changes = await Promise.all(watches.map((w) => w.stop()));
    assert.deepEqual(changes, [[], [], []]);
    assert.deepEqual(await Promise.all(hosts.map((h) => h.dumpFlows())), before);
  });
});
