import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab, type Workload } from '../../../src/sandbox/lab';
import { listLinks, listNetns, NetnsError, NsProcess } from '../../../src/sandbox/netns';
import { isAlive } from '../../../src/sandbox/processes';
import { pidsMentioning } from '../../support/pids';

async function ofport(lab: Lab, hostId: string, port: string): Promise<number> {
  return Number((await lab.host(hostId).ovs.vsctl('get', 'Interface', port, 'ofport')).stdout.trim());
}

/**
 * The real-packet lab on its own, without plexusd (SPEC §9 "Real packets"): two
 * hosts, br-int and a VXLAN port built by hand, a handful of static flows, and
 * real ping and TCP between container namespaces across the overlay.
 */
describe('real-packet lab: namespaces, userspace OVS, VXLAN @slow', function () {
  this.timeout(120_000);
  let lab: Lab;
  let a: Workload;
  let b: Workload;
  const netnsBefore = new Set<string>();
  const rootLinksBefore = new Set<string>();
  let labPids: number[] = [];
  /** OpenFlow port numbers of the workload and tunnel ports on each host. */
  const ports = new Map<string, { local: number; tunnel: number }>();

  before(async () => {
    for (const n of listNetns()) netnsBefore.add(n);
    for (const l of listLinks()) rootLinksBefore.add(l);
    const t0 = Date.now();
    lab = await Lab.start({ hosts: 2 });
    const tLab = Date.now() - t0;
    const [h1, h2] = lab.hosts;
    assert.ok(h1 && h2);
    await Promise.all([lab.createIntegrationBridge(h1), lab.createIntegrationBridge(h2)]);
    a = await lab.addWorkload(h1, { name: 'ctr-a', kind: 'container', ifaceId: 'ep-a', ip: '10.250.0.1/24' });
    b = await lab.addWorkload(h2, { name: 'ctr-b', kind: 'container', ifaceId: 'ep-b', ip: '10.250.0.2/24' });
    for (const [h, peer] of [[h1, h2], [h2, h1]] as const) {
      const tun = `vx-${peer.id}`;
      await h.ovs.vsctl('add-port', 'br-int', tun, '--', 'set', 'Interface', tun, 'type=vxlan',
        'options:key=flow', `options:remote_ip=${peer.underlayIp}`, `options:local_ip=${h.underlayIp}`);
      const local = h === h1 ? a.ofport : b.ofport;
      const tunnel = await ofport(lab, h.id, tun);
      ports.set(h.id, { local, tunnel });
      // ARP and IP alike: everything from the workload goes into VNI 100 toward
      // the only peer, everything from VNI 100 goes to the workload.
      for (const flow of [
        `table=0,priority=20,arp,in_port=${local},actions=set_field:100->tun_id,output:${tunnel}`,
        `table=0,priority=20,arp,in_port=${tunnel},tun_id=100,actions=output:${local}`,
        `table=0,priority=10,in_port=${local},actions=set_field:100->tun_id,output:${tunnel}`,
        `table=0,priority=10,in_port=${tunnel},tun_id=100,actions=output:${local}`,
        'table=0,priority=0,actions=drop',
      ]) {
        await h.ovs.ofctl('add-flow', h.ovs.mgmt('br-int'), flow);
      }
    }
    labPids = lab.pids;
    const tAll = Date.now() - t0;
    console.log(`      lab run ${lab.runId}: Lab.start ${tLab} ms (${lab.timings.map((s) => `${s.step} ${s.ms}`).join(', ')}); ` +
      `with br-int, 2 workloads, tunnels and flows ${tAll} ms`);
  });

  after(async () => {
    await lab?.stop();
  });

  it('has the host conventions plexusd expects (SPEC §2)', async () => {
    const h1 = lab.host('h1');
    const ids = (await h1.ovs.vsctl('get', 'Open_vSwitch', '.', 'external_ids')).stdout;
    assert.match(ids, /system-id="?h1"?/);
    assert.match(ids, new RegExp(`plexus-encap-ip="${h1.underlayIp.replace(/\./g, '\\.')}"`));
    assert.match(ids, /plexus-bridge-datapath-type=netdev/);
    const ifIds = (await h1.ovs.vsctl('get', 'Interface', a.port, 'external_ids')).stdout;
    for (const re of [/iface-id=ep-a/, new RegExp(`attached-mac="${a.mac}"`), /iface-status=active/, /container_id=ctr-a/, /container_iface=eth0/]) {
      assert.match(ifIds, re);
    }
    assert.equal(lab.controllerAddress, `169.254.${lab.runId}.1`);
  });

  it('reaches the root namespace over the management path (joinController)', async () => {
    // Stands in for plexusd's OVSDB manager port: each host's ovsdb-server must connect to it.
    const peers: string[] = [];
    const server = createServer((s) => {
      peers.push(s.remoteAddress ?? '');
      s.destroy();
    });
    await new Promise<void>((r) => server.listen(0, lab.controllerAddress, r));
    try {
      const port = (server.address() as AddressInfo).port;
      await Promise.all(lab.hosts.map((h) => lab.joinController(h, port)));
      const t0 = Date.now();
      while (lab.hosts.some((h) => !peers.includes(h.mgmtIp)) && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual([...new Set(peers)].sort(), lab.hosts.map((h) => h.mgmtIp).sort());
      await Promise.all(lab.hosts.map((h) => h.ovs.vsctl('del-manager')));
    } finally {
      server.close();
    }
  });

  it('pings across hosts through the VXLAN overlay', async () => {
    const t0 = Date.now();
    const ab = await lab.ping(a, '10.250.0.2', { count: 3, timeoutMs: 5000 });
    const firstMs = Date.now() - t0;
    const ba = await lab.ping(b, '10.250.0.1', { count: 3, timeoutMs: 5000 });
    console.log(`      ping a->b ${ab.received}/${ab.sent} avg ${ab.rttMs} ms (3 pings in ${firstMs} ms); b->a ${ba.received}/${ba.sent} avg ${ba.rttMs} ms`);
    assert.equal(ab.ok, true, JSON.stringify(ab));
    assert.equal(ba.ok, true, JSON.stringify(ba));
    assert.equal(ab.received, 3, 'no packet lost: the tunnel neighbour cache was seeded');
  });

  it('reports an unreachable address as not ok', async () => {
    const r = await lab.ping(a, '10.250.0.77', { count: 1, timeoutMs: 1000 });
    assert.equal(r.ok, false);
    assert.equal(r.received, 0);
  });

  it('carries a TCP transfer intact across hosts', async () => {
    const r = await lab.tcpTransfer(a, b, 4 * 1024 * 1024);
    console.log(`      TCP 4 MiB a->b in ${r.elapsedMs} ms (${r.mbitPerS.toFixed(0)} Mbit/s)`);
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(r.bytes, 4 * 1024 * 1024);
    const back = await lab.tcpTransfer(b, a, 100_000);
    assert.equal(back.ok, true, JSON.stringify(back));
  });

  it('tells a delivered spoofed packet from a dropped one', async () => {
    const h1 = lab.host('h1');
    const { local } = ports.get('h1') ?? assert.fail('no ports');
    const control = await lab.sendSpoofed(a, {}, '10.250.0.2');
    assert.equal(control.arrived, true, 'unforged probe arrives');
    assert.equal(control.seenSrcIp, '10.250.0.1');

    const forgedIp = await lab.sendSpoofed(a, { srcIp: '10.250.0.99' }, '10.250.0.2');
    assert.deepEqual([forgedIp.arrived, forgedIp.seenSrcIp], [true, '10.250.0.99'], 'no anti-spoofing flow yet: it arrives');
    const forgedMac = await lab.sendSpoofed(a, { srcMac: '02:de:ad:be:ef:01' }, '10.250.0.2');
    assert.equal(forgedMac.arrived, true);

    await h1.ovs.ofctl('add-flow', h1.ovs.mgmt('br-int'), `table=0,priority=50,ip,in_port=${local},nw_src=10.250.0.99,actions=drop`);
    await h1.ovs.ofctl('add-flow', h1.ovs.mgmt('br-int'), `table=0,priority=50,in_port=${local},dl_src=02:de:ad:be:ef:01,actions=drop`);
    const t0 = Date.now();
    const dropped = await lab.sendSpoofed(a, { srcIp: '10.250.0.99' }, '10.250.0.2', { timeoutMs: 1000 });
    const droppedMac = await lab.sendSpoofed(a, { srcMac: '02:de:ad:be:ef:01' }, '10.250.0.2', { timeoutMs: 1000 });
    console.log(`      two spoof probes that must be dropped took ${Date.now() - t0} ms`);
    assert.equal(dropped.arrived, false, 'forged IP dropped by the flow');
    assert.equal(droppedMac.arrived, false, 'forged MAC dropped by the flow');
    const stillFine = await lab.sendSpoofed(a, {}, '10.250.0.2');
    assert.equal(stillFine.arrived, true, 'the real source still gets through');
    // The probe put eth0 back as it was.
    assert.equal((await lab.ping(a, '10.250.0.2', { count: 1 })).ok, true);
  });

  it('gets a DHCP lease across the overlay, and says so clearly when none comes', async () => {
    // busybox udhcpd in b's namespace stands in for Plexus' DHCP answers.
    const dir = mkdtempSync(join(tmpdir(), 'plexus-lab-udhcpd-'));
    const conf = join(dir, 'udhcpd.conf');
    writeFileSync(conf, [
      'start 10.250.0.50', 'end 10.250.0.60', 'interface eth0', 'max_leases 11',
      `lease_file ${join(dir, 'leases')}`, `pidfile ${join(dir, 'pid')}`,
      'option subnet 255.255.255.0', 'option router 10.250.0.2', 'option dns 10.250.0.2', 'option mtu 1450', '',
    ].join('\n'));
    const server = NsProcess.spawn(b.netns, 'busybox', ['udhcpd', '-f', '-a', '50', conf]);
    try {
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(server.hasExited, false, server.stderr);
      const lease = await lab.dhcp(a);
      console.log(`      DHCP lease ${lease.ip}/${lease.prefixLength} via ${lease.router} mtu ${lease.mtu} in ${lease.elapsedMs} ms`);
      assert.match(lease.ip, /^10\.250\.0\.(5\d|60)$/);
      assert.deepEqual([lease.mask, lease.prefixLength, lease.router, lease.mtu, lease.dns], ['255.255.255.0', 24, '10.250.0.2', 1450, ['10.250.0.2']]);
      assert.equal(a.ip, lease.ip);
      assert.equal((await lab.ping(a, '10.250.0.2', { count: 1 })).ok, true, 'reachable from the leased address');
    } finally {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
    const t0 = Date.now();
    await assert.rejects(lab.dhcp(a, { tries: 2, intervalS: 1 }), (err: unknown) => {
      assert.ok(err instanceof NetnsError);
      assert.match(err.message, /no DHCP lease for ctr-a \(iface-id ep-a/);
      return true;
    });
    console.log(`      DHCP with no server failed in ${Date.now() - t0} ms`);
  });

  it('stop() leaves no namespace, interface or process behind', async () => {
    assert.ok(labPids.length >= 4, `OVS daemons tracked: ${labPids.join(',')}`);
    assert.ok(labPids.every(isAlive));
    const prefix = lab.prefix;
    const ownNetns = listNetns().filter((n) => lab.isOwnName(n));
    const ownLinks = listLinks().filter((l) => lab.isOwnName(l));
    assert.deepEqual([...ownNetns].sort(), [...lab.namespaces].sort(), 'underlay + 2 hosts + 2 workloads');
    assert.equal(ownNetns.length, 5);
    assert.deepEqual([...ownLinks].sort(), [...lab.rootLinks].sort(), 'management bridge + one veth per host');
    assert.equal(ownLinks.length, 3);
    const t0 = Date.now();
    await lab.stop();
    console.log(`      Lab.stop ${Date.now() - t0} ms`);
    assert.deepEqual(listNetns().filter((n) => lab.isOwnName(n) || lab.namespaces.includes(n)), []);
    assert.deepEqual(listLinks().filter((l) => lab.isOwnName(l) || lab.rootLinks.includes(l)), []);
    assert.deepEqual(labPids.filter(isAlive), []);
    assert.deepEqual(pidsMentioning(`plexus-${prefix}h`), []);
    // Nothing that existed before the lab was touched.
    assert.deepEqual([...netnsBefore].filter((n) => !listNetns().includes(n)), []);
    assert.deepEqual([...rootLinksBefore].filter((l) => !listLinks().includes(l)), []);
    await lab.stop(); // idempotent
  });

  it('cleans up everything when start() fails halfway', async () => {
    let seen: string[] = [];
    let pids: number[] = [];
    let links: string[] = [];
    await assert.rejects(
      Lab.start({
        hosts: 3,
        onStep: (step, _ms, half) => {
          if (step !== 'br-phy with the underlay address') return;
          seen = listNetns().filter((n) => half.isOwnName(n));
          links = listLinks().filter((l) => half.isOwnName(l));
          pids = [...new Set([...half.pids, ...pidsMentioning(`plexus-${half.prefix}h`)])];
          throw new Error('injected failure');
        },
      }),
      /injected failure/,
    );
    assert.equal(seen.length, 4, `underlay + 3 host namespaces existed at the failure: ${seen.join(',')}`);
    assert.equal(links.length, 4, `management bridge + 3 veths existed at the failure: ${links.join(',')}`);
    assert.equal(pids.length, 6, `OVS daemons ran at the failure: ${pids.join(',')}`);
    const remaining = new Set(listNetns());
    assert.deepEqual(seen.filter((n) => remaining.has(n)), []);
    const rootLinks = new Set(listLinks());
    assert.deepEqual(links.filter((l) => rootLinks.has(l)), []);
    assert.deepEqual(pids.filter(isAlive), []);
  });
});
