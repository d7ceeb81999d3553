import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Lab, Workload } from '../../../src/sandbox/lab';
import { startLabWithPlexusd } from '../../../src/sandbox/lab-plexusd';
import { NsProcess } from '../../../src/sandbox/netns';
import { freePorts, type PlexusdProcess } from '../../../src/sandbox/plexusd-process';
import { waitFor } from '../../../src/sandbox/processes';
import { Libvirtd } from '../../../src/sandbox/libvirt';
import { QemuVm } from '../../../src/sandbox/qemu-vm';

interface Ep {
  id: string;
  mac: string;
  ips: string[];
  status: string;
  host: string | null;
  kind: string;
}

/**
 * A real VM (SPEC §7 "VMs"): Debian's kernel with a busybox initramfs on lab
 * host 2, first through real libvirt (`virsh define` with `<virtualport
 * type='openvswitch'>`: libvirt plugs the tap), then as a bare qemu whose tap
 * gets libvirt's ovs-vsctl command; it takes its address over DHCP from Plexus
 * and pings a container on host 1. Then qemu live-migrates it to host 1 with
 * libvirt's interface sequence (target `iface-status=inactive`, then active,
 * source port removed) while the container keeps pinging it.
 */
describe('a qemu VM on the overlay: DHCP from Plexus, pings, live migration @slow', function () {
  this.timeout(240_000);
  let lab: Lab;
  let plexusd: PlexusdProcess;
  let c1: Workload;
  let vm: QemuVm | undefined;
  let target: QemuVm | undefined;
  let libvirtd: Libvirtd | undefined;
  let ep: Ep;

  const endpoint = async (): Promise<Ep> => (await plexusd.api<Ep>('GET', `/v1/endpoints/${ep.id}`)).body;

  before(async () => {
    ({ lab, plexusd } = await startLabWithPlexusd());
    assert.equal((await plexusd.api('POST', '/v1/networks', { name: 'DockerSN' })).status, 201);
    assert.equal((await plexusd.api('POST', '/v1/subnets', { network: 'DockerSN', cidr: '192.168.200.0/24' })).status, 201);
    c1 = await lab.addWorkload(1, { name: 'c1', kind: 'container', ifaceId: 'c1-on-h1', ip: '192.168.200.10/24', network: 'DockerSN' });
    // Like a Neutron port: the endpoint first, its id becomes libvirt's interfaceid.
    const res = await plexusd.api<Ep>('POST', '/v1/endpoints', { network: 'DockerSN', id: randomUUID(), name: 'vm1', kind: 'vm' });
    assert.equal(res.status, 201);
    ep = res.body;
    await waitFor('c1 installed', async () => (await c1.host.ovs.vsctl('get', 'Interface', c1.port, 'external_ids')).stdout.includes('plexus-installed="true"'), 20_000);
  });

  after(async () => {
    await libvirtd?.stop();
    await target?.stop();
    await vm?.stop();
    await lab?.stop();
    await plexusd?.destroy();
  });

  it('through libvirt (virsh define, openvswitch virtualport) on host 2: DHCP from Plexus, pings a container on host 1', async () => {
    const h2 = lab.host(2);
    libvirtd = await Libvirtd.start({ netns: h2.netns, ovs: h2.ovs });
    const t0 = Date.now();
    const lv = await libvirtd.startVm({ name: 'pxvm1', interfaceId: ep.id, mac: ep.mac });
    // libvirt itself wrote the keys Plexus binds by.
    const ids = (await h2.ovs.vsctl('get', 'Interface', lv.tap, 'external_ids')).stdout;
    for (const k of [`attached-mac="${ep.mac}"`, `iface-id="${ep.id}"`, `vm-id="${lv.vmId}"`, 'iface-status=active']) assert.ok(ids.includes(k), `${k} in ${ids}`);
    await waitFor('VM endpoint installed on h2', async () => {
      const e = await endpoint();
      return e.status === 'installed' && e.host === 'h2';
    }, 20_000);
    const lease = await lv.dhcp();
    process.stdout.write(`      libvirt: virsh start → guest shell ${lv.bootMs} ms, DHCP ${lease.elapsedMs} ms; virsh start → lease ${Date.now() - t0} ms\n`);
    assert.deepEqual({ ip: lease.ip, router: lease.router, mtu: lease.mtu }, { ip: ep.ips[0], router: '192.168.200.1', mtu: '1450' });
    const out = await lv.ping(c1.ip!);
    assert.equal(out.received, 3, out.output);
    assert.ok((await lab.ping(c1, lease.ip, { count: 2, timeoutMs: 4000 })).ok, 'c1 → VM');
    await lv.destroy();
    assert.doesNotMatch((await h2.ovs.vsctl('list-ports', 'br-int')).stdout, new RegExp(`^${lv.tap}$`, 'm'), 'virsh destroy removed the port');
    await libvirtd.stop();
    libvirtd = undefined;
  });

  it('as a bare qemu with libvirt\'s ovs-vsctl command on host 2: DHCP from Plexus, pings a container on host 1', async () => {
    const h2 = lab.host(2);
    const t0 = Date.now();
    vm = await QemuVm.start({ name: 'vm1', netns: h2.netns, ovs: h2.ovs, interfaceId: ep.id, mac: ep.mac });
    const ids = (await h2.ovs.vsctl('get', 'Interface', vm.tap, 'external_ids')).stdout;
    for (const k of [`attached-mac="${ep.mac}"`, `iface-id="${ep.id}"`, `vm-id="${vm.vmId}"`, 'iface-status=active']) assert.ok(ids.includes(k), `${k} in ${ids}`);
    await waitFor('VM endpoint installed on h2', async () => {
      const e = await endpoint();
      return e.status === 'installed' && e.host === 'h2';
    }, 20_000);
    const lease = await vm.dhcp();
    const bootToLease = Date.now() - t0;
    assert.deepEqual({ ip: lease.ip, subnet: lease.subnet, router: lease.router, mtu: lease.mtu }, { ip: ep.ips[0], subnet: '255.255.255.0', router: '192.168.200.1', mtu: '1450' });
    process.stdout.write(`      VM boot ${vm.bootMs} ms (qemu start → guest shell), DHCP ${lease.elapsedMs} ms; qemu start → lease ${bootToLease} ms\n`);
    const out = await vm.ping(c1.ip!);
    assert.equal(out.received, 3, out.output);
    const back = await lab.ping(c1, lease.ip, { count: 2, timeoutMs: 4000 });
    assert.ok(back.ok, `c1 → VM ${back.received}/${back.sent}`);
    assert.equal((await endpoint()).kind, 'vm');
  });

  it('live-migrates to host 1: the inactive target keeps the endpoint on host 2, then the flows move and the pings go on', async () => {
    assert.ok(vm, 'the VM of the first test');
    const h1 = lab.host(1);
    const [port] = await freePorts(1);
    target = await QemuVm.start({
      name: 'vm1-target', netns: h1.netns, ovs: h1.ovs, interfaceId: ep.id, mac: ep.mac, vmId: vm.vmId,
      incoming: { host: h1.mgmtIp, port: port! },
    });
    assert.match((await h1.ovs.vsctl('get', 'Interface', target.tap, 'external_ids')).stdout, /iface-status=inactive/);
    // An inactive interface is known but not in use: the endpoint stays where the VM runs.
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal((await endpoint()).host, 'h2');
    assert.ok((await lab.ping(c1, ep.ips[0]!, { count: 2, timeoutMs: 4000 })).ok, 'still reachable on h2');

    const pinger = NsProcess.spawn(c1.netns, 'ping', ['-n', '-i', '0.1', '-c', '120', '-W', '1', ep.ips[0]!]);
    await new Promise((r) => setTimeout(r, 1000));
    const migrateMs = await vm.migrateTo(target);
    // What libvirt does once QEMU reports completion: target active, source port gone.
    await target.setIfaceStatus('active');
    await vm.stop();
    vm = undefined;
    const tMove = Date.now();
    await waitFor('endpoint moved to h1', async () => {
      const e = await endpoint();
      return e.host === 'h1' && e.status === 'installed';
    }, 20_000);
    const moveMs = Date.now() - tMove;
    await pinger.exited;
    const stats = /(\d+) packets transmitted, (\d+) received/.exec(pinger.output.join('\n'));
    const sent = Number(stats?.[1]);
    const received = Number(stats?.[2]);
    process.stdout.write(`      migration ${migrateMs} ms (QMP migrate → completed), endpoint on h1 ${moveMs} ms after the switch-over; c1 → VM pings every 100 ms: ${received}/${sent} answered\n`);
    assert.ok(sent === 120, pinger.output.join('\n'));
    assert.ok(received >= sent - 20, `lost ${sent - received} of ${sent} pings (more than 2 s of outage)`);
    // The guest runs on h1 now: it answers, and pings out, from there.
    const fromVm = await target.ping(c1.ip!);
    assert.equal(fromVm.received, 3, fromVm.output);
    // h2 holds no flow toward a local port for the VM any more; h1 outputs to the tap locally.
    const h2flows = (await lab.host(2).ovs.dumpFlows()).filter((l) => l.includes(`dl_dst=${ep.mac}`));
    assert.ok(h2flows.every((l) => l.includes('tun_id')), `h2 sends ${ep.mac} into the tunnel: ${h2flows.join('\n')}`);
    const h1flows = (await h1.ovs.dumpFlows()).filter((l) => l.includes(`dl_dst=${ep.mac}`));
    assert.ok(h1flows.length > 0 && h1flows.every((l) => !l.includes('tun_id')), h1flows.join('\n'));
  });
});
