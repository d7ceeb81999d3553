import assert from 'node:assert/strict';
import type { Lab, Workload } from '../../../src/sandbox/lab';
import { startLabWithPlexusd } from '../../../src/sandbox/lab-plexusd';
import { ip, nsRun } from '../../../src/sandbox/netns';
import type { PlexusdProcess } from '../../../src/sandbox/plexusd-process';
import { waitFor } from '../../../src/sandbox/processes';
import { isInstalled } from '../../support/workloads';

interface Ep {
  id: string;
  mac: string;
  ips: string[];
}

/**
 * SPEC §9 "real packets": hosts are network namespaces with their own OVS on the
 * userspace datapath and an underlay between them; workloads are namespaces.
 * plexusd (root namespace) reaches them over the lab's management segment.
 */
describe('overlay with real packets through VXLAN @slow', function () {
  this.timeout(180_000);
  let lab: Lab;
  let plexusd: PlexusdProcess;
  const w: Record<string, Workload> = {};
  const eps: Record<string, Ep> = {};

  before(async () => {
    ({ lab, plexusd } = await startLabWithPlexusd());
    assert.equal((await plexusd.api('POST', '/v1/networks', { name: 'DockerSN' })).status, 201);
    assert.equal((await plexusd.api('POST', '/v1/subnets', { network: 'DockerSN', cidr: '192.168.200.0/24' })).status, 201);
    assert.equal((await plexusd.api('POST', '/v1/subnets', { network: 'DockerSN', cidr: 'fd00:200::/64' })).status, 201);
    for (const [name, kind] of [['c1', 'container'], ['vm2', 'vm']] as const) {
      const res = await plexusd.api<Ep>('POST', '/v1/endpoints', { network: 'DockerSN', name, kind });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      eps[name] = res.body;
    }
    w['c1'] = await lab.addWorkload(1, { name: 'c1', kind: 'container', ifaceId: eps['c1']!.id, mac: eps['c1']!.mac, ip: `${eps['c1']!.ips[0]}/24` });
    w['vm2'] = await lab.addWorkload(2, { name: 'vm2', kind: 'vm', ifaceId: eps['vm2']!.id, mac: eps['vm2']!.mac, dhcp: true });
    // The second container is created by Plexus from the interface itself (plexus-network).
    w['c3'] = await lab.addWorkload(2, { name: 'c3', kind: 'container', ifaceId: 'c3-on-h2', ip: '192.168.200.203/24', network: 'DockerSN' });
    for (const x of Object.values(w)) await waitFor(`${x.name} installed`, () => isInstalled(x.host.ovs, x.port), 20_000);
  });

  after(async () => {
    await lab?.stop();
    await plexusd?.destroy();
  });

  it('gives the VM its address, router and VXLAN-sized MTU over DHCP from Plexus', async () => {
    const lease = await lab.dhcp(w['vm2']!);
    assert.equal(lease.ip, eps['vm2']!.ips[0]);
    assert.equal(lease.prefixLength, 24);
    assert.equal(lease.router, '192.168.200.1');
    assert.equal(lease.mtu, 1450);
    // Asked again (new xids): answered from the replies kept for the first exchange (overlay/dhcp-replies.ts).
    const again = await lab.dhcp(w['vm2']!);
    assert.deepEqual({ ...again, elapsedMs: 0 }, { ...lease, elapsedMs: 0 });
  });

  it('lets every pair ping across and within hosts', async () => {
    const all = Object.values(w);
    for (const a of all) {
      for (const b of all) {
        if (a === b) continue;
        const r = await lab.ping(a, b.ip!, { count: 2, timeoutMs: 3000 });
        assert.ok(r.ok, `${a.name} → ${b.name} (${b.ip}): ${r.received}/${r.sent}`);
      }
    }
  });

  it('reaches across hosts over IPv6, neighbours resolved by Plexus', async () => {
    for (const name of ['c1', 'vm2']) {
      const v6 = eps[name]!.ips.find((x) => x.includes(':'))!;
      await ip(w[name]!.netns, '-6', 'addr', 'add', `${v6}/64`, 'dev', 'eth0', 'nodad');
    }
    const target = eps['vm2']!.ips.find((x) => x.includes(':'))!;
    const r = await nsRun(w['c1']!.netns, 'ping', ['-6', '-c', '2', '-W', '2', target], { allowFail: true });
    assert.match(r.stdout, /2 received/, r.stdout + r.stderr);
    const { stdout } = await ip(w['c1']!.netns, '-6', 'neigh', 'show', target);
    assert.match(stdout, new RegExp(eps['vm2']!.mac), 'the neighbour entry carries the MAC Plexus answered with');
    // The solicitation was taken by the ND flow on h1 (to the controller), not flooded to h2.
    const h1 = w['c1']!.host.ovs;
    const nd = (await h1.ofctl('dump-flows', h1.mgmt(), `table=20,icmp6,icmp_type=135,nd_target=${target}`)).stdout;
    assert.match(nd, /n_packets=[1-9]/, nd);
  });

  it('carries a TCP transfer across hosts intact', async () => {
    const r = await lab.tcpTransfer(w['c1']!, w['vm2']!, 2 * 1024 * 1024);
    assert.ok(r.ok, JSON.stringify(r));
    process.stdout.write(`      TCP c1 (h1) → vm2 (h2): ${r.mbitPerS.toFixed(0)} Mbit/s\n`);
  });

  it('drops a spoofed source IP and a spoofed source MAC, and delivers the genuine one', async () => {
    const genuine = await lab.sendSpoofed(w['c1']!, {}, w['vm2']!.ip!);
    assert.ok(genuine.arrived, 'the probe itself works');
    const forgedIp = await lab.sendSpoofed(w['c1']!, { srcIp: '192.168.200.99' }, w['vm2']!.ip!);
    assert.equal(forgedIp.arrived, false);
    const forgedMac = await lab.sendSpoofed(w['c1']!, { srcMac: '02:de:ad:be:ef:01' }, w['vm2']!.ip!);
    assert.equal(forgedMac.arrived, false);
  });
});
